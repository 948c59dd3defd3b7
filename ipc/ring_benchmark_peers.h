#pragma once

// The three SPSC queues ring_benchmark.cc compares, behind one shape:
//   bool Push(const T&); bool Pop(T*);
//   uint32_t PushBurst(const T*, uint32_t n); uint32_t PopBurst(T*, uint32_t n)
// (bursts may move fewer than n items). Every queue has 1024 slots and is
// used the way its documentation recommends for single producer / single
// consumer. Host only (benchmark support).

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "ipc/spsc_ring.h"

namespace uk::ipc::bench {

inline constexpr std::uint32_t kQueueSlots = 1024;

// Ours. Single ops publish each item; bursts publish once per burst.
template <typename T>
class UkQueue {
 public:
  static constexpr const char* kName = "uk";
  bool Push(const T& item) { return ring_.TryPush(item); }
  bool Pop(T* out) { return ring_.TryPop(out); }
  std::uint32_t PushBurst(const T* items, std::uint32_t n) {
    return ring_.PushBatch(items, n);
  }
  std::uint32_t PopBurst(T* out, std::uint32_t n) {
    return ring_.PopBatch(out, n);
  }

 private:
  SpscRing<T, kQueueSlots> ring_;
};

// boost::lockfree::spsc_queue with a compile-time capacity (its fastest form:
// no heap buffer, no run-time size).
template <typename T>
class BoostQueue {
 public:
  static constexpr const char* kName = "boost";
  bool Push(const T& item) { return queue_.push(item); }
  bool Pop(T* out) { return queue_.pop(*out); }
  std::uint32_t PushBurst(const T* items, std::uint32_t n) {
    return static_cast<std::uint32_t>(queue_.push(items, n));
  }
  std::uint32_t PopBurst(T* out, std::uint32_t n) {
    return static_cast<std::uint32_t>(queue_.pop(out, n));
  }

 private:
  boost::lockfree::spsc_queue<T, boost::lockfree::capacity<kQueueSlots>>
      queue_;
};

// DPDK rte_ring in SP/SC mode, without EAL: the ring lives in our own
// 128-byte aligned memory sized by rte_ring_get_memsize_elem and is set up
// with rte_ring_init. Without RING_F_EXACT_SZ a ring of `count` slots holds
// count - 1 items (1023 here); asking for EXACT_SZ 1024 would double the
// memory to 2048 slots, so we keep the power-of-two default.
template <typename T>
class DpdkQueue {
  static_assert(sizeof(T) % 4 == 0, "rte_ring elements are multiples of 4");

 public:
  static constexpr const char* kName = "dpdk";
  DpdkQueue() {
    const ssize_t bytes = rte_ring_get_memsize_elem(sizeof(T), kQueueSlots);
    if (bytes < 0) std::abort();
    const std::size_t rounded = (static_cast<std::size_t>(bytes) + 127) & ~127u;
    memory_ = std::aligned_alloc(128, rounded);
    ring_ = static_cast<rte_ring*>(memory_);
    if (rte_ring_init(ring_, "bench", kQueueSlots,
                      RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
      std::abort();
    }
  }
  ~DpdkQueue() { std::free(memory_); }
  DpdkQueue(const DpdkQueue&) = delete;
  DpdkQueue& operator=(const DpdkQueue&) = delete;

  bool Push(const T& item) {
    return rte_ring_sp_enqueue_elem(ring_, const_cast<T*>(&item), sizeof(T)) ==
           0;
  }
  bool Pop(T* out) {
    return rte_ring_sc_dequeue_elem(ring_, out, sizeof(T)) == 0;
  }
  std::uint32_t PushBurst(const T* items, std::uint32_t n) {
    return rte_ring_sp_enqueue_burst_elem(ring_, items, sizeof(T), n, nullptr);
  }
  std::uint32_t PopBurst(T* out, std::uint32_t n) {
    return rte_ring_sc_dequeue_burst_elem(ring_, out, sizeof(T), n, nullptr);
  }

 private:
  void* memory_ = nullptr;
  rte_ring* ring_ = nullptr;
};

}  // namespace uk::ipc::bench
