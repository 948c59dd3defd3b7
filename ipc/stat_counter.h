#pragma once

// StatCounter: a statistic written by one context and read by anyone.
//
// Counters are bumped on hot paths by the one core (or thread) that owns
// them, and read now and then by another core that prints or serves them.
// A plain integer would make those reads a data race; a locked increment
// would cost a bus lock per message. A relaxed load followed by a relaxed
// store compiles to the same plain `mov`/`add` as an integer on x86-64, yet
// readers always see some value the writer stored (never a torn one).
// It is correct only with a single writer, which every user guarantees.
//
// Portable: freestanding-safe headers only, no #ifdef.

#include <atomic>
#include <cstdint>

namespace uk::ipc {

class StatCounter {
 public:
  constexpr StatCounter() = default;
  StatCounter(const StatCounter&) = delete;
  StatCounter& operator=(const StatCounter&) = delete;

  // Relaxed: a statistic orders nothing; single writer, so load+store
  // cannot lose an update.
  void Add(std::uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n,
                 std::memory_order_relaxed);
  }
  void Set(std::uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  // Keeps the maximum (high-water marks).
  void RaiseTo(std::uint64_t v) {
    if (v > Get()) Set(v);
  }
  std::uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

  StatCounter& operator++() {
    Add(1);
    return *this;
  }
  StatCounter& operator+=(std::uint64_t n) {
    Add(n);
    return *this;
  }
  operator std::uint64_t() const { return Get(); }  // NOLINT: reads like an integer

 private:
  std::atomic<std::uint64_t> value_{0};
};
static_assert(sizeof(StatCounter) == sizeof(std::uint64_t));

}  // namespace uk::ipc
