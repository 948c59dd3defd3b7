#include "kernel/drivers/virtio/split_queue.h"

#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace uk::virtio {
namespace {

constexpr uint16_t kSize = 8;
using Queue = SplitQueue<kSize>;

// The device side, as QEMU would play it, working on the queue's shared
// areas only. Buffer "physical" addresses are host pointers here.
class FakeDevice {
 public:
  explicit FakeDevice(Queue& q)
      : desc_(q.descriptor_area()), avail_(q.driver_area()), used_(q.device_area()) {}

  // Consumes every offered chain; fills its writable buffers with `fill`
  // and reports how many bytes it wrote. Returns chains completed.
  // At most `limit` chains.
  int Serve(uint8_t fill = 0xab, int limit = kSize) {
    int served = 0;
    const uint16_t avail_idx = avail_->idx.load(std::memory_order_acquire);
    while (next_avail_ != avail_idx && served < limit) {
      const uint16_t head = avail_->ring[next_avail_ % kSize];
      ++next_avail_;
      uint32_t written = 0;
      uint16_t index = head;
      for (int i = 0; i < kSize; ++i) {  // bounded walk
        Descriptor& d = desc_[index];
        if (d.flags & kDescWrite) {
          std::memset(reinterpret_cast<void*>(d.address), fill, d.length);
          written += d.length;
        }
        if (!(d.flags & kDescNext)) break;
        index = d.next;
      }
      Complete(head, written);
      ++served;
    }
    return served;
  }

  // Writes one used element as is (for malformed-entry tests).
  void Complete(uint32_t id, uint32_t length) {
    const uint16_t idx = used_->idx.load(std::memory_order_relaxed);
    used_->ring[idx % kSize] = {id, length};
    used_->idx.store(static_cast<uint16_t>(idx + 1), std::memory_order_release);
  }

  void AskForKickAfter(uint16_t avail_index) { used_->avail_event.store(avail_index); }
  void SetNoNotify(bool on) { used_->flags.store(on ? kUsedNoNotify : 0); }
  uint16_t used_event() const { return avail_->used_event.load(); }
  uint16_t avail_flags() const { return avail_->flags.load(); }
  uint16_t avail_idx() const { return avail_->idx.load(); }
  uint16_t used_idx() const { return used_->idx.load(); }

 private:
  Descriptor* desc_;
  Queue::AvailRing* avail_;
  Queue::UsedRing* used_;
  uint16_t next_avail_ = 0;
};

Segment Out(const void* p, uint32_t n) { return {reinterpret_cast<uint64_t>(p), n, false}; }
Segment In(void* p, uint32_t n) { return {reinterpret_cast<uint64_t>(p), n, true}; }

TEST(NeedEventTest, MatchesTheSpecFormula) {
  EXPECT_TRUE(NeedEvent(0, 1, 0));    // passed the event
  EXPECT_FALSE(NeedEvent(5, 3, 0));   // not yet
  EXPECT_TRUE(NeedEvent(5, 8, 3));    // jumped over it
  EXPECT_FALSE(NeedEvent(2, 8, 3));   // already passed before this batch
  EXPECT_TRUE(NeedEvent(65535, 0, 65534));  // across the wrap
}

TEST(SplitQueueTest, RequestAndResponseChainsComeBackWithTheirCookies) {
  auto q = std::make_unique<Queue>(/*event_idx=*/true);
  FakeDevice device(*q);
  char header[16] = "request", reply[100] = {};
  Segment chain[] = {Out(header, sizeof(header)), In(reply, sizeof(reply))};
  ASSERT_TRUE(q->Add(chain, 2, 42));
  EXPECT_EQ(q->free_descriptors(), kSize - 2);
  q->Publish();
  EXPECT_EQ(device.Serve(0x5a), 1);
  ASSERT_TRUE(q->HasCompletions());
  Completion c;
  ASSERT_TRUE(q->Pop(&c));
  EXPECT_EQ(c.cookie, 42u);
  EXPECT_EQ(c.written, sizeof(reply));
  EXPECT_EQ(reply[99], 0x5a);
  EXPECT_FALSE(q->Pop(&c));
  EXPECT_EQ(q->free_descriptors(), kSize);
  EXPECT_EQ(q->malformed(), 0u);
}

TEST(SplitQueueTest, FullQueueRefusesWithoutChangingAnything) {
  auto q = std::make_unique<Queue>(true);
  FakeDevice device(*q);
  char buf[kSize][8];
  for (uint16_t i = 0; i < kSize; ++i) {
    Segment s = In(buf[i], 8);
    ASSERT_TRUE(q->Add(&s, 1, i));
  }
  Segment s = In(buf[0], 8);
  EXPECT_FALSE(q->Add(&s, 1, 99));
  Segment two[] = {In(buf[0], 8), In(buf[1], 8)};
  EXPECT_EQ(q->free_descriptors(), 0u);
  q->Publish();
  device.Serve();
  Completion c;
  int popped = 0;
  while (q->Pop(&c)) ++popped;
  EXPECT_EQ(popped, kSize);
  EXPECT_TRUE(q->Add(two, 2, 7));
}

// The avail and used indices are 16 bits and wrap after 65,536 chains.
// Full batches bring both to 1,000 chains short of the wrap; then 20,000
// chains of 1 to 3 descriptors, added, served and popped in random
// portions, so the indices cross the wrap early in the varied part with
// chains in flight and the two sides at different places, and the kick
// (avail_event) and interrupt (used_event) decisions are made across it.
TEST(SplitQueueTest, IndicesWrapAroundAfter65536Chains) {
  auto q = std::make_unique<Queue>(true);
  FakeDevice device(*q);
  char out[4], in1[8], in2[16];
  uint64_t next_cookie = 0, expect_cookie = 0;
  constexpr uint64_t kWrap = 65536, kBeforeWrap = 1000, kAfterWrap = 19000;
  while (next_cookie < kWrap - kBeforeWrap) {
    for (uint16_t i = 0; i < kSize; ++i) {
      Segment s = In(in1, sizeof(in1));
      ASSERT_TRUE(q->Add(&s, 1, next_cookie++));
    }
    q->Publish();
    ASSERT_EQ(device.Serve(), kSize);
    Completion c;
    while (q->Pop(&c)) ASSERT_EQ(c.cookie, expect_cookie++);
  }
  ASSERT_EQ(next_cookie, kWrap - kBeforeWrap);
  ASSERT_EQ(expect_cookie, next_cookie);

  // Bytes the device writes into a chain of n descriptors.
  constexpr uint32_t kWritten[] = {0, 0, sizeof(in1), sizeof(in1) + sizeof(in2)};
  std::mt19937 rng(17);
  std::deque<uint32_t> expected_written;  // of chains in flight, in order
  int kicks_asked = 0, interrupts_asked = 0;
  while (expect_cookie < kWrap + kAfterWrap) {
    for (int want = 1 + rng() % kSize; want > 0 && next_cookie < kWrap + kAfterWrap; --want) {
      const uint16_t n = 1 + rng() % 3;
      if (q->free_descriptors() < n) break;
      Segment chain[] = {Out(out, sizeof(out)), In(in1, sizeof(in1)), In(in2, sizeof(in2))};
      ASSERT_TRUE(q->Add(chain, n, next_cookie++));
      expected_written.push_back(kWritten[n]);
    }
    // The device asks for a kick at the next chain offered, or for none
    // (an index already passed): Publish must tell them apart at the wrap.
    const uint16_t old_avail = device.avail_idx();
    const bool ask_kick = rng() % 2;
    device.AskForKickAfter(ask_kick ? old_avail : static_cast<uint16_t>(old_avail - 1));
    const bool pending = static_cast<uint16_t>(next_cookie) != old_avail;  // added, unpublished
    ASSERT_EQ(q->Publish(), ask_kick && pending) << "at avail " << old_avail;
    kicks_asked += ask_kick && pending;
    // The driver asks for an interrupt at the next completion, half the
    // time; when completions are already waiting it polls instead.
    const bool ask_interrupt = rng() % 2 && !q->EnableInterrupts();
    const uint16_t old_used = device.used_idx();
    const int served = device.Serve(0xab, rng() % (kSize + 1));
    if (ask_interrupt && served > 0) {
      ASSERT_TRUE(NeedEvent(device.used_event(), device.used_idx(), old_used))
          << "at used " << old_used;
      ++interrupts_asked;
    }
    for (int pops = rng() % (kSize + 1); pops > 0; --pops) {
      Completion c;
      if (!q->Pop(&c)) break;
      ASSERT_EQ(c.cookie, expect_cookie++);
      ASSERT_FALSE(expected_written.empty());
      ASSERT_EQ(c.written, expected_written.front()) << "cookie " << c.cookie;
      expected_written.pop_front();
    }
  }
  EXPECT_TRUE(expected_written.empty());
  EXPECT_EQ(q->free_descriptors(), kSize);
  EXPECT_EQ(q->malformed(), 0u);
  EXPECT_EQ(device.avail_idx(), static_cast<uint16_t>(kWrap + kAfterWrap));
  EXPECT_EQ(device.used_idx(), static_cast<uint16_t>(kWrap + kAfterWrap));
  EXPECT_GT(kicks_asked, 1000);
  EXPECT_GT(interrupts_asked, 1000);
}

TEST(SplitQueueTest, KicksOnlyWhenTheDeviceAskedForThem) {
  auto q = std::make_unique<Queue>(/*event_idx=*/true);
  FakeDevice device(*q);
  char buf[8];
  Segment s = In(buf, 8);
  device.AskForKickAfter(0);
  ASSERT_TRUE(q->Add(&s, 1, 1));
  EXPECT_TRUE(q->Publish());   // idx 0 -> 1 passes event 0
  ASSERT_TRUE(q->Add(&s, 1, 2));
  EXPECT_FALSE(q->Publish());  // device still busy with the first: no kick
  device.AskForKickAfter(3);
  ASSERT_TRUE(q->Add(&s, 1, 3));
  EXPECT_FALSE(q->Publish());  // 2 -> 3 does not pass 3
  ASSERT_TRUE(q->Add(&s, 1, 4));
  EXPECT_TRUE(q->Publish());   // 3 -> 4 passes 3
  EXPECT_FALSE(q->Publish());  // nothing new

  auto legacy = std::make_unique<Queue>(/*event_idx=*/false);
  FakeDevice old_device(*legacy);
  old_device.SetNoNotify(true);
  ASSERT_TRUE(legacy->Add(&s, 1, 1));
  EXPECT_FALSE(legacy->Publish());
  old_device.SetNoNotify(false);
  ASSERT_TRUE(legacy->Add(&s, 1, 2));
  EXPECT_TRUE(legacy->Publish());
}

TEST(SplitQueueTest, InterruptSuppression) {
  auto q = std::make_unique<Queue>(true);
  FakeDevice device(*q);
  char buf[8];
  Segment s = In(buf, 8);
  ASSERT_TRUE(q->Add(&s, 1, 1));
  q->Publish();
  device.Serve();
  Completion c;
  ASSERT_TRUE(q->Pop(&c));
  EXPECT_FALSE(q->EnableInterrupts());
  EXPECT_EQ(device.used_event(), 1u);  // "interrupt me after entry 1"
  ASSERT_TRUE(q->Add(&s, 1, 2));
  q->Publish();
  device.Serve();
  EXPECT_TRUE(q->EnableInterrupts());  // arrived meanwhile: poll, don't wait

  auto legacy = std::make_unique<Queue>(false);
  FakeDevice old_device(*legacy);
  legacy->DisableInterrupts();
  EXPECT_EQ(old_device.avail_flags(), kAvailNoInterrupt);
  legacy->EnableInterrupts();
  EXPECT_EQ(old_device.avail_flags(), 0u);
}

TEST(SplitQueueTest, MalformedCompletionsAreCountedAndSkipped) {
  auto q = std::make_unique<Queue>(true);
  FakeDevice device(*q);
  char buf[16];
  Segment s = In(buf, 16);
  ASSERT_TRUE(q->Add(&s, 1, 7));  // head 0
  q->Publish();
  device.Complete(kSize + 3, 4);  // not a descriptor index
  device.Complete(5, 4);          // a descriptor we never offered
  device.Complete(0, 1000);       // ours, but claims more than 16 bytes
  device.Complete(0, 4);          // ours again: completed twice
  Completion c;
  ASSERT_TRUE(q->Pop(&c));
  EXPECT_EQ(c.cookie, 7u);
  EXPECT_EQ(c.written, 16u);      // clamped to what the buffers hold
  EXPECT_FALSE(q->Pop(&c));
  EXPECT_EQ(q->malformed(), 4u);
  EXPECT_EQ(q->free_descriptors(), kSize);  // nothing leaked or double-freed
  // And the queue still works.
  ASSERT_TRUE(q->Add(&s, 1, 8));
  q->Publish();
  device.Serve();
  ASSERT_TRUE(q->Pop(&c));
  EXPECT_EQ(c.cookie, 8u);
}

}  // namespace
}  // namespace uk::virtio
