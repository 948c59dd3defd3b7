#pragma once
// What the kernel asks of the layer above it, the message runtime
// (services/runtime/kernel_hooks.cc defines these; every image links it).
// This is the kernel's whole knowledge of services: it starts the runtime
// on each core and asks it for counter lines, the way it calls AppMain
// (app.h) without knowing the application.

#include <cstddef>
#include <cstdint>

namespace uk {

// Each core, on its own stack, before its scheduler loop: starts the core's
// part of the runtime (its sched service). Other cores may send to it as
// soon as this returns.
void StartRuntimeOnThisCore();

// The longest counter line, with its terminating NUL.
inline constexpr size_t kCounterLineSize = 512;

// Receives one line (no newline).
using LineSink = void (*)(void* context, const char* line, size_t length);

// The runtime's lines about `core` for the console's `s` key, printed under
// the core's own line ("cpu1   net: handled 10; from cpu0 5 (high-water 1)").
void ForEachRuntimeCoreLine(uint32_t core, LineSink sink, void* context);

// A graceful shutdown (shutdown.h), on core 0's shutdown thread once the
// application's handler is done: asks every service to stop (finish, flush,
// refuse changes; svc::StopServices), each waited for until `deadline_ns`
// (the scheduler clock), and logs a line per service. Blocks.
void StopRuntimeServices(uint64_t deadline_ns);

// The runtime's lines for the status page and `s` ("net: ...", "fs: ...").
// From any core: may read only what is safe from there.
void ForEachRuntimeStatsLine(LineSink sink, void* context);

}  // namespace uk
