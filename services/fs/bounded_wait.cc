#include "services/fs/bounded_wait.h"

namespace uk::fs {
namespace {

// The helper only sleeps and sets a flag; interrupt handlers that land on it
// (none allocate; a late NMI report formats one log line) fit easily.
constexpr size_t kHelperStackSize = 16 * 1024;

}  // namespace

BoundedWait::Outcome BoundedWait::Wait(sched::WaitSource& source) {
  if (source.Ready()) return Outcome::kReady;
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  source_ = &source;
  expired_ = false;
  deadline_ns_ = scheduler.NowNs() + timeout_ns_;
  // A helper still running sleeps until an earlier deadline (the timeout is
  // fixed and time only moves forward); when it wakes it sees this one.
  if (helper_ == nullptr) {
    helper_ = scheduler.Spawn(&Helper, this, "fs-deadline", sched::Joinable::kNo, kHelperStackSize);
  }
  scheduler.WaitFor(*this);
  // A completion that arrived together with the deadline still counts.
  const bool ready = source.Ready();
  source_ = nullptr;
  deadline_ns_ = kNoDeadline;
  expired_ = false;
  return ready ? Outcome::kReady : Outcome::kTimedOut;
}

void BoundedWait::Helper(void* arg) {
  auto& self = *static_cast<BoundedWait*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  while (self.deadline_ns_ != kNoDeadline) {
    if (scheduler.NowNs() < self.deadline_ns_) {
      scheduler.SleepUntil(self.deadline_ns_);
      continue;  // the wait may have ended, or a newer one moved the deadline
    }
    self.expired_ = true;  // the waiter's Ready(): its core's loop runs it next
    self.deadline_ns_ = kNoDeadline;
  }
  self.helper_ = nullptr;  // nobody waits: exit; the next Wait starts a helper
}

}  // namespace uk::fs
