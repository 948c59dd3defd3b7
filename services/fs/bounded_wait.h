#pragma once
// Waiting for a device with a time limit.
//
// The fs thread waits for its disk like any thread waits: parked on a
// WaitSource ("the used ring moved") until an interrupt makes it ready. A
// device that never completes would park it, and with it every client of
// the fs service, for good. BoundedWait adds a deadline to that wait:
//
//   fs thread                              "fs-deadline" thread (same core)
//   Wait(device): deadline_ = now + T  ─┐
//     spawns the helper if none runs    └▶ SleepUntil(deadline_)   (timer armed)
//     WaitFor(*this)  ...parked...          ...
//       ◀── device.Ready() (interrupt)      wakes: no wait pending, or a
//       or  expired_ ◀──────────────────── later one: sleeps again / exits
//
// The scheduler's WaitFor has no deadline of its own, and only sleeping
// threads arm the core's timer, so the deadline is a sleeping helper thread
// (as the net service's timer thread is). It lives while waits keep
// coming: it wakes at most once per timeout T, re-sleeps until the newest
// deadline, and exits once nobody waits, so an idle core has no timer armed.
// Both threads are on one core and cooperative: the fields need no atomics.
//
// The deadline is per Wait call: a device that keeps completing requests,
// however slowly, keeps its caller waiting; one that completes nothing for T
// times out.
//
// Portable (kernel and host tests). Not tied to disks: it lives here because
// the fs thread is its only user so far.

#include <cstdint>

#include "kernel/sched/scheduler.h"

namespace uk::fs {

class BoundedWait final : public sched::WaitSource {
 public:
  enum class Outcome : uint8_t { kReady, kTimedOut };

  explicit BoundedWait(uint64_t timeout_ns) : timeout_ns_(timeout_ns) {}
  BoundedWait(const BoundedWait&) = delete;
  BoundedWait& operator=(const BoundedWait&) = delete;

  // Parks the calling thread until `source.Ready()` (kReady) or until
  // timeout_ns() pass with it not ready (kTimedOut). One waiter at a time;
  // it and the helper thread run on the caller's core.
  [[nodiscard]] Outcome Wait(sched::WaitSource& source);

  uint64_t timeout_ns() const { return timeout_ns_; }
  bool helper_running() const { return helper_ != nullptr; }

  // WaitSource (for the scheduler): the waited-for source is ready, or the
  // deadline passed.
  bool Ready() override { return expired_ || (source_ != nullptr && source_->Ready()); }

 private:
  static constexpr uint64_t kNoDeadline = sched::SleepQueue::kNever;

  static void Helper(void* self);

  const uint64_t timeout_ns_;
  sched::WaitSource* source_ = nullptr;  // while a Wait is parked
  uint64_t deadline_ns_ = kNoDeadline;   // of that Wait
  bool expired_ = false;                 // set by the helper at the deadline
  sched::Thread* helper_ = nullptr;      // while the helper thread runs
};

}  // namespace uk::fs
