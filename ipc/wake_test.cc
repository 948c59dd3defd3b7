// Step-by-step checks of the handshake with a scripted seam, plus the host
// futex seam on real threads.

#include "ipc/wake.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "ipc/host_seam.h"

namespace uk::ipc {
namespace {

// Records what the protocol asked of it. `before_sleep` runs inside
// SleepUntilWoken, i.e. after the re-check, to script a racing producer.
struct ScriptedSeam {
  int pauses = 0;
  int sleep_calls = 0;
  int wakes = 0;
  std::uint32_t state_at_sleep = 99;
  std::function<void()> before_sleep;

  void Pause() { ++pauses; }
  bool SleepUntilWoken(WakeWord& word) {
    ++sleep_calls;
    if (before_sleep) before_sleep();
    state_at_sleep = word.state.load();
    // Same contract as a futex: block only if still announced.
    return state_at_sleep == kHaltAnnounced;
  }
  void Wake(WakeWord&) { ++wakes; }
};
static_assert(WaitSeam<ScriptedSeam>);

TEST(WakeTest, ProducerSuppressesWakeOfRunningConsumer) {
  ScriptedSeam seam;
  WakeWord word;
  WakerCounters counters;
  EXPECT_FALSE(WakeIfHalted(seam, word, counters));
  EXPECT_EQ(seam.wakes, 0);
  EXPECT_EQ(counters.wakeups_suppressed, 1u);
  EXPECT_EQ(counters.wakeups_sent, 0u);
}

TEST(WakeTest, OnlyOneProducerWakesPerAnnouncement) {
  ScriptedSeam seam;
  WakeWord word;
  word.state = kHaltAnnounced;
  WakerCounters first, second;
  EXPECT_TRUE(WakeIfHalted(seam, word, first));
  EXPECT_EQ(word.state.load(), kRunning) << "the waker claims the word";
  EXPECT_FALSE(WakeIfHalted(seam, word, second));
  EXPECT_EQ(seam.wakes, 1);
  EXPECT_EQ(first.wakeups_sent, 1u);
  EXPECT_EQ(second.wakeups_suppressed, 1u);
}

TEST(WakeTest, RecheckRunsAfterAnnouncingAndWorkCancelsTheSleep) {
  ScriptedSeam seam;
  WakeWord word;
  SleeperCounters counters;
  std::uint32_t state_at_recheck = 99;
  const SleepOutcome outcome = SleepUnlessWork(
      seam, word,
      [&] {
        state_at_recheck = word.state.load();
        return true;
      },
      counters);
  EXPECT_EQ(outcome, SleepOutcome::kWorkFound);
  EXPECT_EQ(state_at_recheck, kHaltAnnounced);
  EXPECT_EQ(seam.sleep_calls, 0);
  EXPECT_EQ(word.state.load(), kRunning);
  EXPECT_EQ(counters.announces, 1u);
  EXPECT_EQ(counters.aborted, 1u);
  EXPECT_EQ(counters.stray_wakeups, 0u);
}

TEST(WakeTest, EmptyRecheckSleepsWithTheWordAnnounced) {
  ScriptedSeam seam;
  WakeWord word;
  SleeperCounters counters;
  EXPECT_EQ(SleepUnlessWork(seam, word, [] { return false; }, counters),
            SleepOutcome::kWoken);
  EXPECT_EQ(seam.sleep_calls, 1);
  EXPECT_EQ(seam.state_at_sleep, kHaltAnnounced);
  EXPECT_EQ(counters.sleeps, 1u);
  EXPECT_EQ(word.state.load(), kRunning) << "cleared after waking";
}

TEST(WakeTest, ProducerRacingTheRecheckIsAStrayWakeup) {
  ScriptedSeam seam;
  WakeWord word;
  SleeperCounters sleeper;
  WakerCounters waker;
  // The producer publishes and sees the announcement just before the
  // consumer's re-check also sees the message.
  SleepUnlessWork(
      seam, word,
      [&] {
        EXPECT_TRUE(WakeIfHalted(seam, word, waker));
        return true;
      },
      sleeper);
  EXPECT_EQ(sleeper.aborted, 1u);
  EXPECT_EQ(sleeper.stray_wakeups, 1u);
  EXPECT_EQ(waker.wakeups_sent, 1u);
}

TEST(WakeTest, WakeBeforeBlockingSkipsTheSleep) {
  ScriptedSeam seam;
  WakeWord word;
  SleeperCounters sleeper;
  WakerCounters waker;
  seam.before_sleep = [&] { WakeIfHalted(seam, word, waker); };
  SleepUnlessWork(seam, word, [] { return false; }, sleeper);
  EXPECT_EQ(seam.state_at_sleep, kRunning);
  EXPECT_EQ(sleeper.sleep_skipped, 1u);
  EXPECT_EQ(sleeper.sleeps, 0u);
  EXPECT_EQ(waker.wakeups_sent, 1u);
}

TEST(WakeTest, PollThenSleepPollsTheWindowFirst) {
  ScriptedSeam seam;
  WakeWord word;
  SleeperCounters counters;
  int checks = 0;
  PollThenSleep(seam, word, [&] { return ++checks > 100; }, 10, counters);
  EXPECT_EQ(seam.pauses, 10);
  EXPECT_EQ(checks, 11) << "10 polls, then the re-check after the fence";
  EXPECT_EQ(seam.sleep_calls, 1);
  checks = 0;
  EXPECT_EQ(PollThenSleep(seam, word, [&] { return ++checks > 3; }, 10,
                          counters),
            SleepOutcome::kWorkFound);
  EXPECT_EQ(counters.announces, 1u) << "work found while polling: no announce";
}

TEST(HostSeamTest, DoesNotBlockUnlessAnnounced) {
  HostSeam seam;
  WakeWord word;
  EXPECT_FALSE(seam.SleepUntilWoken(word));  // kRunning: returns at once
}

TEST(HostSeamTest, ProducerWakesSleepingConsumer) {
  HostSeam seam;
  WakeWord word;
  std::atomic<int> ready{0};
  SleeperCounters sleeper;
  WakerCounters waker;
  std::thread consumer([&] {
    while (ready.load(std::memory_order_acquire) == 0) {
      SleepUnlessWork(
          seam, word,
          [&] { return ready.load(std::memory_order_acquire) != 0; }, sleeper);
    }
  });
  // Let the consumer reach the futex most of the time (either way the
  // handshake must complete; this only makes the interesting path likely).
  for (int i = 0; i < 1000 && word.state.load() != kHaltAnnounced; ++i) {
    std::this_thread::yield();
  }
  ready.store(1, std::memory_order_release);
  WakeIfHalted(seam, word, waker);
  consumer.join();
  EXPECT_EQ(waker.wakeups_sent + waker.wakeups_suppressed, 1u);
  EXPECT_LE(waker.wakeups_sent, sleeper.announces);
}

}  // namespace
}  // namespace uk::ipc
