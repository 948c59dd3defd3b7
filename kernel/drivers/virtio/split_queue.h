#pragma once
// A virtio 1.x split virtqueue, driver side (VIRTIO 1.1 section 2.6).
//
// Three areas shared with the device, all inside this object (the owner
// allocates it in physically contiguous memory and tells the device where
// each area is):
//
//   descriptors  driver writes, device reads: buffer address, length, flags
//                (NEXT: chained, WRITE: device writes into it), next index
//   avail ring   driver writes: heads of chains offered to the device, then
//                `idx` (the publication word); `used_event` (EVENT_IDX: "send
//                an interrupt when used.idx passes this")
//   used ring    device writes: (head, bytes written) per completed chain,
//                then `idx`; `avail_event` ("kick me when avail.idx passes
//                this")
//
// Ordering: descriptors and avail entries are written before the release
// store of avail.idx; used entries are read after the acquire load of
// used.idx. Before deciding whether to notify the device, a full fence
// orders our avail.idx store before the load of avail_event (the same
// store->load pattern as ipc/wake.h; Linux's virtio_mb()).
//
// Trust: the device is outside the kernel. Everything read from the used
// ring is checked (head in range and in flight, length within the chain's
// writable bytes, chain walks bounded by the queue size); a bad entry is
// counted and skipped, never followed. Free descriptors are tracked in
// driver-private memory, never read back from the shared table.
//
// Portable: host tests drive it with a fake device (split_queue_test.cc).

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace uk::virtio {

inline constexpr uint16_t kDescNext = 1, kDescWrite = 2;
inline constexpr uint16_t kAvailNoInterrupt = 1;  // without EVENT_IDX
inline constexpr uint16_t kUsedNoNotify = 1;      // without EVENT_IDX

struct Descriptor {
  uint64_t address;
  uint32_t length;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

struct UsedElement {
  uint32_t id;      // head of the completed chain
  uint32_t length;  // bytes the device wrote into the chain's WRITE buffers
};
static_assert(sizeof(UsedElement) == 8);

// One buffer of a chain: physical address, length, device-writable or not.
struct Segment {
  uint64_t address;
  uint32_t length;
  bool device_writes;
};

// A completed chain handed back to the driver.
struct Completion {
  uint64_t cookie;   // what the driver passed to Add()
  uint32_t written;  // bytes the device wrote (checked against the chain)
};

// "Should the side that moved its index from `old_idx` to `new_idx` notify
// the other, which asked to hear when the index passes `event`?" (2.6.7.2)
inline bool NeedEvent(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

template <uint16_t kSize>
class SplitQueue {
  static_assert(kSize >= 2 && kSize <= 32768 && std::has_single_bit(kSize),
                "virtqueue sizes are powers of two up to 32768");
  static_assert(std::atomic<uint16_t>::is_always_lock_free);

 public:
  // `event_idx`: VIRTIO_F_EVENT_IDX was negotiated.
  explicit SplitQueue(bool event_idx) : event_idx_(event_idx) {
    for (uint16_t i = 0; i < kSize; ++i) free_next_[i] = static_cast<uint16_t>(i + 1);
  }
  SplitQueue(const SplitQueue&) = delete;
  SplitQueue& operator=(const SplitQueue&) = delete;

  static constexpr uint16_t size() { return kSize; }
  uint16_t free_descriptors() const { return free_count_; }

  // The layouts the device sees (2.6.6 and 2.6.8).
  struct AvailRing {
    std::atomic<uint16_t> flags{0};
    std::atomic<uint16_t> idx{0};
    uint16_t ring[kSize] = {};
    std::atomic<uint16_t> used_event{0};
  };
  struct UsedRing {
    std::atomic<uint16_t> flags{0};
    std::atomic<uint16_t> idx{0};
    UsedElement ring[kSize] = {};
    std::atomic<uint16_t> avail_event{0};
  };

  // Where the device finds each area (virtual; the owner translates to
  // physical addresses for the device's registers).
  Descriptor* descriptor_area() { return descriptors_; }
  AvailRing* driver_area() { return &avail_; }
  UsedRing* device_area() { return &used_; }

  // Offers a chain of `count` segments; `cookie` comes back in its
  // Completion. False if there are not enough free descriptors (nothing is
  // changed then). The chain is visible to the device only after Publish().
  bool Add(const Segment* segments, uint16_t count, uint64_t cookie) {
    if (count == 0 || count > free_count_) return false;
    const uint16_t head = free_head_;
    uint16_t index = head;
    uint32_t writable = 0;
    for (uint16_t i = 0; i < count; ++i) {
      Descriptor& d = descriptors_[index];
      d.address = segments[i].address;
      d.length = segments[i].length;
      d.flags = segments[i].device_writes ? kDescWrite : 0;
      if (segments[i].device_writes) writable += segments[i].length;
      const uint16_t next = free_next_[index];
      if (i + 1 < count) {
        d.flags |= kDescNext;
        d.next = next;
      }
      chain_next_[index] = (i + 1 < count) ? next : kEnd;
      index = next;
    }
    free_head_ = index;
    free_count_ -= count;
    in_flight_[head] = {cookie, writable, count, true};
    avail_.ring[(avail_shadow_ + pending_) % kSize] = head;
    ++pending_;
    return true;
  }

  // Makes the added chains visible. Returns true if the device must be
  // notified (a "kick"), honouring its suppression wishes.
  bool Publish() {
    if (pending_ == 0) return false;
    const uint16_t old_idx = avail_shadow_;
    avail_shadow_ = static_cast<uint16_t>(avail_shadow_ + pending_);
    pending_ = 0;
    // Release: descriptors and ring entries above before the index.
    avail_.idx.store(avail_shadow_, std::memory_order_release);
    // Full fence: the index store before the load of the device's wish.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (event_idx_) {
      return NeedEvent(used_.avail_event.load(std::memory_order_relaxed), avail_shadow_, old_idx);
    }
    return (used_.flags.load(std::memory_order_relaxed) & kUsedNoNotify) == 0;
  }

  // True if the device has completed something not yet popped.
  bool HasCompletions() const {
    return used_.idx.load(std::memory_order_acquire) != last_used_;
  }

  // Takes the next completion. False when there is none left. Malformed
  // entries are skipped and counted (malformed()).
  bool Pop(Completion* out) {
    // Acquire: the entries below were written before the device's idx store.
    const uint16_t used_idx = used_.idx.load(std::memory_order_acquire);
    while (last_used_ != used_idx) {
      const UsedElement element = used_.ring[last_used_ % kSize];
      ++last_used_;
      if (element.id >= kSize || !in_flight_[element.id].busy) {
        ++malformed_;  // not a head we offered, or completed twice
        continue;
      }
      InFlight& chain = in_flight_[element.id];
      out->cookie = chain.cookie;
      out->written = element.length;
      if (element.length > chain.writable) {
        ++malformed_;  // claims more than the buffers hold: trust none of it
        out->written = chain.writable;
      }
      Release(static_cast<uint16_t>(element.id));
      return true;
    }
    return false;
  }

  // Interrupt suppression. Enable returns true if completions arrived in the
  // meantime (the caller should poll again instead of waiting).
  bool EnableInterrupts() {
    if (event_idx_) {
      avail_.used_event.store(last_used_, std::memory_order_relaxed);
    } else {
      avail_.flags.store(0, std::memory_order_relaxed);
    }
    // Full fence: our wish is visible before we look at used.idx again.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return HasCompletions();
  }
  void DisableInterrupts() {
    // With EVENT_IDX the device only looks at used_event, which we simply
    // stop advancing; without it, the flag asks for silence.
    if (!event_idx_) avail_.flags.store(kAvailNoInterrupt, std::memory_order_relaxed);
  }

  uint64_t malformed() const { return malformed_; }

 private:
  static constexpr uint16_t kEnd = 0xffff;

  struct InFlight {
    uint64_t cookie;
    uint32_t writable;
    uint16_t count;
    bool busy;
  };

  // Returns a chain to the free list, walking driver-private links only.
  void Release(uint16_t head) {
    InFlight& chain = in_flight_[head];
    uint16_t index = head;
    for (uint16_t i = 0; i + 1 < chain.count; ++i) index = chain_next_[index];
    free_next_[index] = free_head_;
    free_head_ = head;
    free_count_ += chain.count;
    chain.busy = false;
  }

  // ---- Shared with the device ----
  alignas(16) Descriptor descriptors_[kSize] = {};
  alignas(2) AvailRing avail_;
  alignas(4) UsedRing used_;

  // ---- Driver-private ----
  const bool event_idx_;
  uint16_t free_head_ = 0;
  uint16_t free_count_ = kSize;
  uint16_t avail_shadow_ = 0;  // avail.idx as last published
  uint16_t pending_ = 0;       // added, not yet published
  uint16_t last_used_ = 0;     // next used entry to read
  uint64_t malformed_ = 0;
  uint16_t free_next_[kSize];
  uint16_t chain_next_[kSize] = {};
  InFlight in_flight_[kSize] = {};
};

}  // namespace uk::virtio
