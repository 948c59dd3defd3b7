#include "kernel/sched/scheduler.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernel/sched/fake_platform.h"

namespace uk::sched {
namespace {

// Each test drives one core: a Scheduler on the test's own thread with a
// fake clock. Threads are real (own stacks, real context switches).
class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : sched_(0, 0, platform_) {
    SetCurrentCoreForTest(0);
    Scheduler::Register(&sched_);
  }

  // Spawns `fn` as a thread; the test body's lambdas capture `this`.
  template <typename Fn>
  Thread* Go(Fn* fn, const char* name, Joinable joinable = Joinable::kNo) {
    return sched_.Spawn([](void* arg) { (*static_cast<Fn*>(arg))(); }, fn, name, joinable);
  }

  void RunToCompletion() {
    sched_.RequestStop();
    sched_.Run();
  }

  FakePlatform platform_;
  Scheduler sched_;
  std::vector<std::string> log_;
};

// A wait source backed by a flag the test's events set.
struct FlagSource : WaitSource {
  bool ready = false;
  bool Ready() override { return ready; }
};

TEST_F(SchedulerTest, YieldRunsThreadsRoundRobin) {
  auto body = [this](const char* name) {
    for (int i = 0; i < 3; ++i) {
      log_.push_back(name + std::to_string(i));
      Scheduler::Current().Yield();
    }
  };
  auto a = [&] { body("a"); };
  auto b = [&] { body("b"); };
  Go(&a, "a");
  Go(&b, "b");
  RunToCompletion();
  EXPECT_EQ(log_, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
  EXPECT_EQ(sched_.thread_count(), 0u);
}

TEST_F(SchedulerTest, JoinWaitsForExitAndFreesTheThread) {
  int result = 0;
  auto worker = [&] {
    Scheduler::Current().SleepFor(1000);
    result = 42;
  };
  auto main = [&] {
    Thread* t = Scheduler::Current().Spawn(
        [](void* fn) { (*static_cast<decltype(worker)*>(fn))(); }, &worker, "worker");
    const uint64_t id = t->id;
    EXPECT_EQ(Scheduler::Current().FindJoinable(id), t);
    Scheduler::Current().Join(t);
    EXPECT_EQ(result, 42);
    EXPECT_EQ(Scheduler::Current().FindJoinable(id), nullptr);
  };
  Go(&main, "main");
  RunToCompletion();
  EXPECT_EQ(result, 42);
  EXPECT_EQ(sched_.thread_count(), 0u);
}

TEST_F(SchedulerTest, JoinAfterExitDoesNotBlock) {
  auto worker = [] {};
  auto main = [&] {
    Thread* t = Scheduler::Current().Spawn(
        [](void* fn) { (*static_cast<decltype(worker)*>(fn))(); }, &worker, "worker");
    Scheduler::Current().SleepFor(10'000);  // the worker runs and exits meanwhile
    EXPECT_EQ(t->state, ThreadState::kDone);
    Scheduler::Current().Join(t);
    log_.push_back("joined");
  };
  Go(&main, "main");
  RunToCompletion();
  EXPECT_EQ(log_, std::vector<std::string>{"joined"});
}

TEST_F(SchedulerTest, SleepersWakeInDeadlineOrderAndTheCoreHaltsBetween) {
  std::vector<uint64_t> woke_at;
  auto sleeper = [&](uint64_t ns) {
    Scheduler::Current().SleepUntil(ns);
    woke_at.push_back(Scheduler::Current().NowNs());
  };
  auto s3 = [&] { sleeper(3'000'000); };
  auto s1 = [&] { sleeper(1'000'000); };
  auto s2 = [&] { sleeper(2'000'000); };
  Go(&s3, "s3");
  Go(&s1, "s1");
  Go(&s2, "s2");
  RunToCompletion();
  ASSERT_EQ(woke_at.size(), 3u);
  EXPECT_GE(woke_at[0], 1'000'000u);
  EXPECT_LT(woke_at[0], 2'000'000u);
  EXPECT_GE(woke_at[1], 2'000'000u);
  EXPECT_GE(woke_at[2], 3'000'000u);
  // Gaps of 1 ms: the core halted for each (tickless: the one-shot deadline
  // ended each halt), and polled far less than it waited.
  EXPECT_EQ(platform_.halts(), 3u);
  EXPECT_EQ(platform_.halts_forever(), 0u);
  const CoreCounters& c = sched_.counters();
  EXPECT_GT(c.halt_cycles.Get(), 2'500'000u);
  EXPECT_LT(c.poll_cycles.Get(), 100'000u);
}

TEST_F(SchedulerTest, WaitForWakesWhenTheSourceBecomesReady) {
  FlagSource source;
  uint64_t ran_at = 0;
  auto waiter = [&] {
    Scheduler::Current().WaitFor(source);
    ran_at = Scheduler::Current().NowNs();
  };
  Go(&waiter, "waiter");
  // The producer publishes at 500 us and wakes the core like a real one.
  platform_.At(500'000, [&] {
    source.ready = true;
    EXPECT_TRUE(sched_.WakeIfHalted(sched_));
  });
  RunToCompletion();
  EXPECT_GE(ran_at, 500'000u);
  EXPECT_EQ(platform_.halts(), 1u);
  EXPECT_EQ(platform_.wakes(), 1u);
}

TEST_F(SchedulerTest, WaitForWithADeadlineTimesOutOrSeesTheSource) {
  FlagSource never, soon;
  bool timed = true, ready = false;
  uint64_t timed_out_at = 0;
  auto waiter = [&] {
    timed = Scheduler::Current().WaitFor(never, 200'000);
    timed_out_at = Scheduler::Current().NowNs();
    ready = Scheduler::Current().WaitFor(soon, 50'000'000);
  };
  // Outlives the waiter's second deadline: were the waiter (exited by then)
  // still on the sleep queue, the loop would wake a dead thread at 50 ms.
  uint64_t later_woke_at = 0;
  auto later = [&] {
    Scheduler::Current().SleepUntil(60'000'000);
    later_woke_at = Scheduler::Current().NowNs();
  };
  Go(&waiter, "waiter");
  Go(&later, "later");
  platform_.At(1'000'000, [&] {
    soon.ready = true;
    sched_.WakeIfHalted(sched_);
  });
  RunToCompletion();
  EXPECT_FALSE(timed);
  EXPECT_GE(timed_out_at, 200'000u);
  EXPECT_LT(timed_out_at, 1'000'000u);
  EXPECT_TRUE(ready);
  EXPECT_EQ(later_woke_at, 60'000'000u);
  EXPECT_EQ(sched_.thread_count(), 0u);
}

TEST_F(SchedulerTest, ParkTimesOutOrIsUnparked) {
  Thread* parked = nullptr;
  bool first = true, second = false;
  auto parker = [&] {
    parked = Scheduler::Current().current();
    first = Scheduler::Current().Park(Scheduler::Current().NowNs() + 100'000);
    second = Scheduler::Current().Park(Scheduler::Current().NowNs() + 100'000'000);
  };
  auto unparker = [&] {
    Scheduler::Current().SleepFor(1'000'000);  // after the first park timed out
    Scheduler::Current().Unpark(parked);
  };
  Go(&parker, "parker");
  Go(&unparker, "unparker");
  RunToCompletion();
  EXPECT_FALSE(first);
  EXPECT_TRUE(second);
  EXPECT_LT(platform_.NowNs(), 100'000'000u);  // did not wait for the 2nd deadline
}

TEST_F(SchedulerTest, HaltPolicyNeverPollsAndPollPolicyNeverHalts) {
  FlagSource source;
  auto waiter = [&] { Scheduler::Current().WaitFor(source); };
  sched_.SetIdlePolicy(IdlePolicy::kHalt);
  Go(&waiter, "waiter");
  platform_.At(50'000, [&] { source.ready = true; });
  RunToCompletion();
  EXPECT_EQ(sched_.counters().poll_cycles.Get(), 0u);
  EXPECT_EQ(platform_.halts(), 1u);

  source.ready = false;
  sched_.SetIdlePolicy(IdlePolicy::kPoll);
  Go(&waiter, "waiter");
  platform_.At(platform_.NowNs() + 25'000'000, [&] { source.ready = true; });
  RunToCompletion();
  EXPECT_EQ(platform_.halts(), 1u);  // no new halt over 25 ms
  EXPECT_GT(sched_.counters().poll_hits.Get(), 0u);
}

TEST_F(SchedulerTest, AdaptiveCoreCatchesPeriodicMessagesWhilePolling) {
  FlagSource source;
  int handled = 0;
  auto consumer = [&] {
    for (int i = 0; i < 50; ++i) {
      Scheduler::Current().WaitFor(source);
      source.ready = false;
      ++handled;
    }
  };
  Go(&consumer, "consumer");
  for (int i = 1; i <= 50; ++i) {
    platform_.At(i * 40'000, [&] { source.ready = true; });
  }
  RunToCompletion();
  EXPECT_EQ(handled, 50);
  // 10 -> 20 -> 40 us: a few halts while the window grows, then polling
  // catches every message.
  EXPECT_LE(platform_.halts(), 4u);
  EXPECT_GE(sched_.counters().poll_hits.Get(), 45u);
}

TEST_F(SchedulerTest, CongestionKeepsTheCoreFromHalting) {
  FlagSource source;
  auto waiter = [&] {
    Scheduler::Current().NoteCongestion();
    Scheduler::Current().WaitFor(source);
  };
  Go(&waiter, "waiter");
  platform_.At(150'000, [&] { source.ready = true; });  // inside the 200 us cap
  RunToCompletion();
  EXPECT_EQ(platform_.halts(), 0u);
}

TEST_F(SchedulerTest, StacksComeFromThePlatformAndGoBackWhenThreadsExit) {
  auto worker = [] { Scheduler::Current().Yield(); };
  auto main = [&] {
    Thread* t = Scheduler::Current().Spawn(
        [](void* fn) { (*static_cast<decltype(worker)*>(fn))(); }, &worker, "worker");
    EXPECT_EQ(platform_.stacks_in_use(), 2);
    Scheduler::Current().Join(t);
  };
  Go(&main, "main");
  EXPECT_EQ(platform_.stacks_in_use(), 1);
  RunToCompletion();
  EXPECT_EQ(platform_.stacks_in_use(), 0);
}

// Under memory pressure a thread that load asks for is refused, not fatal:
// TrySpawn answers nullptr, leaves nothing behind, and works again once
// stacks come back.
TEST_F(SchedulerTest, TrySpawnReportsAMissingStackWithoutStopping) {
  int runs = 0;
  auto worker = [&] { ++runs; };
  const ThreadEntry entry = [](void* fn) { (*static_cast<decltype(worker)*>(fn))(); };
  auto main = [&] {
    Scheduler& sched = Scheduler::Current();
    platform_.FailStacks(true);
    EXPECT_EQ(sched.TrySpawn(entry, &worker, "refused", Joinable::kNo), nullptr);
    EXPECT_EQ(sched.TrySpawn(entry, &worker, "refused", Joinable::kYes), nullptr);
    EXPECT_EQ(sched.thread_count(), 1u);  // main only
    EXPECT_EQ(platform_.stacks_in_use(), 1);
    platform_.FailStacks(false);
    Thread* t = sched.TrySpawn(entry, &worker, "worker", Joinable::kYes);
    ASSERT_NE(t, nullptr);
    sched.Join(t);
  };
  Go(&main, "main");
  RunToCompletion();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(platform_.stacks_in_use(), 0);
}

// A too-large stack is refused the same way (the kernel's limit is 252 KiB;
// the fake's mmap refuses what the address space cannot hold).
TEST_F(SchedulerTest, TrySpawnRefusesAnImpossibleStack) {
  EXPECT_EQ(sched_.TrySpawn([](void*) {}, nullptr, "huge", Joinable::kNo, SIZE_MAX / 2), nullptr);
  EXPECT_EQ(sched_.thread_count(), 0u);
}

TEST_F(SchedulerTest, InterruptWakeCancelsAnAnnouncedHalt) {
  sched_.wake_word().state.store(ipc::kHaltAnnounced);
  sched_.InterruptWake();
  EXPECT_FALSE(platform_.SleepUntilWoken(sched_.wake_word()));
}

using SchedulerDeathTest = SchedulerTest;

TEST_F(SchedulerDeathTest, StackOverflowIsReported) {
  auto smash = [] {
    Thread* self = Scheduler::Current().current();
    self->stack[0] = std::byte{0};  // what running past the stack would do
    Scheduler::Current().Yield();
  };
  Go(&smash, "smash");
  EXPECT_DEATH(RunToCompletion(), "overflowed its stack");
}

// Spawn keeps stopping the kernel when it cannot get a stack: it is for
// threads the system cannot run without (boot, services).
TEST_F(SchedulerDeathTest, SpawnWithoutAStackIsFatal) {
  platform_.FailStacks(true);
  EXPECT_DEATH(sched_.Spawn([](void*) {}, nullptr, "boot-thread", Joinable::kNo),
               "no thread stack");
}

// The guard page of the thread that overflows, for the SIGSEGV handler.
uintptr_t guard_begin = 0, guard_end = 0;
volatile int recursion_limit = 1 << 30;

void ReportGuardFault(int, siginfo_t* info, void*) {
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  const bool in_guard = address >= guard_begin && address < guard_end;
  const char* message = in_guard ? "SIGSEGV in the guard page\n" : "SIGSEGV elsewhere\n";
  [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, message, std::strlen(message));
  _exit(in_guard ? 3 : 4);
}

[[gnu::noinline]] int Recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth >= recursion_limit) return frame[0];
  return Recurse(depth + 1) + frame[0];
}

TEST_F(SchedulerDeathTest, StackOverflowFaultsOnTheGuardPageAtOnce) {
  auto overflow = [] { Recurse(0); };
  auto run = [&] {
    // The handler needs a stack of its own: the thread's is used up.
    static char signal_stack[64 * 1024];
    stack_t alternate{};
    alternate.ss_sp = signal_stack;
    alternate.ss_size = sizeof(signal_stack);
    sigaltstack(&alternate, nullptr);
    struct sigaction action {};
    action.sa_sigaction = &ReportGuardFault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &action, nullptr);
    Thread* t = Go(&overflow, "overflow");
    guard_end = reinterpret_cast<uintptr_t>(t->stack);
    guard_begin = guard_end - static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    RunToCompletion();
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(3), "SIGSEGV in the guard page");
}

}  // namespace
}  // namespace uk::sched
