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

// The lines after the per-core ones, each ending in a newline, into `out`;
// returns their length. First the memory line ("memory: heap ... bytes in
// use (high ...), pages ... free of ... (low ...)"), then every service's
// FormatStats line ("net: ..."), then the registered lines ("webserver:
// ..."). The console's `s` key prints them and the web server's status page
// shows them. From any thread.
size_t FormatStatsLines(char* out, size_t size);

// Adds a line to the `s` output for code that is not a service (an image's
// application): `format(arg, out, size)` writes it, no newline, and returns
// its length (0: nothing this time). It is called from any core, so it may
// read only what is safe to read from there. At most kMaxCounterLines; more
// are refused (false). Registration cannot be undone.
inline constexpr uint32_t kMaxCounterLines = 4;
using CounterLineFormatter = size_t (*)(void* arg, char* out, size_t size);
bool RegisterCounterLine(CounterLineFormatter format, void* arg);

// Prints the counters and powers off with `status`.
[[noreturn]] void Shutdown(int status);

}  // namespace uk
