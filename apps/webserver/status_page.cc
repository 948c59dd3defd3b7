#include "apps/webserver/status_page.h"

#include "kernel/lib/format.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/per_core.h"
#include "services/runtime/service.h"

namespace uk::web {

size_t FormatServerStats(void* server_arg, char* out, size_t size) {
  const Server& server = *static_cast<const Server*>(server_arg);
  return Format(out, size,
                "webserver: %u connections open, %lu served, %lu refused busy, %lu refused "
                "memory, %lu evicted, %lu refused per client",
                server.open_connections(), server.served(), server.refused_busy(),
                server.refused_memory(), server.evicted_idle(), server.refused_per_client());
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
    char line[400];
    FormatCoreCounters(core, line, sizeof(line));
    add("%s\n", line);
    for (uint16_t id = 0; id < svc::kMaxServicesPerCore; ++id) {
      const svc::Service* service = svc::Lookup({static_cast<uint16_t>(core), id});
      if (service != nullptr) {
        add("cpu%u   %s: handled %lu\n", core, service->name(), service->handled());
      }
    }
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
