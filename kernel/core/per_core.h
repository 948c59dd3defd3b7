#pragma once
// The per-core runtime: every core's scheduler loop, the kernel's Platform
// (TSC clock, LAPIC one-shot timer, `sti; hlt`, wake IPIs), the interrupt
// handlers that end a halt, and shutdown.

#include <cstddef>
#include <cstdint>

namespace uk {

// Bootstrap core, before the other cores are released: creates and
// registers a scheduler for each of `count` cores.
void PrepareCores(uint32_t count);

// Every core: starts its sched service, waits until all cores have, then
// runs the scheduler loop forever. Core 0 first spawns the AppMain thread.
[[noreturn]] void RunCore(uint32_t index);

// Prints every core's counters on the console (from any thread).
void PrintCounters();
// One core's summary line ("cpu1: busy 0.4% poll ... switches 21"), no
// newline, into `out`; returns its length. From any thread.
size_t FormatCoreCounters(uint32_t core, char* out, size_t size);

// Prints the counters and powers off with `status`.
[[noreturn]] void Shutdown(int status);

}  // namespace uk
