#include "ipc/mailbox.h"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace uk::ipc {
namespace {

using Box = Mailbox<std::uint64_t, 16>;
using Seen = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

void Fill(Box& box, std::uint32_t producer, std::uint64_t first, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(box.Inbound(producer).TryPush(first + i));
  }
}

TEST(MailboxTest, EmptyMailbox) {
  auto box = std::make_unique<Box>(3);
  EXPECT_TRUE(box->AllEmpty());
  EXPECT_EQ(box->Drain([](std::uint32_t, std::uint64_t) {}, 100), 0u);
  EXPECT_FALSE(box->CheckCongestion());
}

TEST(MailboxTest, AllEmptySeesAnyRing) {
  auto box = std::make_unique<Box>(3);
  for (std::uint32_t p = 0; p < 3; ++p) {
    Fill(*box, p, 0, 1);
    EXPECT_FALSE(box->AllEmpty()) << "producer " << p;
    box->Drain([](std::uint32_t, std::uint64_t) {}, 100);
    EXPECT_TRUE(box->AllEmpty());
  }
}

TEST(MailboxTest, DrainsRoundRobinWithBurstOne) {
  auto box = std::make_unique<Box>(3);
  Fill(*box, 0, 100, 4);
  Fill(*box, 1, 200, 2);
  Fill(*box, 2, 300, 3);
  Seen seen;
  auto visit = [&seen](std::uint32_t p, std::uint64_t v) {
    seen.emplace_back(p, v);
  };
  EXPECT_EQ(box->Drain(visit, 100, 1), 9u);
  const Seen want = {{0, 100}, {1, 200}, {2, 300}, {0, 101}, {1, 201},
                     {2, 301}, {0, 102}, {2, 302}, {0, 103}};
  EXPECT_EQ(seen, want);
}

TEST(MailboxTest, BudgetIsRespectedAndNextDrainResumesAfterLastRing) {
  auto box = std::make_unique<Box>(3);
  Fill(*box, 0, 100, 10);
  Fill(*box, 1, 200, 10);
  Fill(*box, 2, 300, 10);
  Seen seen;
  auto visit = [&seen](std::uint32_t p, std::uint64_t v) {
    seen.emplace_back(p, v);
  };
  EXPECT_EQ(box->Drain(visit, 5, 4), 5u);  // 4 from ring 0, 1 from ring 1
  EXPECT_EQ(seen.back(), (std::pair<std::uint32_t, std::uint64_t>{1, 200}));
  seen.clear();
  EXPECT_EQ(box->Drain(visit, 1, 4), 1u);
  EXPECT_EQ(seen.back().first, 2u) << "resumes with the ring after ring 1";
}

TEST(MailboxTest, BusyProducerCannotStarveOthers) {
  auto box = std::make_unique<Box>(3);
  Fill(*box, 0, 0, 16);  // ring 0 full
  Fill(*box, 2, 500, 1);
  Seen seen;
  box->Drain([&seen](std::uint32_t p, std::uint64_t v) { seen.emplace_back(p, v); },
             100, 4);
  ASSERT_EQ(seen.size(), 17u);
  // Ring 2's single item comes right after ring 0's first burst.
  EXPECT_EQ(seen[4], (std::pair<std::uint32_t, std::uint64_t>{2, 500}));
}

TEST(MailboxTest, CongestionMeansAnItemOutlivedACheck) {
  auto box = std::make_unique<Box>(3);
  auto drop = [](std::uint32_t, std::uint64_t) {};
  Fill(*box, 1, 0, 2);
  EXPECT_FALSE(box->CheckCongestion()) << "new items are not congestion";
  box->Drain(drop, 1);  // one of the two items seen at the check remains
  EXPECT_TRUE(box->CheckCongestion());
  EXPECT_EQ(box->stats(1).congested, 1u);
  box->Drain(drop, 100);
  Fill(*box, 2, 0, 1);  // arrived after the last check
  EXPECT_FALSE(box->CheckCongestion());
  box->Drain(drop, 100);
  EXPECT_FALSE(box->CheckCongestion());
}

TEST(MailboxTest, StatsCountMessagesAndHighWater) {
  auto box = std::make_unique<Box>(3);
  auto drop = [](std::uint32_t, std::uint64_t) {};
  Fill(*box, 0, 0, 5);
  box->Drain(drop, 100, 2);
  Fill(*box, 0, 0, 2);
  box->Drain(drop, 100);
  EXPECT_EQ(box->stats(0).messages, 7u);
  EXPECT_EQ(box->stats(0).high_water, 5u);
  EXPECT_EQ(box->stats(1).messages, 0u);
}

}  // namespace
}  // namespace uk::ipc
