// Two threads, >= 10^7 messages per test, order and content checked on
// every message. Batches of random size exercise partial publish/drain.

#include <cstdint>
#include <memory>
#include <random>
#include <thread>

#include "gtest/gtest.h"
#include "ipc/message.h"
#include "ipc/spsc_ring.h"
#include "ipc/test_support.h"

namespace uk::ipc {
namespace {

using testing::Backoff;
using testing::Scaled;

const std::uint64_t kMessages = Scaled(10'000'000, 2'000'000);

// Every word of the payload depends on the sequence number, so a torn or
// stale slot fails the check.
struct Pattern {
  static constexpr MessageKind kKind = MessageKind::kFirstServiceKind;
  std::uint64_t words[6];
};

Pattern PatternFor(std::uint64_t seq) {
  Pattern p;
  for (std::uint64_t i = 0; i < 6; ++i) p.words[i] = seq * 0x9E3779B97F4A7C15ull + i;
  return p;
}

TEST(SpscRingStressTest, EightByteItemsSingleOps) {
  using Ring = SpscRing<std::uint64_t, 1024>;
  auto ring = std::make_unique<Ring>();
  std::thread producer([&ring] {
    Backoff backoff;
    for (std::uint64_t i = 0; i < kMessages; ++i) {
      while (!ring->TryPush(i * 3 + 1)) backoff.Wait();
    }
  });
  Backoff backoff;
  std::uint64_t errors = 0;
  for (std::uint64_t i = 0; i < kMessages; ++i) {
    std::uint64_t out;
    while (!ring->TryPop(&out)) backoff.Wait();
    if (out != i * 3 + 1 && errors++ < 5) {
      ADD_FAILURE() << "at " << i << " got " << out;
    }
  }
  producer.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_TRUE(ring->Empty());
}

TEST(SpscRingStressTest, MessagesInRandomBatches) {
  using Ring = SpscRing<Message, 256>;
  auto ring = std::make_unique<Ring>();
  std::thread producer([&ring] {
    std::mt19937 rng(1);
    Backoff backoff;
    std::uint64_t seq = 0;
    Message batch[64];
    while (seq < kMessages) {
      const std::uint32_t want = 1 + rng() % 64;
      if (rng() % 2 == 0) {
        // In place: claim, encode, commit; one publish for the batch.
        std::uint32_t staged = 0;
        while (staged < want && seq < kMessages) {
          Message* slot = ring->TryClaim();
          if (slot == nullptr) break;
          Encode(slot, PatternFor(seq), 7, seq);
          ring->Commit();
          ++seq;
          ++staged;
        }
        if (staged == 0) backoff.Wait();
        ring->Publish();
      } else {
        std::uint32_t n = 0;
        for (; n < want && seq + n < kMessages; ++n) {
          batch[n] = MakeMessage(PatternFor(seq + n), 7, seq + n);
        }
        std::uint32_t done = 0;
        while (done < n) {
          const std::uint32_t pushed = ring->PushBatch(batch + done, n - done);
          if (pushed == 0) backoff.Wait();
          done += pushed;
        }
        seq += n;
      }
    }
  });

  std::mt19937 rng(2);
  Backoff backoff;
  std::uint64_t expected = 0;
  std::uint64_t errors = 0;
  auto check = [&](const Message& m) {
    Pattern got;
    const Pattern want = PatternFor(expected);
    const bool ok = Decode(m, &got) && m.header.source == 7 &&
                    m.header.request_id == expected &&
                    __builtin_memcmp(&got, &want, sizeof got) == 0;
    if (!ok && errors++ < 5) ADD_FAILURE() << "bad message at " << expected;
    ++expected;
  };
  Message out[64];
  while (expected < kMessages) {
    std::uint32_t got = 0;
    switch (rng() % 3) {
      case 0: {
        Message m;
        if (ring->TryPop(&m)) {
          check(m);
          got = 1;
        }
        break;
      }
      case 1:
        got = ring->PopBatch(out, 1 + rng() % 64);
        for (std::uint32_t i = 0; i < got; ++i) check(out[i]);
        break;
      default:
        got = ring->Drain(check, 1 + rng() % 64);
        break;
    }
    if (got == 0) backoff.Wait();
  }
  producer.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(expected, kMessages);
  EXPECT_TRUE(ring->Empty());
}

}  // namespace
}  // namespace uk::ipc
