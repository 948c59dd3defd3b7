// The idle sequence against interrupts, with a platform that behaves like
// the kernel's (kernel/top/per_core.cc): ArmDeadline writes the timer only
// when the deadline changes, a timer interrupt forgets the armed deadline
// (TimerFired) and calls InterruptWake, and the timer may fire a little
// before the clock says the deadline passed (the count-down timer and the
// TSC run from different clocks under QEMU; calibration rounds down).
//
// The case that used to lose a wakeup: the timer fires between ArmDeadline's
// early return and the halt announcement. Its InterruptWake was overwritten
// by the announcement, the re-check did not count the deadline (not yet due
// by the clock), and the core halted with no timer armed.

#include <cstdint>
#include <functional>
#include <vector>

#include "gtest/gtest.h"
#include "kernel/sched/host_core.h"
#include "kernel/sched/scheduler.h"

namespace uk::sched {
namespace {

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;

class KernelLikePlatform : public Platform {
 public:
  // How early the timer fires against the clock.
  static constexpr uint64_t kTimerSkewNs = 2 * kUs;
  // A halt with nothing armed ends only by an unrelated interrupt this much
  // later (what a real core would wait for, if anything ever came).
  static constexpr uint64_t kUnrelatedInterruptNs = 10'000 * kMs;

  void Attach(Scheduler* scheduler) { scheduler_ = scheduler; }

  uint64_t NowNs() override { return now_ns_; }
  uint64_t Cycles() override { return now_ns_; }
  void Pause() override { now_ns_ += 100; }

  void ArmDeadline(uint64_t deadline_ns) override {
    if (deadline_ns == armed_deadline_) {
      // Already counting down. If the test asked for it, the timer fires
      // right here: after this return, before the announcement.
      if (fire_at_next_early_return_ && armed_deadline_ != SleepQueue::kNever) {
        fire_at_next_early_return_ = false;
        now_ns_ = TimerFiresAt();
        TimerInterrupt();
      }
      return;
    }
    armed_deadline_ = deadline_ns;
    ++timer_writes_;
  }

  bool SleepUntilWoken(ipc::WakeWord& word) override {
    if (word.state.load() != ipc::kHaltAnnounced) return false;  // an interrupt came first
    ++halts_;
    const uint64_t event_at = events_.empty() ? SleepQueue::kNever : events_.front().first;
    if (armed_deadline_ == SleepQueue::kNever && event_at == SleepQueue::kNever) {
      ++halts_with_nothing_armed_;
      now_ns_ += kUnrelatedInterruptNs;
      scheduler_->InterruptWake();
      return true;
    }
    const uint64_t timer_at = TimerFiresAt();
    if (event_at <= timer_at) {
      now_ns_ = event_at;
      auto event = events_.front().second;
      events_.erase(events_.begin());
      event();
    } else {
      now_ns_ = timer_at;
      TimerInterrupt();
    }
    return true;
  }

  void Wake(ipc::WakeWord&) override {}
  void* AllocateStack(size_t size) override { return MapGuardedStack(size); }
  void FreeStack(void* stack, size_t size) override { UnmapGuardedStack(stack, size); }

  // A device interrupt at `at_ns` (sorted insert; the tests add few).
  void At(uint64_t at_ns, std::function<void()> event) {
    auto it = events_.begin();
    while (it != events_.end() && it->first <= at_ns) ++it;
    events_.insert(it, {at_ns, std::move(event)});
  }

  // A little before the deadline, unless that has passed already (a re-arm
  // for the rest, rounded up, fires after it).
  uint64_t TimerFiresAt() const {
    if (armed_deadline_ == SleepQueue::kNever) return SleepQueue::kNever;
    const uint64_t early = armed_deadline_ - kTimerSkewNs;
    return early > now_ns_ ? early : armed_deadline_;
  }

  void TimerInterrupt() {
    armed_deadline_ = SleepQueue::kNever;  // TimerFired
    ++timer_interrupts_;
    scheduler_->InterruptWake();
  }

  void FireAtNextEarlyReturn() { fire_at_next_early_return_ = true; }

  uint64_t halts_with_nothing_armed() const { return halts_with_nothing_armed_; }
  uint64_t timer_writes() const { return timer_writes_; }
  uint64_t timer_interrupts() const { return timer_interrupts_; }

 private:
  Scheduler* scheduler_ = nullptr;
  uint64_t now_ns_ = 0;
  uint64_t armed_deadline_ = SleepQueue::kNever;
  bool fire_at_next_early_return_ = false;
  uint64_t halts_ = 0;
  uint64_t halts_with_nothing_armed_ = 0;
  uint64_t timer_writes_ = 0;
  uint64_t timer_interrupts_ = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> events_;
};

struct FlagSource : WaitSource {
  bool ready = false;
  bool Ready() override { return ready; }
};

class IdleInterruptTest : public ::testing::Test {
 protected:
  IdleInterruptTest() : sched_(0, 0, platform_, HaltPollConfig{}) {
    SetCurrentCoreForTest(0);
    Scheduler::Register(&sched_);
    platform_.Attach(&sched_);
    sched_.SetIdlePolicy(IdlePolicy::kHalt);  // no polling: every idle halts
  }

  template <typename Fn>
  void Go(Fn* fn, const char* name) {
    sched_.Spawn([](void* arg) { (*static_cast<Fn*>(arg))(); }, fn, name, Joinable::kNo);
  }

  KernelLikePlatform platform_;
  Scheduler sched_;
};

// A sleeper with deadline D; a device interrupt shortly before D wakes a
// second thread, so the core idles again with the same deadline (ArmDeadline
// returns early) and the timer fires right then, slightly early.
TEST_F(IdleInterruptTest, TimerBetweenArmAndAnnounceIsNotLost) {
  constexpr uint64_t kDeadline = 1 * kMs;
  uint64_t woke_at = 0;
  auto sleeper = [&] {
    Scheduler::Current().SleepUntil(kDeadline);
    woke_at = Scheduler::Current().NowNs();
  };
  FlagSource device;
  auto driver = [&] {
    Scheduler::Current().WaitFor(device);
    device.ready = false;
    platform_.FireAtNextEarlyReturn();
  };
  Go(&sleeper, "sleeper");
  Go(&driver, "driver");
  platform_.At(kDeadline - 10 * kUs, [&] {
    device.ready = true;
    sched_.InterruptWake();
  });
  sched_.RequestStop();
  sched_.Run();

  EXPECT_EQ(platform_.halts_with_nothing_armed(), 0u)
      << "the core halted with its sleeper's timer lost";
  EXPECT_GE(woke_at, kDeadline);
  EXPECT_LT(woke_at, kDeadline + 1 * kMs) << "the sleeper woke only by an unrelated interrupt";
  EXPECT_GE(platform_.timer_interrupts(), 1u);
}

// Any interrupt between the start of the loop's pass and the halt counts as
// an event: the re-check cancels the halt, and the core halts again only
// after another pass (and re-arms the timer it needs).
TEST_F(IdleInterruptTest, EveryEarlyTimerFireIsFollowedByAReArm) {
  uint64_t woke_at = 0;
  auto sleeper = [&] {
    for (int i = 1; i <= 5; ++i) Scheduler::Current().SleepUntil(i * kMs);
    woke_at = Scheduler::Current().NowNs();
  };
  Go(&sleeper, "sleeper");
  sched_.RequestStop();
  sched_.Run();
  EXPECT_EQ(platform_.halts_with_nothing_armed(), 0u);
  EXPECT_GE(woke_at, 5 * kMs);
  EXPECT_LT(woke_at, 6 * kMs);
  // Each deadline fires early once and is armed again for the rest: two
  // writes and two interrupts per sleep, never a lost one.
  EXPECT_EQ(platform_.timer_interrupts(), 10u);
  EXPECT_EQ(platform_.timer_writes(), 10u);
}

}  // namespace
}  // namespace uk::sched
