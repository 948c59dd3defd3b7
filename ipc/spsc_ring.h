#pragma once

// SpscRing: the single-producer single-consumer ring every cross-core message
// travels through.
//
// Direction: exactly one producer context writes, exactly one consumer context
// reads. Neither side ever takes a lock; each side only ever writes its own
// cache lines, plus the slots it currently owns.
//
// Layout (all four blocks are kFalseSharingRange apart):
//
//   producer_    producer-private: next slot to write, cached copy of head.
//   tail_        written by the producer only (release), read by the consumer.
//   head_        written by the consumer only (release), read by the producer.
//   consumer_    consumer-private: next slot to read, cached copy of tail.
//   slots_       kSlots entries of T. Message rings use T = Message, one
//                64-byte cache line per slot (static_assert'ed in message.h).
//
// Indices are free-running 64-bit counters (they never wrap in practice: at
// 10^10 messages a second that takes 58 years), so "full" is
// `tail - head == kSlots` and every slot is usable.
//
// Slot ownership: the slot of item i (`slots_[i & kMask]`) belongs to the
// producer until its release store makes `tail_ > i`, then to the consumer
// until its release store makes `head_ > i`, then to the producer again (for
// item i + kSlots). The word written last by the producer for a batch is
// `tail_`; the word written last by the consumer for a batch is `head_`.
//
// Cached indices: each side keeps a private copy of the other side's index
// and only re-reads the shared line when the copy says "full" (producer) or
// "not enough" (consumer). In steady streaming a side touches the other side's
// line once per lap or per batch, not once per message. (An in-slot sequence
// word was the alternative; it costs 8 of the 64 bytes of every message slot
// and doubles the size of 8-byte slots, so cached indices won by design.)
//
// Batching: TryStage/TryClaim+Commit append without publishing; Publish makes
// the whole batch visible with one release store. On the consumer side
// Peek/Consume advance privately and Release returns the whole batch with one
// release store. PushBatch, PopBatch and Drain wrap those.
//
// Buffers: the ring owns no memory outside itself; T must be trivially
// copyable. What a slot *refers to* (bulk data) follows the rules in
// message.h.
//
// Portable: freestanding-safe headers only, no #ifdef.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ipc/cache_line.h"

namespace uk::ipc {

template <typename T, std::uint32_t kSlots>
class SpscRing {
  static_assert(kSlots >= 2 && std::has_single_bit(kSlots),
                "slot count must be a power of two");
  static_assert(std::is_trivially_copyable_v<T>,
                "slots are copied as bytes between cores");
  static_assert(std::is_default_constructible_v<T>);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                "ring indices must not fall back to a lock");

 public:
  using Index = std::uint64_t;
  static constexpr std::uint32_t kCapacity = kSlots;
  static constexpr Index kMask = kSlots - 1;

  SpscRing() = default;
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // ---- Producer side (one context only) ----

  // Returns the next free slot for in-place writing, or nullptr if the ring
  // is full. The slot becomes part of the pending batch only after Commit().
  T* TryClaim() {
    if (!HasFreeSlots(1)) return nullptr;
    return &slots_[producer_.next & kMask];
  }

  // Appends the slot returned by the last TryClaim() to the pending batch.
  void Commit() { ++producer_.next; }

  // Copies `item` into the pending batch; false if the ring is full.
  bool TryStage(const T& item) {
    T* slot = TryClaim();
    if (slot == nullptr) return false;
    *slot = item;
    Commit();
    return true;
  }

  // Makes every staged item visible to the consumer with one store.
  void Publish() {
    // Release: every slot write above (sequenced before this store) becomes
    // visible to a consumer whose acquire load of tail_ reads this value.
    tail_.value.store(producer_.next, std::memory_order_release);
  }

  // Stages and publishes one item; false if the ring is full.
  bool TryPush(const T& item) {
    if (!TryStage(item)) return false;
    Publish();
    return true;
  }

  // Copies up to `count` items and publishes them with one store. Returns how
  // many were copied (fewer than `count` only if the ring filled up).
  std::uint32_t PushBatch(const T* items, std::uint32_t count) {
    std::uint32_t n = FreeSlotsAtLeast(count);
    if (n > count) n = count;
    for (std::uint32_t i = 0; i < n; ++i) {
      slots_[(producer_.next + i) & kMask] = items[i];
    }
    producer_.next += n;
    if (n != 0) Publish();
    return n;
  }

  // Producer's view of free slots (refreshes the cached head).
  std::uint32_t FreeSlots() { return FreeSlotsAtLeast(kSlots); }

  // Items staged but not yet published.
  std::uint32_t Unpublished() const {
    // Relaxed: tail_ is only ever written by this (the producer) context.
    return static_cast<std::uint32_t>(
        producer_.next - tail_.value.load(std::memory_order_relaxed));
  }

  // ---- Consumer side (one context only) ----

  // Returns the oldest unread item, or nullptr if none is visible. The item
  // stays valid (the producer cannot overwrite it) until Release().
  const T* Peek() {
    if (Available(1) == 0) return nullptr;
    return &slots_[consumer_.next & kMask];
  }

  // Marks the item returned by Peek() as read (not yet handed back).
  void Consume() { ++consumer_.next; }

  // Hands every consumed slot back to the producer with one store.
  void Release() {
    // Release: our reads of the consumed slots happen-before the producer's
    // acquire load that observes this head, so it cannot overwrite a slot we
    // are still reading (a load-store reordering on weakly ordered CPUs).
    head_.value.store(consumer_.next, std::memory_order_release);
  }

  // Pops one item into *out; false if the ring is empty.
  bool TryPop(T* out) {
    const T* item = Peek();
    if (item == nullptr) return false;
    *out = *item;
    Consume();
    Release();
    return true;
  }

  // Copies up to `max` items into `out` and releases them with one store.
  std::uint32_t PopBatch(T* out, std::uint32_t max) {
    const std::uint32_t n = Available(max);
    for (std::uint32_t i = 0; i < n; ++i) {
      out[i] = slots_[(consumer_.next + i) & kMask];
    }
    consumer_.next += n;
    if (n != 0) Release();
    return n;
  }

  // Calls `visit(const T&)` on up to `max` items in place (no copy), then
  // releases them with one store. Returns how many were visited.
  template <typename Visitor>
  std::uint32_t Drain(Visitor&& visit, std::uint32_t max) {
    const std::uint32_t n = Available(max);
    for (std::uint32_t i = 0; i < n; ++i) {
      visit(static_cast<const T&>(slots_[(consumer_.next + i) & kMask]));
    }
    consumer_.next += n;
    if (n != 0) Release();
    return n;
  }

  // Fresh check (re-reads tail_): true when no published item is unread.
  // This is the check the idle predicate and the sleep protocol rely on.
  bool Empty() { return Available(1) == 0; }

  // Published-but-unread items, freshly read.
  std::uint32_t Occupancy() { return Available(kSlots); }

  // Consumer-side positions, for the mailbox's congestion signal: the index
  // of the next item to read, and the published end seen by the last fresh
  // read of tail_.
  Index ReadPosition() const { return consumer_.next; }
  Index LastSeenTail() const { return consumer_.cached_tail; }

 private:
  // Producer: how many slots are free, re-reading head_ only if the cached
  // copy shows fewer than `wanted`.
  std::uint32_t FreeSlotsAtLeast(std::uint32_t wanted) {
    Index used = producer_.next - producer_.cached_head;
    if (kSlots - used < wanted) {
      // Acquire: pairs with the consumer's release store of head_, so the
      // consumer's reads of the slots it released are complete before we
      // overwrite them.
      producer_.cached_head = head_.value.load(std::memory_order_acquire);
      used = producer_.next - producer_.cached_head;
    }
    return static_cast<std::uint32_t>(kSlots - used);
  }

  bool HasFreeSlots(std::uint32_t wanted) {
    return FreeSlotsAtLeast(wanted) >= wanted;
  }

  // Consumer: how many items (at most `max`) are readable, re-reading tail_
  // only if the cached copy shows fewer than `max`.
  std::uint32_t Available(std::uint32_t max) {
    Index ready = consumer_.cached_tail - consumer_.next;
    if (ready < max) {
      // Acquire: pairs with the producer's release store in Publish(); slot
      // contents written before that store are visible to our reads.
      consumer_.cached_tail = tail_.value.load(std::memory_order_acquire);
      ready = consumer_.cached_tail - consumer_.next;
    }
    return static_cast<std::uint32_t>(ready < max ? ready : max);
  }

  struct alignas(kFalseSharingRange) ProducerPrivate {
    Index next = 0;         // next slot to write; tail_ <= next
    Index cached_head = 0;  // last head_ value read; <= head_
  };
  struct alignas(kFalseSharingRange) ConsumerPrivate {
    Index next = 0;         // next slot to read; head_ <= next <= tail_
    Index cached_tail = 0;  // last tail_ value read; <= tail_
  };
  struct alignas(kFalseSharingRange) SharedIndex {
    std::atomic<Index> value{0};
  };

  static_assert(sizeof(SharedIndex) == kFalseSharingRange);
  static_assert(sizeof(ProducerPrivate) == kFalseSharingRange);
  static_assert(sizeof(ConsumerPrivate) == kFalseSharingRange);

  ProducerPrivate producer_;
  SharedIndex tail_;  // producer writes, consumer reads
  SharedIndex head_;  // consumer writes, producer reads
  ConsumerPrivate consumer_;
  alignas(kFalseSharingRange) std::array<T, kSlots> slots_{};
};

}  // namespace uk::ipc
