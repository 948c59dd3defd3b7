#include "services/runtime/service.h"

#include <atomic>

#include "kernel/lib/check.h"
#include "services/runtime/call.h"

namespace uk::svc {
namespace {

using sched::Scheduler;

// Written by Start (release) on the service's core before any producer
// learns the address; read with acquire by producers.
std::atomic<Service*> services[sched::kMaxCores][kMaxServicesPerCore];
// Relaxed: a statistic for tests and reports.
std::atomic<uint32_t> service_count[sched::kMaxCores];

// The rings a service's turn staged messages into, per core (touched by
// that core only). `thread` is the service thread whose turn it is: sends
// from any other thread of the core publish at once.
constexpr uint32_t kMaxStagedRings = 16;
struct alignas(ipc::kFalseSharingRange) Staging {
  const sched::Thread* thread = nullptr;
  uint32_t count = 0;
  struct Entry {
    Inbox::Ring* ring;
    uint32_t core;
  } entries[kMaxStagedRings];
};
Staging staging[sched::kMaxCores];

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
  Staging& staged = staging[sched.core()];
  for (;;) {
    sched.WaitFor(service);
    staged.thread = sched.current();
    const uint32_t n = service.inbox_.Drain(
        [&service](uint32_t producer, const ipc::Message& m) {
          ++service.handled_;  // before Handle: a reply never overtakes the count
          if (m.header.kind == StopBody::kKind) {
            const StoppedBody stopped{service.Stop()};
            if (m.header.flags & ipc::kFlagWantsReply) Reply(m, ipc::MakeMessage(stopped, 0, 0));
            return;
          }
          service.Handle(producer, m);
        },
        kDrainBudget);
    service.Poll();
    staged.thread = nullptr;
    PublishStaged();
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

SendStatus TryPushInto(Inbox& inbox, uint32_t core, const ipc::Message& message) {
  Scheduler& here = Scheduler::Current();
  sched::CoreCounters& counters = here.counters();
  Inbox::Ring& ring = inbox.Inbound(here.core());
  Staging& staged = staging[here.core()];
  if (staged.thread == nullptr || staged.thread != here.current()) {
    if (!ring.TryPush(message)) {
      ++counters.ring_full;
      return SendStatus::kWouldBlock;
    }
    ++counters.messages_out;
    ++counters.publishes;
    here.WakeIfHalted(Scheduler::ForCore(core));
    return SendStatus::kOk;
  }
  if (!ring.TryStage(message)) {
    ++counters.ring_full;
    return SendStatus::kWouldBlock;
  }
  ++counters.messages_out;
  for (uint32_t i = 0; i < staged.count; ++i) {
    if (staged.entries[i].ring == &ring) return SendStatus::kOk;
  }
  if (staged.count < kMaxStagedRings) {
    staged.entries[staged.count++] = {&ring, core};
  } else {  // more rings than the table holds this turn: this one goes now
    ring.Publish();
    ++counters.publishes;
    here.WakeIfHalted(Scheduler::ForCore(core));
  }
  return SendStatus::kOk;
}

void PublishStaged() {
  Scheduler& here = Scheduler::Current();
  Staging& staged = staging[here.core()];
  for (uint32_t i = 0; i < staged.count; ++i) {
    staged.entries[i].ring->Publish();
    ++here.counters().publishes;
  }
  // After every publish: each consumer core is woken (if halted) once.
  for (uint32_t i = 0; i < staged.count; ++i) {
    bool seen = false;
    for (uint32_t j = 0; j < i && !seen; ++j) seen = staged.entries[j].core == staged.entries[i].core;
    if (!seen) here.WakeIfHalted(Scheduler::ForCore(staged.entries[i].core));
  }
  staged.count = 0;
}

SendStatus TrySend(Address to, const ipc::Message& message) {
  Service* target = Lookup(to);
  if (target == nullptr) return SendStatus::kNoService;
  return TryPushInto(target->inbox(), to.core, message);
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
