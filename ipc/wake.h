#pragma once

// The sleep/wake handshake: a consumer halts only when every inbound ring is
// empty, and a producer wakes it only when it actually announced a halt.
//
// The shared word: one WakeWord per sleeping consumer (per core in the
// kernel). Its `state` is the only word written by both sides:
//   - the consumer writes kHaltAnnounced (announce) and kRunning (cancel, or
//     clear after waking);
//   - a producer writes kRunning, with an exchange, to claim the right to
//     send the one wakeup for this announcement.
//   `target` is written once before use (the sleeper's core id for an IPI)
//   and is read-only afterwards.
//
// Consumer (SleepUnlessWork):           Producer (WakeIfHalted):
//   state = kHaltAnnounced                publish (release store of tail)
//   fence(seq_cst)                        fence(seq_cst)
//   if any inbound ring is non-empty:     if state == kHaltAnnounced and
//     state = kRunning; return              exchange(state, kRunning) was
//   sleep while state == kHaltAnnounced        kHaltAnnounced:
//   state = kRunning                        Wake(word)
//
// Why no wakeup is lost: the two seq_cst fences are totally ordered. If the
// producer's fence comes first, its tail store is visible to the consumer's
// re-check, which then cancels. If the consumer's fence comes first, its
// announcement is visible to the producer's load, which then claims and
// wakes; the seam's sleep re-checks `state` atomically with going to sleep
// (futex compare, or cli + check + sti;hlt), so a wake that races ahead of
// the sleep finds state == kRunning and the sleep does not happen. The
// exchange makes exactly one producer send a wakeup per announcement.
// ipc/handshake_model_test.cc checks this exhaustively on an x86-TSO model,
// and shows that dropping either fence, the re-check or the claim loses a
// wakeup. It and ipc/handshake.pml also model interrupts on the consumer's
// core, taken before any step and while halted: each handler sets a pending
// flag that the loop clears at the start of a pass and the re-check reads,
// and the older order without that flag is shown to lose an interrupt taken
// between ArmDeadline and the announce.
//
// Why no wakeup goes to a running consumer: the producer wakes only after
// seeing kHaltAnnounced. The one exception is the race where the consumer's
// re-check found work and cancels while a producer already claimed: the
// consumer then counts a `stray_wakeups` (the wakeup is harmless: a futex
// wake with no waiter, or an IPI that at worst ends a later halt early).
//
// Counters are per side, one writer each (StatCounter: readable anywhere).
//
// Portable: freestanding-safe headers only, no #ifdef.

#include <atomic>
#include <concepts>
#include <cstdint>

#include "ipc/cache_line.h"
#include "ipc/stat_counter.h"

namespace uk::ipc {

inline constexpr std::uint32_t kRunning = 0;
inline constexpr std::uint32_t kHaltAnnounced = 1;

// On its own line(s): producers read it after every publish, so it must not
// share a line with anything written often.
struct alignas(kFalseSharingRange) WakeWord {
  std::atomic<std::uint32_t> state{kRunning};
  std::uint32_t target = 0;  // seam-specific id of the sleeper (e.g. APIC id)
};
static_assert(sizeof(WakeWord) == kFalseSharingRange);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "futex and kernel code treat state as a plain 32-bit word");

// The platform operations the protocol needs. Contract:
//   Pause():  a polite spin-wait hint (x86 `pause`).
//   SleepUntilWoken(word): blocks until Wake(word), but must not block if
//     word.state != kHaltAnnounced at the instant it would block (the check
//     and the block are atomic with respect to Wake). May return early.
//     Returns true if it really blocked (halted, futex-slept).
//   Wake(word): ends a current or imminent SleepUntilWoken(word). Called
//     only after word.state was set to kRunning.
template <typename S>
concept WaitSeam = requires(S& seam, WakeWord& word) {
  { seam.Pause() } -> std::same_as<void>;
  { seam.SleepUntilWoken(word) } -> std::same_as<bool>;
  { seam.Wake(word) } -> std::same_as<void>;
};

// Producer-private counters (one per producer context).
struct WakerCounters {
  StatCounter wakeups_sent;
  StatCounter wakeups_suppressed;  // consumer running, or already claimed
};

// Consumer-private counters.
struct SleeperCounters {
  StatCounter announces;      // halts announced
  StatCounter aborted;        // re-check after the fence found work
  StatCounter sleeps;         // the seam really blocked
  StatCounter sleep_skipped;  // woken before it could block
  StatCounter stray_wakeups;  // a producer claimed a wake we cancelled
};

enum class SleepOutcome { kWorkFound, kWoken };

// Producer: call after Publish() (once per published batch). Returns true if
// it sent a wakeup.
template <WaitSeam Seam>
bool WakeIfHalted(Seam& seam, WakeWord& word, WakerCounters& counters) {
  // seq_cst fence: orders our earlier tail store before the load below
  // (store->load order, which release/acquire do not give; x86 reorders it
  // through the store buffer). Pairs with the consumer's fence.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Relaxed: the fence above provides the ordering; no data is read through
  // this word.
  if (word.state.load(std::memory_order_relaxed) != kHaltAnnounced ||
      // Relaxed: the exchange only elects one waker; the consumer reads ring
      // data through the rings' own acquire loads.
      word.state.exchange(kRunning, std::memory_order_relaxed) !=
          kHaltAnnounced) {
    ++counters.wakeups_suppressed;
    return false;
  }
  seam.Wake(word);
  ++counters.wakeups_sent;
  return true;
}

// Consumer: announce, fence, re-check `has_work()` (every inbound ring), and
// sleep only if it is still false. Returns kWorkFound if the re-check found
// work, kWoken after a sleep (or an early return of the seam); either way the
// caller drains its rings next and calls again when they are empty.
template <WaitSeam Seam, typename HasWork>
SleepOutcome SleepUnlessWork(Seam& seam, WakeWord& word, HasWork&& has_work,
                             SleeperCounters& counters) {
  ++counters.announces;
  // Relaxed: ordered before the re-check by the fence below.
  word.state.store(kHaltAnnounced, std::memory_order_relaxed);
  // seq_cst fence: our announcement is ordered before the ring re-check
  // (store->load). Pairs with the fence in WakeIfHalted.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_work()) {
    ++counters.aborted;
    // Relaxed exchange: only tells whether a producer already claimed this
    // announcement (then its wakeup is in flight to a running consumer).
    if (word.state.exchange(kRunning, std::memory_order_relaxed) == kRunning) {
      ++counters.stray_wakeups;
    }
    return SleepOutcome::kWorkFound;
  }
  if (seam.SleepUntilWoken(word)) {
    ++counters.sleeps;
  } else {
    ++counters.sleep_skipped;
  }
  // Relaxed: a plain reset after a wake (or an early return). The next
  // announcement is again followed by a fence and a re-check, which is what
  // makes the handshake safe; this store needs no ordering of its own.
  word.state.store(kRunning, std::memory_order_relaxed);
  return SleepOutcome::kWoken;
}

// Consumer: poll `has_work()` up to `poll_iterations` times (the halt-poll
// window, chosen by the scheduler's policy), then fall back to the handshake.
template <WaitSeam Seam, typename HasWork>
SleepOutcome PollThenSleep(Seam& seam, WakeWord& word, HasWork&& has_work,
                           std::uint32_t poll_iterations,
                           SleeperCounters& counters) {
  for (std::uint32_t i = 0; i < poll_iterations; ++i) {
    if (has_work()) return SleepOutcome::kWorkFound;
    seam.Pause();
  }
  return SleepUnlessWork(seam, word, has_work, counters);
}

}  // namespace uk::ipc
