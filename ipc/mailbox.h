#pragma once

// Mailbox: the inbound side of one consumer (a service thread, or a core),
// with one SpscRing per producer so no two producers ever write the same
// word.
//
// Direction: producer p writes only Inbound(p) (its ring's producer side);
// the consumer owns everything else: the consumer side of every ring, the
// round-robin cursor, the congestion marks and the statistics. Nothing in
// the mailbox itself is shared beyond the rings, so its counters are plain
// integers.
//
// Draining is fair: Drain() visits rings round robin, taking at most `burst`
// items per visit, and resumes after the last ring it visited, so a busy
// producer can delay but never starve the others.
//
// Idle predicate: AllEmpty() re-reads every ring's tail; it is the check the
// sleep protocol (wake.h) runs after announcing a halt. On a ring whose
// cached tail already shows an item it costs no shared load at all.
//
// Congestion: CheckCongestion() is true when some item that was already
// published at the previous check is still unread, i.e. the consumer did not
// keep up for a whole check period. The scheduler uses it as a load signal.
//
// Buffers: the mailbox owns the rings' memory (producers * kSlots slots,
// allocated once by the constructor: the producer count is known at run
// time, e.g. the number of cores); referenced bulk data follows message.h.
//
// Portable: freestanding-safe headers only, no #ifdef.

#include <cstdint>

#include "ipc/spsc_ring.h"
#include "ipc/stat_counter.h"

namespace uk::ipc {

// Per-ring counters: written by the consumer only, readable anywhere.
struct RingStats {
  StatCounter messages;    // items drained
  StatCounter high_water;  // most items seen waiting at one drain
  StatCounter congested;   // checks that found a stale item here
};

template <typename T, std::uint32_t kSlots>
class Mailbox {
 public:
  using Ring = SpscRing<T, kSlots>;
  static constexpr std::uint32_t kDefaultBurst = 32;

  // `producers` >= 1 rings, one per producer, allocated here.
  explicit Mailbox(std::uint32_t producers)
      : producers_(producers < 1 ? 1 : producers),
        rings_(new Ring[producers_]),
        congestion_mark_(new typename Ring::Index[producers_]()),
        stats_(new RingStats[producers_]) {}
  ~Mailbox() {
    delete[] rings_;
    delete[] congestion_mark_;
    delete[] stats_;
  }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  std::uint32_t producers() const { return producers_; }

  // The ring producer `producer` writes into. Each producer must use only
  // its own ring, from one context at a time.
  Ring& Inbound(std::uint32_t producer) { return rings_[producer]; }

  // ---- Consumer side ----

  // Visits up to `budget` items as visit(producer, const T&), round robin
  // over the rings, at most `burst` per ring per turn. Stops early after a
  // full round finds nothing. Returns the number of items visited.
  template <typename Visitor>
  std::uint32_t Drain(Visitor&& visit, std::uint32_t budget,
                      std::uint32_t burst = kDefaultBurst) {
    std::uint32_t total = 0;
    std::uint32_t empty_visits = 0;
    while (total < budget && empty_visits < producers_) {
      const std::uint32_t p = cursor_;
      cursor_ = (cursor_ + 1 == producers_) ? 0 : cursor_ + 1;
      const std::uint32_t want =
          (budget - total < burst) ? budget - total : burst;
      Ring& ring = rings_[p];
      const std::uint32_t n = ring.Drain(
          [&visit, p](const T& item) { visit(p, item); }, want);
      if (n == 0) {
        ++empty_visits;
        continue;
      }
      empty_visits = 0;
      total += n;
      RingStats& stats = stats_[p];
      stats.messages += n;
      // Items seen waiting = drained + still visible behind them. A lower
      // bound of the true occupancy, obtained without an extra shared load.
      const std::uint32_t seen =
          n + static_cast<std::uint32_t>(ring.LastSeenTail() -
                                         ring.ReadPosition());
      stats.high_water.RaiseTo(seen);
    }
    return total;
  }

  // True when no ring holds a published, unread item (fresh reads).
  bool AllEmpty() {
    for (std::uint32_t p = 0; p < producers_; ++p) {
      if (!rings_[p].Empty()) return false;
    }
    return true;
  }

  // True if an item already published at the previous call is still unread
  // on any ring. Re-arms the marks with the current tails.
  bool CheckCongestion() {
    bool congested = false;
    for (std::uint32_t p = 0; p < producers_; ++p) {
      Ring& ring = rings_[p];
      if (ring.ReadPosition() < congestion_mark_[p]) {
        congested = true;
        ++stats_[p].congested;
      }
      ring.Occupancy();  // refreshes LastSeenTail() with a fresh read
      congestion_mark_[p] = ring.LastSeenTail();
    }
    return congested;
  }

  const RingStats& stats(std::uint32_t producer) const {
    return stats_[producer];
  }

 private:
  const std::uint32_t producers_;
  Ring* const rings_;
  // Consumer-private state below: written by the consumer only.
  std::uint32_t cursor_ = 0;
  typename Ring::Index* const congestion_mark_;
  RingStats* const stats_;
};

}  // namespace uk::ipc
