// The message runtime's side of kernel/top/runtime_hooks.h.

#include "kernel/lib/format.h"
#include "kernel/lib/log.h"
#include "kernel/top/runtime_hooks.h"
#include "services/runtime/call.h"
#include "services/runtime/sched_service.h"
#include "services/runtime/service.h"

namespace uk {

void StartRuntimeOnThisCore() { svc::StartSchedService(); }

void StopRuntimeServices(uint64_t deadline_ns) {
  const uint32_t late = svc::StopServices(
      deadline_ns,
      [](void*, const char* name, int32_t error) {
        if (error == 0) {
          Log(LogLevel::kInfo, "shutdown: %s stopped", name);
        } else {
          Log(LogLevel::kWarn, "shutdown: %s stopped with error %d", name, error);
        }
      },
      nullptr);
  if (late > 0) Log(LogLevel::kWarn, "shutdown: %u services did not stop in time", late);
}

namespace {

// "cpu1   net: handled 10; from cpu0 5 (high-water 1)": what a consumer on
// `core` drained, by producer core.
void EmitConsumerLine(uint32_t core, const char* name, uint64_t handled, svc::Inbox& inbox,
                      LineSink sink, void* context) {
  char line[kCounterLineSize];
  size_t n = Format(line, sizeof(line), "cpu%u   %s: handled %lu;", core, name, handled);
  for (uint32_t p = 0; p < inbox.producers() && n < sizeof(line); ++p) {
    const ipc::RingStats& ring = inbox.stats(p);
    if (ring.messages.Get() == 0) continue;
    n += Format(line + n, sizeof(line) - n, " from cpu%u %lu (high-water %lu)", p,
                ring.messages.Get(), ring.high_water.Get());
  }
  sink(context, line, n < sizeof(line) ? n : sizeof(line) - 1);
}

}  // namespace

void ForEachRuntimeCoreLine(uint32_t core, LineSink sink, void* context) {
  for (uint16_t id = 0; id < svc::kMaxServicesPerCore; ++id) {
    svc::Service* service = svc::Lookup({static_cast<uint16_t>(core), id});
    if (service == nullptr) continue;
    EmitConsumerLine(core, service->name(), service->handled(), service->inbox(), sink, context);
  }
  // The reply rings the core's loop drains (call.h).
  if (svc::Inbox* replies = svc::ReplyRings(core)) {
    EmitConsumerLine(core, "replies", svc::RepliesDrained(core), *replies, sink, context);
  }
}

void ForEachRuntimeStatsLine(LineSink sink, void* context) {
  char line[kCounterLineSize];
  for (uint32_t core = 0; core < sched::Scheduler::CoreCount(); ++core) {
    for (uint16_t id = 0; id < svc::kMaxServicesPerCore; ++id) {
      const svc::Service* service = svc::Lookup({static_cast<uint16_t>(core), id});
      if (service == nullptr) continue;
      const size_t n = service->FormatStats(line, sizeof(line));
      if (n > 0) sink(context, line, n);
    }
  }
}

}  // namespace uk
