#include "services/runtime/service.h"

#include <atomic>

#include "kernel/lib/check.h"

namespace uk::svc {
namespace {

using sched::Scheduler;

// Written by Start (release) on the service's core before any producer
// learns the address; read with acquire by producers.
std::atomic<Service*> services[sched::kMaxCores][kMaxServicesPerCore];
// Relaxed: a statistic for tests and reports.
std::atomic<uint32_t> service_count[sched::kMaxCores];

constexpr uint64_t kFirstBackoffNs = 1'000;
constexpr uint64_t kMaxBackoffNs = 1'000'000;

}  // namespace

Service::Service(const char* name, uint16_t id)
    : name_(name), address_{0, id}, inbox_(Scheduler::CoreCount()) {}

void Service::Start() {
  Scheduler& sched = Scheduler::Current();
  address_.core = static_cast<uint16_t>(sched.core());
  CHECK(address_.service < kMaxServicesPerCore);
  if (services[address_.core][address_.service].exchange(this, std::memory_order_acq_rel) ==
      nullptr) {
    service_count[address_.core].fetch_add(1, std::memory_order_relaxed);
  }
  sched.Spawn(&Service::Main, this, name_, sched::Joinable::kNo);
}

void Service::Main(void* self) {
  auto& service = *static_cast<Service*>(self);
  Scheduler& sched = Scheduler::Current();
  for (;;) {
    sched.WaitFor(service);
    const uint32_t n = service.inbox_.Drain(
        [&service](uint32_t producer, const ipc::Message& m) {
          ++service.handled_;  // before Handle: a reply never overtakes the count
          service.Handle(producer, m);
        },
        kDrainBudget);
    service.Poll();
    if (n == kDrainBudget && !service.inbox_.AllEmpty()) {
      // More was waiting than one turn may take: a load signal for the
      // core's idle policy, and a turn for the other threads.
      sched.NoteCongestion();
      sched.Yield();
    }
  }
}

Service* Lookup(Address address) {
  if (address.core >= sched::kMaxCores || address.service >= kMaxServicesPerCore) {
    return nullptr;
  }
  return services[address.core][address.service].load(std::memory_order_acquire);
}

uint32_t ServiceCount(uint32_t core) {
  return core < sched::kMaxCores ? service_count[core].load(std::memory_order_relaxed) : 0;
}

const char* SendStatusName(SendStatus status) {
  switch (status) {
    case SendStatus::kOk: return "ok";
    case SendStatus::kWouldBlock: return "would block";
    case SendStatus::kNoService: return "no such service";
    case SendStatus::kTimedOut: return "timed out";
    case SendStatus::kRejected: return "rejected";
  }
  return "?";
}

SendStatus TrySend(Address to, const ipc::Message& message) {
  Service* target = Lookup(to);
  if (target == nullptr) return SendStatus::kNoService;
  Scheduler& here = Scheduler::Current();
  sched::CoreCounters& counters = here.counters();
  if (!target->inbox().Inbound(here.core()).TryPush(message)) {
    ++counters.ring_full;
    return SendStatus::kWouldBlock;
  }
  ++counters.messages_out;
  here.WakeIfHalted(Scheduler::ForCore(to.core));
  return SendStatus::kOk;
}

SendStatus Send(Address to, const ipc::Message& message) {
  uint64_t backoff = kFirstBackoffNs;
  for (;;) {
    SendStatus status = TrySend(to, message);
    if (status != SendStatus::kWouldBlock) return status;
    // The consumer is behind; it needs no signal from us (its ring is full,
    // so it is runnable). Sleep instead of spinning, longer each time.
    Scheduler::Current().SleepFor(backoff);
    if (backoff < kMaxBackoffNs) backoff *= 2;
  }
}

}  // namespace uk::svc
