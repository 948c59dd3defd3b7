#pragma once
// The built-in site, served when no disk is attached: one page saying what
// is running, with live per-core counters and memory use (the same figures
// as the console's `s` key), refreshed by the browser every 2 s.

#include <cstddef>

#include "apps/webserver/server.h"

namespace uk::web {

// Writes the page's HTML into `out`; returns its length (truncated to fit).
size_t RenderStatusPage(Server& server, char* out, size_t size);

// The server's line of the console's `s` output ("webserver: 2 connections
// open, 100 served, 0 refused busy, 0 refused memory, 0 evicted"), no
// newline; a CounterLineFormatter (kernel/top/per_core.h) with `server` as
// its argument.
size_t FormatServerStats(void* server, char* out, size_t size);

}  // namespace uk::web
