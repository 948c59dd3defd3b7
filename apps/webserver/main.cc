// //images:webserver: a static HTTP/1.1 server. The network service, the
// filesystem service and the HTTP application run on the cores that
// --net_core, --fs_core and --http_core name (the image's BUILD puts all
// three on core 1 of 2: docs/placement.md says why), and talk only through
// rings, whether they share a core or not. Core 0 starts them and then only
// idles.
//
//   bazel run //images:webserver                      # built-in status site
//   bazel run //images:webserver -- --site=DIR        # serve a folder
//   bazel run //images:webserver -- --disk=site.img   # serve an ext2 image
//
// Prints "webserver: listening on http://<guest ip>/" when it is up; the
// runner prints the host URL (127.0.0.1:8080 by default).

#include <cstdint>

#include "apps/webserver/server.h"
#include "apps/webserver/status_page.h"
#include "kernel/drivers/rtc.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "kernel/top/per_core.h"
#include "kernel/top/shutdown.h"
#include "services/fs/start.h"
#include "services/net/net_client.h"
#include "services/net/start.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

// A core number from the command line, kept within the cores there are.
uint32_t CoreFlag(std::string_view key, uint32_t fallback) {
  const uint32_t cores = sched::Scheduler::CoreCount();
  bool malformed = false;
  uint64_t core = KernelCommandLine().GetNumber(key, fallback, &malformed);
  if (malformed || core >= cores) {
    const uint32_t chosen = fallback < cores ? fallback : cores - 1;
    Log(LogLevel::kWarn, "webserver: --%.*s must be a core below %u; using %u",
        static_cast<int>(key.size()), key.data(), cores, chosen);
    core = chosen;
  }
  return static_cast<uint32_t>(core);
}

// A positive number from the command line (a limit), or `fallback`.
uint64_t LimitFlag(std::string_view key, uint64_t fallback) {
  bool malformed = false;
  const uint64_t value = KernelCommandLine().GetNumber(key, fallback, &malformed);
  if (malformed || value == 0) {
    Log(LogLevel::kWarn, "webserver: --%.*s must be a positive number; using %lu",
        static_cast<int>(key.size()), key.data(), fallback);
    return fallback;
  }
  return value;
}

}  // namespace

int AppMain() {
  const uint32_t cores = sched::Scheduler::CoreCount();
  const uint32_t last = cores - 1;
  web::ServerConfig config;
  // Without flags: every service on core 1 (core 0 with one vCPU).
  const uint32_t one = last < 1 ? last : 1;
  config.net_core = CoreFlag("net_core", one);
  config.fs_core = CoreFlag("fs_core", one);
  config.http_core = CoreFlag("http_core", one);
  // The limits of docs/webserver.md; tests lower them.
  config.max_connections =
      static_cast<uint32_t>(LimitFlag("max_connections", config.max_connections));
  config.max_connections_per_client = static_cast<uint32_t>(
      LimitFlag("max_connections_per_client", config.max_connections_per_client));
  config.request_timeout_ms = LimitFlag("request_timeout_ms", config.request_timeout_ms);
  config.idle_timeout_ms = LimitFlag("idle_timeout_ms", config.idle_timeout_ms);
  config.send_timeout_ms = LimitFlag("send_timeout_ms", config.send_timeout_ms);
  config.linger_ms = LimitFlag("linger_ms", config.linger_ms);

  const net::NetStartResult net = net::StartNetService(config.net_core);
  if (!net.has_device) {
    Print("webserver: no network device (the runner adds one: bazel run //images:webserver)\n");
    return 2;
  }
  const fs::FsStartResult fs = fs::StartFsService(config.fs_core);
  if (fs.has_disk && fs.mount != fs::Error::kOk) {
    Print("webserver: the disk does not mount (%s); serving the built-in site instead\n",
          fs::ErrorName(fs.mount));
  }
  config.unix_time_at_boot = UnixTimeAtBoot();
  config.net = net.address;
  config.has_site = fs.has_disk && fs.mount == fs::Error::kOk;
  config.fs = fs.address;

  auto* server = new web::Server(config);
  if (!server->Listen()) return 1;
  RegisterCounterLine(&web::FormatServerStats, server);  // the console's `s` key
  // The power button or `q`: drain on the HTTP core, where the server lives.
  static uint32_t http_core = config.http_core;
  SetShutdownHandler(
      [](void* arg) {
        svc::RunOn(http_core, [arg] { static_cast<web::Server*>(arg)->Drain(); }, "http-drain");
      },
      server);
  // Serves until the VM is stopped.
  svc::RunOn(config.http_core, [&] { web::Server::Run(server); }, "http");
  return 0;
}

}  // namespace uk
