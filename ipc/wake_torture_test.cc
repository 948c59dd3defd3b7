// Lost-wakeup torture: one consumer sleeps and is woken (10^6
// times) through the real handshake and the host futex seam, while two
// producers publish with random timing. Producers regularly wait for the
// consumer to acknowledge everything they sent, so a lost wakeup cannot be
// hidden by a later message: both producers would wait, the watchdog in the
// wait fires, the test fails (and unsticks the consumer instead of hanging).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ipc/host_seam.h"
#include "ipc/mailbox.h"
#include "ipc/message.h"
#include "ipc/test_support.h"
#include "ipc/wake.h"

namespace uk::ipc {
namespace {

using testing::Backoff;
using testing::Scaled;

constexpr std::uint32_t kProducers = 2;
const std::uint64_t kTargetSleeps = Scaled(1'000'000, 100'000);
// Not a performance threshold: a message unacknowledged this long is stuck.
constexpr auto kWatchdog = std::chrono::seconds(30);

struct Token {
  static constexpr MessageKind kKind = MessageKind::kFirstServiceKind;
  std::uint64_t check;
};

std::uint64_t CheckFor(std::uint32_t producer, std::uint64_t seq) {
  return (seq + 1) * 0x9E3779B97F4A7C15ull ^ producer;
}

struct World {
  Mailbox<Message, 64> box{kProducers};
  WakeWord word;
  HostSeam seam;
  std::atomic<std::uint64_t> acked[kProducers] = {};  // consumer writes
  std::atomic<bool> stop{false};                      // consumer writes
  std::atomic<std::uint32_t> producers_done{0};
  std::atomic<bool> watchdog_fired{false};
  WakerCounters waker[kProducers];  // each written by its producer only
};

void Produce(World& w, std::uint32_t p) {
  std::mt19937 rng(1234 + p);
  Backoff backoff;
  auto& ring = w.box.Inbound(p);
  std::uint64_t seq = 0;
  while (!w.stop.load(std::memory_order_relaxed)) {
    const std::uint32_t burst = 1 + rng() % 4;
    for (std::uint32_t i = 0; i < burst; ++i) {
      Message* slot;
      while ((slot = ring.TryClaim()) == nullptr) backoff.Wait();
      Encode(slot, Token{CheckFor(p, seq)}, p, seq);
      ring.Commit();
      ++seq;
      if (rng() % 2 == 0) {  // sometimes publish each message on its own
        ring.Publish();
        WakeIfHalted(w.seam, w.word, w.waker[p]);
      }
    }
    ring.Publish();
    WakeIfHalted(w.seam, w.word, w.waker[p]);

    switch (rng() % 4) {
      case 0:
        break;  // straight into the next burst
      case 1:
        for (std::uint32_t i = rng() % 2000; i > 0; --i) w.seam.Pause();
        break;
      case 2:
        std::this_thread::yield();
        break;
      default: {
        // Wait until everything we sent was consumed.
        const auto start = std::chrono::steady_clock::now();
        while (w.acked[p].load(std::memory_order_acquire) < seq) {
          backoff.Wait();
          if (std::chrono::steady_clock::now() - start > kWatchdog) {
            ADD_FAILURE() << "producer " << p << ": message " << seq - 1
                          << " never consumed (lost wakeup); word state="
                          << w.word.state.load();
            w.watchdog_fired = true;
            w.stop = true;
            // Unstick the consumer so the test ends instead of hanging.
            w.word.state.store(kRunning);
            w.seam.Wake(w.word);
            break;
          }
        }
      }
    }
  }
  // Being done is work too (it ends the consumer): announce it through the
  // same handshake as a message.
  w.producers_done.fetch_add(1, std::memory_order_release);
  WakeIfHalted(w.seam, w.word, w.waker[p]);
}

TEST(WakeTortureTest, NoLostWakeupsUnderRandomTiming) {
  auto w = std::make_unique<World>();
  std::thread producers[kProducers];
  for (std::uint32_t p = 0; p < kProducers; ++p) {
    producers[p] = std::thread(Produce, std::ref(*w), p);
  }

  SleeperCounters sleeper;
  std::uint64_t expected[kProducers] = {};
  std::uint64_t errors = 0;
  auto check = [&](std::uint32_t p, const Message& m) {
    Token token{};
    if (!Decode(m, &token) || m.header.source != p ||
        m.header.request_id != expected[p] ||
        token.check != CheckFor(p, expected[p])) {
      if (errors++ < 5) ADD_FAILURE() << "producer " << p << " seq " << expected[p];
    }
    ++expected[p];
  };
  auto has_work = [&] {
    return !w->box.AllEmpty() ||
           w->producers_done.load(std::memory_order_acquire) == kProducers;
  };
  std::mt19937 rng(99);
  while (true) {
    if (w->box.Drain(check, 256) != 0) {
      for (std::uint32_t p = 0; p < kProducers; ++p) {
        w->acked[p].store(expected[p], std::memory_order_release);
      }
      continue;
    }
    if (w->producers_done.load(std::memory_order_acquire) == kProducers &&
        w->box.AllEmpty()) {
      break;
    }
    if (sleeper.sleeps >= kTargetSleeps) w->stop = true;
    if (rng() % 4 == 0) {
      PollThenSleep(w->seam, w->word, has_work, rng() % 64, sleeper);
    } else {
      SleepUnlessWork(w->seam, w->word, has_work, sleeper);
    }
  }
  for (std::thread& t : producers) t.join();

  WakerCounters total;
  for (const WakerCounters& c : w->waker) {
    total.wakeups_sent += c.wakeups_sent;
    total.wakeups_suppressed += c.wakeups_suppressed;
  }
  const std::uint64_t not_asleep = sleeper.stray_wakeups + sleeper.sleep_skipped;
  std::printf(
      "messages=%llu+%llu announces=%llu aborted=%llu sleeps=%llu "
      "skipped=%llu stray=%llu | wakeups sent=%llu suppressed=%llu "
      "sent_to_consumer_not_asleep=%llu\n",
      (unsigned long long)expected[0], (unsigned long long)expected[1],
      (unsigned long long)sleeper.announces, (unsigned long long)sleeper.aborted,
      (unsigned long long)sleeper.sleeps,
      (unsigned long long)sleeper.sleep_skipped,
      (unsigned long long)sleeper.stray_wakeups,
      (unsigned long long)total.wakeups_sent,
      (unsigned long long)total.wakeups_suppressed,
      (unsigned long long)not_asleep);
  ::testing::Test::RecordProperty("sleeps", std::to_string(sleeper.sleeps));
  ::testing::Test::RecordProperty("wakeups_sent_to_running_consumer",
                                  std::to_string(not_asleep));

  EXPECT_FALSE(w->watchdog_fired.load());
  EXPECT_EQ(errors, 0u);
  EXPECT_GE(sleeper.sleeps, kTargetSleeps);
  // Every wakeup claims exactly one announcement...
  EXPECT_LE(total.wakeups_sent, sleeper.announces);
  // ...that ended in a real sleep, a skipped one, or a cancelled one.
  EXPECT_LE(total.wakeups_sent,
            sleeper.sleeps + sleeper.sleep_skipped + sleeper.stray_wakeups);
  EXPECT_LE(not_asleep, total.wakeups_sent);
  EXPECT_EQ(sleeper.announces,
            sleeper.aborted + sleeper.sleeps + sleeper.sleep_skipped);
}

}  // namespace
}  // namespace uk::ipc
