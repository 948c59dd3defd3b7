#include "kernel/sched/scheduler.h"

#include <atomic>
#include <new>

#include "kernel/lib/check.h"

namespace uk::sched {
namespace {

// Filled at boot before any core runs its loop; read-only afterwards.
// Release/acquire: a core that finds a scheduler here sees it constructed.
std::atomic<Scheduler*> registry[kMaxCores];
std::atomic<uint32_t> registered_cores{0};

// kPoll polls in slices of this length so the loop still runs its checks.
constexpr uint64_t kPollSliceNs = 10'000'000;

// Adapts a Platform to the ipc::WaitSeam concept.
struct PlatformSeam {
  Platform& platform;
  void Pause() { platform.Pause(); }
  bool SleepUntilWoken(ipc::WakeWord& word) { return platform.SleepUntilWoken(word); }
  void Wake(ipc::WakeWord& word) { platform.Wake(word); }
};
static_assert(ipc::WaitSeam<PlatformSeam>);

}  // namespace

Scheduler::Scheduler(uint32_t core, uint32_t wake_target, Platform& platform,
                     HaltPollConfig config)
    : core_(core), platform_(platform), window_(config) {
  wake_word_.target = wake_target;
}

void Scheduler::Register(Scheduler* scheduler) {
  if (scheduler->core_ >= kMaxCores) FATAL("scheduler: core index out of range");
  registry[scheduler->core_].store(scheduler, std::memory_order_release);
  uint32_t count = registered_cores.load(std::memory_order_relaxed);
  // Relaxed CAS loop: only the count itself is published here; the entry was
  // released above. Cores register concurrently at boot.
  while (count < scheduler->core_ + 1 &&
         !registered_cores.compare_exchange_weak(count, scheduler->core_ + 1,
                                                 std::memory_order_relaxed)) {
  }
}

Scheduler* Scheduler::ForCoreOrNull(uint32_t core) {
  return core < kMaxCores ? registry[core].load(std::memory_order_acquire) : nullptr;
}

Scheduler& Scheduler::ForCore(uint32_t core) {
  Scheduler* s = ForCoreOrNull(core);
  if (s == nullptr) FATAL("scheduler: no scheduler registered for that core");
  return *s;
}

Scheduler& Scheduler::Current() { return ForCore(CurrentCore()); }

uint32_t Scheduler::CoreCount() {
  return registered_cores.load(std::memory_order_relaxed);
}

// ---- Threads ----

Thread* Scheduler::TrySpawn(ThreadEntry entry, void* arg, const char* name,
                            Joinable joinable, size_t stack_size) {
  // The nothrow operator new: the plain one panics when the kernel heap is
  // out of memory.
  auto* t = new (std::nothrow) Thread;
  if (t == nullptr) return nullptr;
  t->stack = static_cast<std::byte*>(platform_.AllocateStack(stack_size));
  if (t->stack == nullptr) {
    delete t;
    return nullptr;
  }
  t->core = core_;
  t->id = next_thread_id_++;
  t->name = name;
  t->joinable = joinable;
  t->entry = entry;
  t->arg = arg;
  t->stack_size = stack_size;
  __builtin_memcpy(t->stack, &kStackCanary, sizeof(kStackCanary));
  t->saved_rsp = PrepareContext(t->stack, stack_size, &Scheduler::ThreadMain, t);
  if (joinable == Joinable::kYes) {
    t->next_all = joinable_;
    joinable_ = t;
  }
  ++threads_;
  MakeRunnable(t);
  return t;
}

Thread* Scheduler::Spawn(ThreadEntry entry, void* arg, const char* name,
                         Joinable joinable, size_t stack_size) {
  Thread* t = TrySpawn(entry, arg, name, joinable, stack_size);
  if (t == nullptr) FATAL("scheduler: no thread stack: out of memory, or too large");
  return t;
}

void Scheduler::ThreadMain(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  t->entry(t->arg);
  ForCore(t->core).Exit();
}

void Scheduler::Exit() {
  Thread* t = current_;
  t->state = ThreadState::kDone;
  if (t->joiner != nullptr) Unpark(t->joiner);
  exited_ = t;
  SwitchToLoop();
  FATAL("scheduler: an exited thread was resumed");
}

void Scheduler::Join(Thread* t) {
  if (t == nullptr || t->core != core_ || t->joinable != Joinable::kYes ||
      t == current_ || t->joiner != nullptr) {
    FATAL("scheduler: Join: not a joinable thread of this core");
  }
  t->join_claimed = true;
  if (t->state != ThreadState::kDone) {
    t->joiner = current_;
    while (t->state != ThreadState::kDone) Park();
  }
  // Unlink from the joinable list and free what Exit left.
  for (Thread** link = &joinable_; *link != nullptr; link = &(*link)->next_all) {
    if (*link == t) {
      *link = t->next_all;
      break;
    }
  }
  delete t;
}

Thread* Scheduler::FindJoinable(uint64_t id) const {
  for (Thread* t = joinable_; t != nullptr; t = t->next_all) {
    if (t->id == id) return t;
  }
  return nullptr;
}

void Scheduler::Yield() {
  MakeRunnable(current_);
  SwitchToLoop();
}

void Scheduler::SleepUntil(uint64_t deadline_ns) {
  Thread* t = current_;
  t->state = ThreadState::kSleeping;
  t->deadline_ns = deadline_ns;
  t->on_timer = true;
  sleepers_.Insert(t);
  SwitchToLoop();
}

bool Scheduler::WaitFor(WaitSource& source, uint64_t deadline_ns) {
  if (source.Ready()) return true;
  Thread* t = current_;
  t->state = ThreadState::kWaiting;
  t->waiting_on = &source;
  t->timed_out = false;
  waiters_.PushBack(t);
  if (deadline_ns != SleepQueue::kNever) {  // on both lists; the first to fire wins
    t->deadline_ns = deadline_ns;
    t->on_timer = true;
    sleepers_.Insert(t);
  }
  SwitchToLoop();
  return !t->timed_out;
}

bool Scheduler::Park(uint64_t deadline_ns) {
  Thread* t = current_;
  t->state = ThreadState::kWaiting;
  t->timed_out = false;
  if (deadline_ns != SleepQueue::kNever) {
    t->deadline_ns = deadline_ns;
    t->on_timer = true;
    sleepers_.Insert(t);
  }
  SwitchToLoop();
  return !t->timed_out;
}

void Scheduler::Unpark(Thread* t) {
  if (t->state != ThreadState::kWaiting || t->waiting_on != nullptr) return;
  if (t->on_timer) {
    sleepers_.Remove(t);
    t->on_timer = false;
  }
  MakeRunnable(t);
}

void Scheduler::MakeRunnable(Thread* t) {
  t->state = ThreadState::kRunnable;
  run_queue_.PushBack(t);
}

bool Scheduler::WakeIfHalted(Scheduler& target) {
  PlatformSeam seam{platform_};
  return ipc::WakeIfHalted(seam, target.wake_word_, counters_.waker);
}

void Scheduler::InterruptWake() {
  // An interrupt is an event like a message in a ring: the loop clears the
  // flag at the start of every pass and the idle re-check (HasWork) reads
  // it, so an interrupt that lands anywhere in the idle sequence, even
  // before the announcement that would overwrite the store below, cancels
  // the halt. Relaxed: the flag is written and read on this core only (an
  // interrupt sees its core's earlier stores in program order).
  interrupt_pending_.store(true, std::memory_order_relaxed);
  // Stops a halt that was announced but not yet executed; the platform's
  // SleepUntilWoken reads the word with interrupts off. The interrupt itself
  // already ended (or will end) any `hlt`.
  wake_word_.state.store(ipc::kRunning, std::memory_order_relaxed);
}

// ---- Switching ----

void Scheduler::SwitchToThread(Thread* t) {
  t->state = ThreadState::kRunning;
  current_ = t;
  ++counters_.context_switches;
  SwitchContext(&loop_rsp_, t->saved_rsp);
  current_ = nullptr;
  CheckStack(*t);
  if (exited_ != nullptr) {
    Reap(exited_);
    exited_ = nullptr;
  }
}

void Scheduler::SwitchToLoop() { SwitchContext(&current_->saved_rsp, loop_rsp_); }

void Scheduler::CheckStack(const Thread& t) const {
  uint64_t canary;
  __builtin_memcpy(&canary, t.stack, sizeof(canary));
  if (canary != kStackCanary) FATAL("scheduler: thread overflowed its stack");
}

void Scheduler::Reap(Thread* t) {
  // The thread no longer runs on its stack: the loop switched away from it.
  platform_.FreeStack(t->stack, t->stack_size);
  t->stack = nullptr;
  --threads_;
  if (t->joinable == Joinable::kNo) delete t;
}

// ---- The loop ----

void Scheduler::Run() {
  counters_.start_cycles.Set(platform_.Cycles());
  for (;;) {
    // Before looking for work: an interrupt from here on is seen by this
    // pass or by the idle re-check (ipc/handshake_model_test.cc proves it).
    interrupt_pending_.store(false, std::memory_order_relaxed);
    if (loop_work_ != nullptr) loop_work_->Poll();
    WakeDueSleepers();
    WakeReadyWaiters();
    if (Thread* t = run_queue_.PopFront()) {
      SwitchToThread(t);
      continue;
    }
    if (StopReached()) return;
    Idle();
  }
}

void Scheduler::WakeDueSleepers() {
  if (sleepers_.empty()) return;
  const uint64_t now = platform_.NowNs();
  while (Thread* t = sleepers_.PopDue(now)) {
    t->on_timer = false;
    if (t->state == ThreadState::kWaiting) {
      t->timed_out = true;
      if (t->waiting_on != nullptr) {
        waiters_.Remove(t);
        t->waiting_on = nullptr;
      }
    }
    MakeRunnable(t);
  }
}

void Scheduler::WakeReadyWaiters() {
  Thread* t = waiters_.front();
  while (t != nullptr) {
    Thread* next = t->next;
    if (t->waiting_on->Ready()) {
      waiters_.Remove(t);
      t->waiting_on = nullptr;
      if (t->on_timer) {
        sleepers_.Remove(t);
        t->on_timer = false;
      }
      MakeRunnable(t);
    }
    t = next;
  }
}

bool Scheduler::HasWork() {
  if (!run_queue_.empty()) return true;
  if (interrupt_pending_.load(std::memory_order_relaxed)) return true;
  if (loop_work_ != nullptr && loop_work_->Ready()) return true;
  if (!sleepers_.empty() && sleepers_.NextDeadline() <= platform_.NowNs()) return true;
  for (Thread* t = waiters_.front(); t != nullptr; t = t->next) {
    if (t->waiting_on->Ready()) return true;
  }
  return StopReached();
}

void Scheduler::RequestStop(uint32_t threads_left) {
  // Release/acquire: nothing else is published; the IPI-equivalent wake
  // below makes a halted core look.
  stop_at_threads_.store(threads_left, std::memory_order_release);
  WakeIfHalted(*this);
}

bool Scheduler::StopReached() const {
  const int64_t at = stop_at_threads_.load(std::memory_order_acquire);
  return at >= 0 && threads_ <= static_cast<uint64_t>(at);
}

bool Scheduler::PollFor(uint64_t start_ns, uint64_t budget_ns) {
  if (budget_ns > kPollSliceNs) budget_ns = kPollSliceNs;
  for (;;) {
    if (HasWork()) return true;
    if (platform_.NowNs() - start_ns >= budget_ns) return false;
    platform_.Pause();
  }
}

// Nothing is runnable. Poll for the planned window; if nothing arrives,
// halt through the handshake of ipc/wake.h, whose re-check is HasWork():
// every ring a thread waits on, every deadline, the run queue, and whether
// an interrupt came since this pass of the loop began. Interrupts that
// matter (timer, device, wake IPI) call InterruptWake(), which sets that
// flag and cancels an announced halt, so an interrupt is not lost wherever
// it lands: before the announcement (the flag), between the re-check and
// `hlt` (the word). The timer is armed before the announcement; an
// interrupt that disarms it in between (TimerFired) makes the re-check
// cancel, and the next Idle() arms it again.
void Scheduler::Idle() {
  const uint64_t start_cycles = platform_.Cycles();
  const uint64_t start_ns = platform_.NowNs();
  const IdlePlan plan = PlanIdle(policy_, window_, congested_);
  congested_ = false;

  const bool found = plan.poll_ns != 0 && PollFor(start_ns, plan.poll_ns);
  const uint64_t polled = platform_.Cycles();
  counters_.poll_cycles += polled - start_cycles;
  if (found) {
    ++counters_.poll_hits;
    window_.Update(platform_.NowNs() - start_ns, /*halted=*/false);
    return;
  }
  if (!plan.may_halt) return;

  platform_.ArmDeadline(sleepers_.NextDeadline());
  PlatformSeam seam{platform_};
  const uint64_t slept_before = counters_.sleeper.sleeps;
  counters_.halting_since.Set(polled);
  ipc::SleepUnlessWork(seam, wake_word_, [this] { return HasWork(); },
                       counters_.sleeper);
  counters_.halt_cycles += platform_.Cycles() - polled;
  counters_.halting_since.Set(0);
  const bool halted = counters_.sleeper.sleeps != slept_before;
  window_.Update(platform_.NowNs() - start_ns, halted);
}

}  // namespace uk::sched
