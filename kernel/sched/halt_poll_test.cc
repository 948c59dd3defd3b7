#include "kernel/sched/halt_poll.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace uk::sched {
namespace {

// One idle period against a fake clock: the message arrives `gap_ns` after
// the rings went empty. Returns the nanoseconds spent polling.
uint64_t IdleOnce(HaltPollWindow& window, uint64_t gap_ns, bool congested = false) {
  IdlePlan plan = PlanIdle(IdlePolicy::kAdaptive, window, congested);
  if (gap_ns <= plan.poll_ns) {
    window.Update(gap_ns, /*halted=*/false);
    return gap_ns;
  }
  window.Update(gap_ns, /*halted=*/plan.may_halt);
  return plan.poll_ns;
}

TEST(HaltPollWindowTest, StartsAtConfiguredStart) {
  HaltPollWindow window;
  EXPECT_EQ(window.window_ns(), 10'000u);
}

TEST(HaltPollWindowTest, PeriodicShortGapsConvergeToPollingThemAll) {
  HaltPollWindow window;
  constexpr uint64_t kGap = 50'000;
  int halts = 0;
  for (int i = 0; i < 100; ++i) {
    if (window.window_ns() < kGap) ++halts;
    IdleOnce(window, kGap);
  }
  // 10 -> 20 -> 40 -> 80 us: three halts, then every gap is caught polling.
  EXPECT_EQ(halts, 3);
  EXPECT_GE(window.window_ns(), kGap);
  EXPECT_LE(window.window_ns(), window.config().max_ns);
  EXPECT_EQ(window.shrinks(), 0u);
}

TEST(HaltPollWindowTest, GrowthStopsAtTheCap) {
  HaltPollWindow window;
  for (int i = 0; i < 50; ++i) IdleOnce(window, 190'000);
  EXPECT_EQ(window.window_ns(), window.config().max_ns);
}

TEST(HaltPollWindowTest, LongGapsShrinkToHaltingAtOnce) {
  HaltPollWindow window;
  for (int i = 0; i < 5; ++i) IdleOnce(window, 30'000);  // grow first
  ASSERT_GT(window.window_ns(), 10'000u);
  for (int i = 0; i < 10; ++i) IdleOnce(window, 5'000'000);
  EXPECT_EQ(window.window_ns(), 0u);
  // And a core with long gaps wastes almost nothing: over 1000 gaps of 1 ms
  // it polls less than 1 ms in total.
  uint64_t polled = 0;
  for (int i = 0; i < 1000; ++i) polled += IdleOnce(window, 1'000'000);
  EXPECT_LT(polled, 1'000'000u);
}

TEST(HaltPollWindowTest, OneLongGapHalvesThenShortGapsRegrow) {
  HaltPollWindow window;
  for (int i = 0; i < 10; ++i) IdleOnce(window, 150'000);
  const uint64_t converged = window.window_ns();
  IdleOnce(window, 10'000'000);
  EXPECT_EQ(window.window_ns(), converged / 2);
  for (int i = 0; i < 3; ++i) IdleOnce(window, 150'000);
  EXPECT_GE(window.window_ns(), 150'000u);
}

TEST(HaltPollWindowTest, GrowFromZeroRestartsAtStart) {
  HaltPollWindow window;
  for (int i = 0; i < 5; ++i) IdleOnce(window, 1'000'000);
  ASSERT_EQ(window.window_ns(), 0u);
  IdleOnce(window, 5'000);  // halted at once, but the gap was short
  EXPECT_EQ(window.window_ns(), 10'000u);
}

TEST(HaltPollWindowTest, ZeroShrinkFactorDropsStraightToZero) {
  HaltPollWindow window({.start_ns = 10'000, .max_ns = 200'000, .grow = 2, .shrink = 0});
  IdleOnce(window, 1'000'000);
  EXPECT_EQ(window.window_ns(), 0u);
}

TEST(PlanIdleTest, NeverHaltsUnderCongestion) {
  HaltPollWindow window;
  for (int i = 0; i < 10; ++i) IdleOnce(window, 1'000'000);  // window 0
  IdlePlan plan = PlanIdle(IdlePolicy::kAdaptive, window, /*congested=*/true);
  EXPECT_FALSE(plan.may_halt);
  EXPECT_EQ(plan.poll_ns, window.config().max_ns);
  plan = PlanIdle(IdlePolicy::kAdaptive, window, /*congested=*/false);
  EXPECT_TRUE(plan.may_halt);
  EXPECT_EQ(plan.poll_ns, 0u);
}

TEST(PlanIdleTest, FixedPolicies) {
  HaltPollWindow window;
  IdlePlan poll = PlanIdle(IdlePolicy::kPoll, window, false);
  EXPECT_FALSE(poll.may_halt);
  EXPECT_EQ(poll.poll_ns, UINT64_MAX);
  IdlePlan halt = PlanIdle(IdlePolicy::kHalt, window, true);
  EXPECT_TRUE(halt.may_halt);
  EXPECT_EQ(halt.poll_ns, 0u);
  EXPECT_STREQ(IdlePolicyName(IdlePolicy::kAdaptive), "adaptive");
}

}  // namespace
}  // namespace uk::sched
