#pragma once
// A test-and-test-and-set spin lock for the few places that are truly shared
// between cores (the page allocator, the console). Holders keep interrupts
// off so an interrupt handler on the same core cannot spin on a lock its own
// core holds. Message passing through ipc/ rings is the normal way cores
// cooperate; a lock here is the exception and its critical sections are a
// handful of instructions.

#include <atomic>

#include "kernel/arch/cpu.h"

namespace uk {

class SpinLock {
 public:
  void Lock() {
    // Acquire pairs with Unlock's release: the critical section of the
    // previous holder happens-before ours.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      // Spin on a plain load so waiting cores share the line instead of
      // bouncing it with writes; `pause` yields the pipeline (and, under
      // KVM, lets pause-loop exiting deschedule a vCPU that waits too long).
      while (locked_.load(std::memory_order_relaxed)) arch::Pause();
    }
  }
  // Bounded acquire for the panic path, where the holder may be stopped.
  bool TryLockFor(int spins) {
    for (int i = 0; i < spins; ++i) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return true;
      arch::Pause();
    }
    return false;
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// Holds `lock` with interrupts disabled for the lifetime of the guard.
class SpinLockGuard {
 public:
  explicit SpinLockGuard(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockGuard() { lock_.Unlock(); }
  SpinLockGuard(const SpinLockGuard&) = delete;
  SpinLockGuard& operator=(const SpinLockGuard&) = delete;

 private:
  arch::InterruptGuard interrupts_off_;  // constructed first, released last
  SpinLock& lock_;
};

}  // namespace uk
