#include "apps/webserver/status_page.h"

#include "kernel/lib/format.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/per_core.h"
#include "kernel/top/runtime_hooks.h"

namespace uk::web {

namespace {

// Hundredths of `total` per request served, since boot.
uint64_t PerRequest100(uint64_t total, uint64_t served) {
  return served == 0 ? 0 : total * 100 / served;
}

// What every core put in rings, and the stores that published them, since
// boot (boot-time messages included: a few dozen).
void RingTotals(uint64_t* messages, uint64_t* publishes) {
  *messages = *publishes = 0;
  for (uint32_t core = 0; core < sched::Scheduler::CoreCount(); ++core) {
    const sched::CoreCounters& c = sched::Scheduler::ForCore(core).counters();
    *messages += c.messages_out.Get();
    *publishes += c.publishes.Get();
  }
}

}  // namespace

size_t FormatServerStats(void* server_arg, char* out, size_t size) {
  const Server& server = *static_cast<const Server*>(server_arg);
  uint64_t messages, publishes;
  RingTotals(&messages, &publishes);
  const uint64_t per_message = PerRequest100(messages, server.served());
  const uint64_t per_publish = PerRequest100(publishes, server.served());
  return Format(out, size,
                "webserver: %u connections open, %lu served, %lu refused busy, %lu refused "
                "memory, %lu evicted, %lu refused per client | per request: %lu.%02lu ring "
                "messages, %lu.%02lu publishes | file bytes: %lu by reference, %lu copied "
                "(twice) before the NIC",
                server.open_connections(), server.served(), server.refused_busy(),
                server.refused_memory(), server.evicted_idle(), server.refused_per_client(),
                per_message / 100, per_message % 100, per_publish / 100, per_publish % 100,
                server.file_bytes_by_reference(), server.file_bytes_copied());
}

size_t RenderStatusPage(Server& server, char* out, size_t size) {
  const ServerConfig& config = server.config();
  size_t n = 0;
  const auto add = [&](const char* format, auto... args) {
    if (n < size) n += Format(out + n, size - n, format, args...);
  };
  const uint64_t uptime_ms = NowMs();
  add("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"2\"><title>uk web server</title>"
      "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
      "pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style></head><body>\n"
      "<h1>uk: a message-passing unikernel</h1>\n"
      "<p>This page comes from a C++ unikernel: no Linux, no processes. The network "
      "(virtio-net + lwIP), the filesystem and this HTTP server each run on their own "
      "core and talk only through lock-free rings; a core with nothing to do halts.</p>\n"
      "<ul><li>cores: %u (net on %u, fs on %u, http on %u)</li>"
      "<li>up %lu.%lu s, %lu requests served, %u connections open</li>"
      "<li>connections refused: %lu too many (503), %lu out of memory; idle ones cut to make "
      "room: %lu</li>"
      "<li>site: %s</li></ul>\n",
      sched::Scheduler::CoreCount(), config.net_core, config.fs_core, config.http_core,
      uptime_ms / 1000, uptime_ms / 100 % 10, server.served(), server.open_connections(),
      server.refused_busy(), server.refused_memory(), server.evicted_idle(),
      config.has_site ? "a disk" : "none attached: this built-in page (run with --site=DIR)");
  add("<h2>Per-core counters</h2>\n<pre>");
  for (uint32_t core = 0; core < sched::Scheduler::CoreCount(); ++core) {
    char line[kCounterLineSize];
    FormatCoreCounters(core, line, sizeof(line));
    add("%s\n", line);
    ForEachRuntimeCoreLine(
        core,
        [](void* add_line, const char* text, size_t length) {
          (*static_cast<decltype(add)*>(add_line))("%.*s\n", static_cast<int>(length), text);
        },
        const_cast<void*>(static_cast<const void*>(&add)));
  }
  add("</pre>\n<h2>Memory</h2>\n<pre>");
  if (n < size) n += FormatStatsLines(out + n, size - n);
  add("</pre>\n<p>memory: the kernel heap (small blocks at their size class, large ones at "
      "their pages) and the free page frames; net: lwIP's heap (send buffers) and its pool of "
      "receive buffers, its TCP connections by state and the open sockets. high/low: the "
      "extremes since boot.</p>\n<p>busy/poll/halt: where each core's time went since boot; halts: how often "
      "it stopped with <code>hlt</code>; wakeups sent/suppressed: IPIs to halted cores, and "
      "those not needed because the core was awake.</p>\n</body></html>\n");
  return n < size ? n : size;
}

}  // namespace uk::web
