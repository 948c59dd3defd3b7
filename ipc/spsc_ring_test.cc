#include "ipc/spsc_ring.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "ipc/message.h"

namespace uk::ipc {
namespace {

using SmallRing = SpscRing<std::uint64_t, 8>;

static_assert(sizeof(SpscRing<Message, 4>) ==
                  4 * kFalseSharingRange + 4 * sizeof(Message),
              "four separated index blocks, then one line per slot");
static_assert(alignof(SpscRing<Message, 4>) == kFalseSharingRange);

TEST(SpscRingTest, StartsEmpty) {
  auto ring = std::make_unique<SmallRing>();
  std::uint64_t out = 0;
  EXPECT_TRUE(ring->Empty());
  EXPECT_EQ(ring->Occupancy(), 0u);
  EXPECT_EQ(ring->Peek(), nullptr);
  EXPECT_FALSE(ring->TryPop(&out));
  EXPECT_EQ(ring->FreeSlots(), 8u);
}

TEST(SpscRingTest, FillsToExactlyCapacityThenRefuses) {
  auto ring = std::make_unique<SmallRing>();
  for (std::uint64_t i = 0; i < SmallRing::kCapacity; ++i) {
    ASSERT_TRUE(ring->TryPush(i)) << i;
  }
  EXPECT_FALSE(ring->TryPush(99));
  EXPECT_EQ(ring->TryClaim(), nullptr);
  EXPECT_EQ(ring->FreeSlots(), 0u);
  EXPECT_EQ(ring->Occupancy(), 8u);
  std::uint64_t out = 0;
  ASSERT_TRUE(ring->TryPop(&out));
  EXPECT_EQ(out, 0u);
  EXPECT_TRUE(ring->TryPush(8));  // the freed slot is reusable at once
  EXPECT_FALSE(ring->TryPush(9));
  for (std::uint64_t want = 1; want <= 8; ++want) {
    ASSERT_TRUE(ring->TryPop(&out));
    EXPECT_EQ(out, want);
  }
  EXPECT_FALSE(ring->TryPop(&out));
  EXPECT_TRUE(ring->Empty());
}

TEST(SpscRingTest, WrapsAroundManyLapsInOrder) {
  auto ring = std::make_unique<SmallRing>();
  std::uint64_t next_in = 0;
  std::uint64_t next_out = 0;
  // Varying fill levels make the head/tail cross the wrap point at every
  // offset.
  for (int round = 0; round < 1000; ++round) {
    const int fill = 1 + round % 8;
    for (int i = 0; i < fill; ++i) ASSERT_TRUE(ring->TryPush(next_in++));
    const int drain = 1 + (round * 5) % fill;
    for (int i = 0; i < drain; ++i) {
      std::uint64_t out = 0;
      ASSERT_TRUE(ring->TryPop(&out));
      ASSERT_EQ(out, next_out++);
    }
    std::uint64_t out = 0;
    while (ring->TryPop(&out)) ASSERT_EQ(out, next_out++);
  }
  EXPECT_EQ(next_in, next_out);
  EXPECT_GT(next_in, 100u * SmallRing::kCapacity);
}

TEST(SpscRingTest, StagedItemsAreInvisibleUntilPublished) {
  auto ring = std::make_unique<SmallRing>();
  ASSERT_TRUE(ring->TryStage(1));
  ASSERT_TRUE(ring->TryStage(2));
  EXPECT_EQ(ring->Unpublished(), 2u);
  EXPECT_TRUE(ring->Empty());
  ring->Publish();
  EXPECT_EQ(ring->Unpublished(), 0u);
  EXPECT_EQ(ring->Occupancy(), 2u);
}

TEST(SpscRingTest, ConsumedSlotsStayReservedUntilReleased) {
  auto ring = std::make_unique<SmallRing>();
  for (std::uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(ring->TryPush(i));
  const std::uint64_t* item = ring->Peek();
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(*item, 0u);
  ring->Consume();
  EXPECT_FALSE(ring->TryPush(8)) << "slot still owned by the consumer";
  ring->Release();
  EXPECT_TRUE(ring->TryPush(8));
}

TEST(SpscRingTest, ClaimWritesInPlace) {
  auto ring = std::make_unique<SpscRing<Message, 4>>();
  Message* slot = ring->TryClaim();
  ASSERT_NE(slot, nullptr);
  Encode(slot, PingBody{7, 8}, 3, 42);
  ring->Commit();
  ring->Publish();
  const Message* got = ring->Peek();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got, slot) << "zero copy: consumer reads the producer's slot";
  PingBody ping{};
  ASSERT_TRUE(Decode(*got, &ping));
  EXPECT_EQ(ping.sequence, 7u);
  EXPECT_EQ(got->header.request_id, 42u);
}

TEST(SpscRingTest, PushBatchEdges) {
  auto ring = std::make_unique<SmallRing>();
  std::vector<std::uint64_t> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(ring->PushBatch(items.data(), 0), 0u);
  EXPECT_TRUE(ring->Empty());
  EXPECT_EQ(ring->PushBatch(items.data(), 5), 5u);
  // Only 3 free: a larger batch is cut, not refused.
  EXPECT_EQ(ring->PushBatch(items.data() + 5, 5), 3u);
  EXPECT_EQ(ring->PushBatch(items.data(), 1), 0u);
  std::uint64_t out[10] = {};
  EXPECT_EQ(ring->PopBatch(out, 10), 8u);
  for (std::uint64_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], i);
  // An exactly-full batch across the wrap point.
  EXPECT_EQ(ring->PushBatch(items.data(), 8), 8u);
  EXPECT_EQ(ring->FreeSlots(), 0u);
  EXPECT_EQ(ring->PopBatch(out, 3), 3u);
  EXPECT_EQ(ring->PopBatch(out, 0), 0u);
  EXPECT_EQ(ring->PopBatch(out + 3, 10), 5u);
  for (std::uint64_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], i);
  EXPECT_EQ(ring->PopBatch(out, 10), 0u);
}

TEST(SpscRingTest, DrainVisitsInPlaceAndRespectsMax) {
  auto ring = std::make_unique<SmallRing>();
  for (std::uint64_t i = 0; i < 6; ++i) ASSERT_TRUE(ring->TryStage(i * 10));
  ring->Publish();
  std::vector<std::uint64_t> seen;
  auto visit = [&seen](const std::uint64_t& v) { seen.push_back(v); };
  EXPECT_EQ(ring->Drain(visit, 4), 4u);
  EXPECT_EQ(ring->Drain(visit, 4), 2u);
  EXPECT_EQ(ring->Drain(visit, 4), 0u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 10, 20, 30, 40, 50}));
  EXPECT_EQ(ring->FreeSlots(), 8u) << "Drain released what it visited";
}

TEST(SpscRingTest, ConsumerPositionsTrackReads) {
  auto ring = std::make_unique<SmallRing>();
  EXPECT_EQ(ring->ReadPosition(), 0u);
  for (std::uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(ring->TryPush(i));
  EXPECT_EQ(ring->Occupancy(), 3u);
  EXPECT_EQ(ring->LastSeenTail(), 3u);
  std::uint64_t out;
  ASSERT_TRUE(ring->TryPop(&out));
  EXPECT_EQ(ring->ReadPosition(), 1u);
}

}  // namespace
}  // namespace uk::ipc
