#pragma once
// A thread: a stack, its saved stack pointer, and the links that put it on
// exactly one of its core's queues. Threads never migrate: they belong to
// the core whose Scheduler created them, and only that core touches them.

#include <cstddef>
#include <cstdint>

#include "kernel/sched/context.h"

namespace uk::sched {

class WaitSource;

enum class ThreadState : uint8_t {
  kRunnable,  // on the run queue
  kRunning,   // the core is executing it
  kWaiting,   // parked until its WaitSource is ready, or until Unpark()
  kSleeping,  // on the sleep queue until its deadline
  kDone,      // exited; the struct lives on until joined
};

enum class Joinable : uint8_t { kNo, kYes };

struct Thread {
  uintptr_t saved_rsp = 0;
  Thread* next = nullptr;        // run queue or wait list
  Thread* next_timer = nullptr;  // sleep queue (a wait with a deadline is on both)
  Thread* next_all = nullptr;  // the core's list of joinable threads
  ThreadState state = ThreadState::kRunnable;
  Joinable joinable = Joinable::kYes;
  bool timed_out = false;      // set when a wait with a deadline expired
  bool join_claimed = false;   // someone (local or remote) will join it
  uint32_t core = 0;
  uint64_t id = 0;             // unique per core, never reused
  const char* name = "";
  uint64_t deadline_ns = 0;    // kSleeping, or kWaiting with a deadline
  bool on_timer = false;       // linked into the sleep queue
  WaitSource* waiting_on = nullptr;
  Thread* joiner = nullptr;    // a thread of this core blocked in Join()
  ThreadEntry entry = nullptr;
  void* arg = nullptr;
  std::byte* stack = nullptr;
  size_t stack_size = 0;
};

// Written at the lowest word of every stack and checked when the thread
// switches out. The guard page below the stack (Platform::AllocateStack)
// makes an overflow fault as it happens; the canary stays as a second check
// for what the guard cannot see: a stack size that is not a multiple of the
// page size (the slack below the canary is mapped), or a stray write.
inline constexpr uint64_t kStackCanary = 0x57ac6b0770c0ffeeull;

// Intrusive FIFO of threads linked through Thread::next.
class ThreadList {
 public:
  bool empty() const { return head_ == nullptr; }
  Thread* front() const { return head_; }
  void PushBack(Thread* t) {
    t->next = nullptr;
    if (tail_ != nullptr) tail_->next = t;
    else head_ = t;
    tail_ = t;
  }
  Thread* PopFront() {
    Thread* t = head_;
    if (t == nullptr) return nullptr;
    head_ = t->next;
    if (head_ == nullptr) tail_ = nullptr;
    t->next = nullptr;
    return t;
  }
  // Removes `t` if present (O(n)); returns whether it was.
  bool Remove(Thread* t) {
    Thread* prev = nullptr;
    for (Thread* it = head_; it != nullptr; prev = it, it = it->next) {
      if (it != t) continue;
      if (prev != nullptr) prev->next = t->next;
      else head_ = t->next;
      if (tail_ == t) tail_ = prev;
      t->next = nullptr;
      return true;
    }
    return false;
  }

 private:
  Thread* head_ = nullptr;
  Thread* tail_ = nullptr;
};

// Threads ordered by deadline_ns (earliest first), linked through
// Thread::next_timer. Insertion is O(n): a core has few sleepers.
class SleepQueue {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  bool empty() const { return head_ == nullptr; }
  uint64_t NextDeadline() const { return head_ ? head_->deadline_ns : kNever; }
  void Insert(Thread* t) {
    Thread** link = &head_;
    // Equal deadlines keep arrival order.
    while (*link != nullptr && (*link)->deadline_ns <= t->deadline_ns) {
      link = &(*link)->next_timer;
    }
    t->next_timer = *link;
    *link = t;
  }
  // Pops the earliest thread if its deadline is at or before `now_ns`.
  Thread* PopDue(uint64_t now_ns) {
    if (head_ == nullptr || head_->deadline_ns > now_ns) return nullptr;
    Thread* t = head_;
    head_ = t->next_timer;
    t->next_timer = nullptr;
    return t;
  }
  bool Remove(Thread* t) {
    for (Thread** link = &head_; *link != nullptr; link = &(*link)->next_timer) {
      if (*link != t) continue;
      *link = t->next_timer;
      t->next_timer = nullptr;
      return true;
    }
    return false;
  }

 private:
  Thread* head_ = nullptr;
};

}  // namespace uk::sched
