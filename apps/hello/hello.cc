// //images:hello: a thread on every core says hello, core 0 joins them all,
// and the VM powers off with exit status 0. Everything goes through the
// per-core runtime: threads are created on other cores by messages to their
// sched services, and joining is a request that is answered when the thread
// exits. No core spins while it waits.
//
// `--sleep_ms=N`: afterwards core 0's thread sleeps N ms before powering
// off, which shows what a long sleep costs (the counters printed at exit:
// one timer interrupt and one timer write however long the sleep). With
// `--far_sleeper`, a thread on the last core meanwhile sleeps for a century,
// a deadline beyond what the timer can count: it must cost that core no
// interrupts at all, not a storm of early ones.

#include <cstdint>

#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

void SleepForACentury(void*) {
  constexpr uint64_t kCenturyNs = 100ull * 365 * 24 * 3600 * 1'000'000'000;
  sched::Scheduler::Current().SleepFor(kCenturyNs);
}

void SayHello(void*) {
  Print("hello from cpu %u of %u\n", sched::CurrentCore(), sched::Scheduler::CoreCount());
}

}  // namespace

int AppMain() {
  const uint32_t cores = sched::Scheduler::CoreCount();
  auto* threads = new svc::RemoteThread[cores];
  for (uint32_t core = 0; core < cores; ++core) {
    threads[core] = svc::SpawnOn(core, &SayHello, nullptr, "hello");
  }
  int failed = 0;
  for (uint32_t core = 0; core < cores; ++core) {
    if (!svc::Join(threads[core])) ++failed;
  }
  delete[] threads;
  bool malformed = false;
  const uint64_t sleep_ms = KernelCommandLine().GetNumber("sleep_ms", 0, &malformed);
  if (malformed) {
    Print("hello: sleep_ms must be a number of milliseconds\n");
    return 2;
  }
  if (KernelCommandLine().Has("far_sleeper") &&
      svc::SpawnOn(cores - 1, &SleepForACentury, nullptr, "far-sleeper").id == 0) {
    Print("hello: could not start the far sleeper\n");
    return 1;
  }
  if (sleep_ms > 0) {
    sched::Scheduler::Current().SleepFor(sleep_ms * 1'000'000);
    Print("hello: slept %lu ms\n", sleep_ms);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace uk
