#pragma once
// The built-in site, served when no disk is attached: one page saying what
// is running, with live per-core counters (the same figures as the console's
// `s` key), refreshed by the browser every 2 s.

#include <cstddef>

#include "images/webserver/server.h"

namespace uk::web {

// Writes the page's HTML into `out`; returns its length (truncated to fit).
size_t RenderStatusPage(Server& server, char* out, size_t size);

}  // namespace uk::web
