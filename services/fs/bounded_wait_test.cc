// BoundedWait on one core with a fake clock: a wait ends when its source is
// ready or when the timeout passes, whichever is first; the helper thread
// that arms the deadline goes away once nobody waits, leaving no timer.

#include "services/fs/bounded_wait.h"

#include <vector>

#include "gtest/gtest.h"
#include "kernel/sched/fake_platform.h"

namespace uk::fs {
namespace {

using sched::FakePlatform;
using sched::Scheduler;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kTimeout = 10 * kMs;

struct FlagSource : sched::WaitSource {
  bool ready = false;
  bool Ready() override { return ready; }
};

class BoundedWaitTest : public ::testing::Test {
 protected:
  BoundedWaitTest() : sched_(0, 0, platform_) {
    sched::SetCurrentCoreForTest(0);
    Scheduler::Register(&sched_);
  }

  // Runs `body` as a thread until every thread (the helper too) has exited.
  template <typename Fn>
  void Run(Fn body) {
    sched_.Spawn([](void* fn) { (*static_cast<Fn*>(fn))(); }, &body, "body", sched::Joinable::kNo);
    sched_.RequestStop();
    sched_.Run();
    EXPECT_EQ(platform_.halts_forever(), 0u) << "a halt with nothing to wake it";
    EXPECT_EQ(platform_.stacks_in_use(), 0);
  }

  FakePlatform platform_;
  Scheduler sched_;
  BoundedWait wait_{kTimeout};
  FlagSource source_;
};

TEST_F(BoundedWaitTest, AReadySourceNeedsNoHelper) {
  Run([&] {
    source_.ready = true;
    EXPECT_EQ(wait_.Wait(source_), BoundedWait::Outcome::kReady);
    EXPECT_FALSE(wait_.helper_running());
  });
}

TEST_F(BoundedWaitTest, EndsWhenTheSourceIsReady) {
  uint64_t woke = 0;
  platform_.At(3 * kMs, [&] { source_.ready = true; });
  Run([&] {
    EXPECT_EQ(wait_.Wait(source_), BoundedWait::Outcome::kReady);
    woke = platform_.NowNs();
    EXPECT_TRUE(wait_.helper_running()) << "sleeping until the old deadline";
  });
  EXPECT_GE(woke, 3 * kMs);
  EXPECT_LT(woke, kTimeout);
  // The helper woke at the deadline, found no wait and exited: no timer.
  EXPECT_FALSE(wait_.helper_running());
  EXPECT_EQ(platform_.armed_deadline(), sched::SleepQueue::kNever);
}

TEST_F(BoundedWaitTest, TimesOutWhenTheSourceNeverIsReady) {
  uint64_t woke = 0;
  Run([&] {
    EXPECT_EQ(wait_.Wait(source_), BoundedWait::Outcome::kTimedOut);
    woke = platform_.NowNs();
  });
  EXPECT_GE(woke, kTimeout);
  EXPECT_LT(woke, kTimeout + kMs);
  EXPECT_FALSE(wait_.helper_running());
}

TEST_F(BoundedWaitTest, ADeadlineIsPerWaitSoSlowProgressIsNotATimeout) {
  // Ready every 7 ms, 6 times: 42 ms in all, more than the 10 ms timeout,
  // yet no single wait lasts longer than 7 ms.
  for (int i = 1; i <= 6; ++i) platform_.At(i * 7 * kMs, [&] { source_.ready = true; });
  std::vector<BoundedWait::Outcome> outcomes;
  Run([&] {
    for (int i = 0; i < 6; ++i) {
      outcomes.push_back(wait_.Wait(source_));
      source_.ready = false;
    }
    // Then silence: the next wait times out 10 ms after it began.
    const uint64_t start = platform_.NowNs();
    EXPECT_EQ(wait_.Wait(source_), BoundedWait::Outcome::kTimedOut);
    EXPECT_GE(platform_.NowNs() - start, kTimeout);
  });
  EXPECT_EQ(outcomes, std::vector<BoundedWait::Outcome>(6, BoundedWait::Outcome::kReady));
}

TEST_F(BoundedWaitTest, ReadyAtTheDeadlineCountsAsReady) {
  platform_.At(kTimeout, [&] { source_.ready = true; });
  Run([&] { EXPECT_EQ(wait_.Wait(source_), BoundedWait::Outcome::kReady); });
}

}  // namespace
}  // namespace uk::fs
