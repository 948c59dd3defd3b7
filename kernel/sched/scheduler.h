#pragma once
// The per-core cooperative scheduler.
//
// Each core runs one Scheduler loop on its boot stack. The loop owns the
// core's threads and decides, from queue and ring state alone, what the core
// does next:
//
//   0. the loop's own work (LoopWork: replies unpark their callers);
//   1. threads whose deadline passed become runnable (sleep queue);
//   2. threads parked on a WaitSource (an inbound ring, a device queue) whose
//      source is ready become runnable;
//   3. the first runnable thread runs until it yields, parks or exits;
//   4. with nothing runnable, the core is idle by definition: it polls for
//      the adaptive window, then announces a halt, re-checks steps 1-3 and
//      executes `hlt` (ipc/wake.h has the handshake). A one-shot timer is
//      armed for the earliest deadline, so an idle core takes no periodic
//      interrupt at all.
//
// No thread ever tells the scheduler it is idle; a thread only says what it
// waits for (WaitFor, Park, SleepUntil), and the core halts when nothing it
// waits for has happened.
//
// Threads are cooperative and never migrate. Everything in a Scheduler is
// touched only by its own core, except wake_word() (the halt announcement,
// read by producers on other cores) and the counters (StatCounter: one
// writer, any reader). Interrupt handlers touch only InterruptWake() and
// interrupt counters.
//
// Portable: the hardware sits behind `Platform`; host tests drive the same
// code with a fake clock.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ipc/stat_counter.h"
#include "ipc/wake.h"
#include "kernel/sched/halt_poll.h"
#include "kernel/sched/thread.h"

namespace uk::sched {

inline constexpr uint32_t kMaxCores = 256;

// Something a parked thread waits for. The scheduler calls Ready() from its
// loop and from the idle re-check, so it must be cheap and side-effect free
// (an Empty() check of a ring).
class WaitSource {
 public:
  virtual bool Ready() = 0;

 protected:
  ~WaitSource() = default;
};

// Work the loop does itself, without a thread: the message runtime's reply
// rings (a reply unparks its caller straight from the loop) and its staged
// sends (published once per turn). Poll() runs at the start of every pass of
// the loop, so after every thread run and before the core looks for work;
// Ready() is part of the idle re-check. Neither may block.
class LoopWork {
 public:
  virtual bool Ready() = 0;
  virtual void Poll() = 0;

 protected:
  ~LoopWork() = default;
};

// The per-core hardware seam. Kernel: TSC, LAPIC timer, `sti; hlt`, IPIs
// (KernelPlatform in kernel/top/per_core.cc). Host tests: a fake clock.
class Platform {
 public:
  virtual uint64_t NowNs() = 0;
  virtual uint64_t Cycles() = 0;
  virtual void Pause() = 0;
  // Arms the core's one-shot timer for `deadline_ns` (SleepQueue::kNever:
  // disarm). Called just before a halt.
  virtual void ArmDeadline(uint64_t deadline_ns) = 0;
  // The ipc::WaitSeam operations (see ipc/wake.h for the contract).
  virtual bool SleepUntilWoken(ipc::WakeWord& word) = 0;
  virtual void Wake(ipc::WakeWord& word) = 0;
  // A thread's stack: `size` bytes with an unmapped guard page below, so an
  // overflow faults at once (kernel: kernel/mm/stacks.h; host: mmap).
  // nullptr if out of memory or too large for the platform (kernel: more
  // than 252 KiB). FreeStack gets back what AllocateStack gave.
  virtual void* AllocateStack(size_t size) = 0;
  virtual void FreeStack(void* stack, size_t size) = 0;

 protected:
  ~Platform() = default;
};

// Per-core counters. busy = elapsed - poll - halt.
struct CoreCounters {
  ipc::StatCounter start_cycles;
  ipc::StatCounter poll_cycles;
  ipc::StatCounter halt_cycles;
  ipc::StatCounter halting_since;     // cycles when the current halt began; 0 if running
  ipc::StatCounter poll_hits;         // idle periods ended by work while polling
  ipc::StatCounter context_switches;
  ipc::StatCounter wake_interrupts;   // wake IPIs received
  ipc::StatCounter timer_interrupts;  // one-shot deadlines that fired
  ipc::StatCounter timer_writes;      // timer programming (arm or disarm): a VM exit each under KVM
  ipc::StatCounter messages_out;      // messages this core put in rings
  ipc::StatCounter publishes;         // ring tail stores that made them visible (batches)
  ipc::StatCounter ring_full;         // sends that found the ring full
  ipc::WakerCounters waker;           // wakeups sent / suppressed (as producer)
  ipc::SleeperCounters sleeper;       // halts announced / aborted / slept
};

class Scheduler {
 public:
  static constexpr size_t kDefaultStackSize = 32 * 1024;

  Scheduler(uint32_t core, uint32_t wake_target, Platform& platform,
            HaltPollConfig config = {});
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // ---- The registry of every core's scheduler (filled at boot) ----
  static void Register(Scheduler* scheduler);
  static Scheduler& ForCore(uint32_t core);
  static Scheduler* ForCoreOrNull(uint32_t core);
  static Scheduler& Current();  // the calling core's
  static uint32_t CoreCount();  // registered cores (0..CoreCount()-1)

  // Runs the loop. In the kernel it never returns; host tests call
  // RequestStop(n) (from any thread) and it returns once at most n threads
  // are left (n = the service threads that never exit).
  void Run();
  void RequestStop(uint32_t threads_left = 0);

  // ---- From this core's threads (Spawn also before Run) ----
  // A new runnable thread, or nullptr if there is no memory for its stack or
  // its Thread (or the stack is too large for the platform); then nothing
  // changed. For threads a peer's action or the load asks for (a
  // connection's thread, a queued reply's sender): the caller refuses that
  // work instead of stopping the kernel.
  [[nodiscard]] Thread* TrySpawn(ThreadEntry entry, void* arg, const char* name,
                                 Joinable joinable = Joinable::kYes,
                                 size_t stack_size = kDefaultStackSize);
  // TrySpawn, but a failure is fatal (FATAL, kernel/lib/check.h). For threads the
  // system cannot run without (boot, services, tests), whose failure means
  // the machine is too small to start at all.
  Thread* Spawn(ThreadEntry entry, void* arg, const char* name,
                Joinable joinable = Joinable::kYes,
                size_t stack_size = kDefaultStackSize);
  Thread* current() const { return current_; }
  void Yield();
  void SleepUntil(uint64_t deadline_ns);
  void SleepFor(uint64_t ns) { SleepUntil(NowNs() + ns); }
  // Parks the calling thread until `source.Ready()` or the deadline. Returns
  // false if the deadline passed first (the source may still be ready: look).
  bool WaitFor(WaitSource& source, uint64_t deadline_ns = SleepQueue::kNever);
  // Parks the calling thread until Unpark() or the deadline. Returns false
  // if the deadline passed first.
  bool Park(uint64_t deadline_ns = SleepQueue::kNever);
  // Makes a parked thread of this core runnable (no-op otherwise).
  void Unpark(Thread* thread);
  // Waits for a joinable thread of this core to exit, then frees it.
  void Join(Thread* thread);
  [[noreturn]] void Exit();
  // A joinable, not yet joined thread of this core by id, or nullptr.
  Thread* FindJoinable(uint64_t id) const;

  // ---- Configuration and signals ----
  // The loop's own work (one per core: the message runtime's), set on this
  // core before it runs threads that depend on it.
  void SetLoopWork(LoopWork* work) { loop_work_ = work; }
  void SetIdlePolicy(IdlePolicy policy) { policy_ = policy; }
  IdlePolicy idle_policy() const { return policy_; }
  // A consumer on this core could not keep up (see PlanIdle).
  void NoteCongestion() { congested_ = true; }
  // From an interrupt handler on this core: the interrupt is itself the
  // event, so an announced halt must not go ahead (see Idle()).
  void InterruptWake();
  // Producer half of the wake handshake (ipc/wake.h), run by this core after
  // it published into a ring that `target`'s core consumes: an IPI only if
  // that core announced a halt. Counted in this core's counters.
  bool WakeIfHalted(Scheduler& target);

  uint32_t core() const { return core_; }
  uint64_t NowNs() { return platform_.NowNs(); }
  Platform& platform() { return platform_; }
  ipc::WakeWord& wake_word() { return wake_word_; }
  CoreCounters& counters() { return counters_; }
  const HaltPollWindow& halt_poll() const { return window_; }
  uint32_t thread_count() const { return threads_; }

 private:
  static void ThreadMain(void* thread);
  void SwitchToThread(Thread* thread);  // loop -> thread
  void SwitchToLoop();                  // thread -> loop
  void MakeRunnable(Thread* thread);
  void WakeDueSleepers();
  void WakeReadyWaiters();
  bool HasWork();
  void Idle();
  bool PollFor(uint64_t start_ns, uint64_t budget_ns);
  void Reap(Thread* thread);
  void CheckStack(const Thread& thread) const;
  bool StopReached() const;

  const uint32_t core_;
  Platform& platform_;
  ipc::WakeWord wake_word_;
  CoreCounters counters_;
  HaltPollWindow window_;
  IdlePolicy policy_ = IdlePolicy::kAdaptive;
  bool congested_ = false;
  // An interrupt came since the loop's current pass began (InterruptWake).
  std::atomic<bool> interrupt_pending_{false};
  // Host tests only; -1 = run forever. Atomic: set from another thread.
  std::atomic<int64_t> stop_at_threads_{-1};

  LoopWork* loop_work_ = nullptr;
  uintptr_t loop_rsp_ = 0;
  Thread* current_ = nullptr;
  Thread* exited_ = nullptr;  // set by Exit, reaped by the loop
  ThreadList run_queue_;
  ThreadList waiters_;        // parked on a WaitSource
  SleepQueue sleepers_;       // sleeping, or parked with a deadline
  Thread* joinable_ = nullptr;  // list through next_all
  uint64_t next_thread_id_ = 1;
  uint32_t threads_ = 0;
};

// The calling core's index. Defined by the platform: per-CPU data in the
// kernel, a thread_local in host tests.
uint32_t CurrentCore();

}  // namespace uk::sched
