#pragma once
// A Platform for host tests: a fake clock that advances only when the core
// polls (Pause) or halts, plus a schedule of events (functions run at a fake
// time, e.g. "a producer publishes into the ring"). Halting jumps the clock
// to the next event or the armed deadline, whichever is first. A halt with
// neither would sleep forever; the fake records that as an error instead.

#include <cstdint>
#include <functional>
#include <map>

#include "kernel/sched/host_core.h"
#include "kernel/sched/scheduler.h"

namespace uk::sched {

class FakePlatform : public Platform {
 public:
  static constexpr uint64_t kPauseNs = 100;

  uint64_t NowNs() override { return now_ns_; }
  uint64_t Cycles() override { return now_ns_; }
  void Pause() override { Advance(kPauseNs); }
  void ArmDeadline(uint64_t deadline_ns) override;
  bool SleepUntilWoken(ipc::WakeWord& word) override;
  void Wake(ipc::WakeWord& word) override { ++wakes_; (void)word; }
  void* AllocateStack(size_t size) override {
    if (fail_stacks_) return nullptr;
    ++stacks_in_use_;
    return MapGuardedStack(size);
  }
  void FreeStack(void* stack, size_t size) override {
    --stacks_in_use_;
    UnmapGuardedStack(stack, size);
  }

  // Runs `event` when the clock reaches `at_ns`.
  void At(uint64_t at_ns, std::function<void()> event);
  void Advance(uint64_t ns);

  uint64_t halts() const { return halts_; }
  uint64_t wakes() const { return wakes_; }
  uint64_t armed_deadline() const { return armed_deadline_; }
  uint64_t halts_forever() const { return halts_forever_; }
  int64_t stacks_in_use() const { return stacks_in_use_; }
  // While set, AllocateStack answers nullptr, as the kernel's does when it
  // is out of memory.
  void FailStacks(bool fail) { fail_stacks_ = fail; }

 private:
  void RunDueEvents();

  uint64_t now_ns_ = 0;
  uint64_t armed_deadline_ = SleepQueue::kNever;
  uint64_t halts_ = 0;
  uint64_t wakes_ = 0;
  uint64_t halts_forever_ = 0;
  int64_t stacks_in_use_ = 0;
  bool fail_stacks_ = false;
  std::multimap<uint64_t, std::function<void()>> events_;
};

}  // namespace uk::sched
