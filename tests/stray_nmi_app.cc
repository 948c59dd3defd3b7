// A test image for stray NMIs (tests/nmi_test.py): core 0 sends NMIs to every
// other core -- the IPI the panic path uses to stop them, but with no panic
// -- while those cores ping each other and core 0. Every core must survive
// and count every NMI, and every ping must be answered. The NMIs land
// wherever the cores are: halted, in the scheduler loop with interrupts off,
// in an interrupt handler, in a thread.
//
// --nmis=N rounds (default 50), each sent once every core counted the last,
// then 10 ms apart. Prints "stray-nmi: ok" and exits 0; 1 if a check failed.

#include <atomic>
#include <cstdint>

#include "kernel/arch/lapic.h"
#include "kernel/arch/trap.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

constexpr uint64_t kMs = 1'000'000;

struct Pinger {
  // Set by core 0, read by the pinging cores; relaxed: it publishes nothing
  // else, and a pinger that sees it late only pings a little longer.
  std::atomic<bool>* stop;
  uint64_t sent = 0;
  uint64_t answered = 0;

  static void Run(void* arg) {
    auto& p = *static_cast<Pinger*>(arg);
    const uint32_t me = sched::CurrentCore(), cores = sched::Scheduler::CoreCount();
    for (uint32_t i = 0; !p.stop->load(std::memory_order_relaxed); ++i) {
      const uint32_t target = (me + 1 + i % (cores - 1)) % cores;  // every core but this one
      ++p.sent;
      if (svc::Ping(target)) ++p.answered;
    }
  }
};

}  // namespace

int AppMain() {
  const uint32_t cores = sched::Scheduler::CoreCount();
  const uint64_t rounds = KernelCommandLine().GetNumber("nmis", 50);
  if (cores < 2) {
    Print("stray-nmi: needs at least 2 cores (--smp=2)\n");
    return 2;
  }
  sched::Scheduler& here = sched::Scheduler::Current();
  std::atomic<bool> stop{false};
  auto* pingers = new Pinger[cores];
  auto* threads = new svc::RemoteThread[cores];
  for (uint32_t c = 1; c < cores; ++c) {
    pingers[c].stop = &stop;
    threads[c] = svc::SpawnOn(c, &Pinger::Run, &pingers[c], "pinger");
  }
  // One NMI at a time: a core has one NMI latch, so two sent before it took
  // the first would count once.
  bool ok = true;
  for (uint32_t i = 1; i <= rounds && ok; ++i) {
    arch::SendNmiToOthers();
    const uint64_t give_up = here.NowNs() + 2000 * kMs;
    for (uint32_t c = 1; c < cores && ok; ++c) {
      while (arch::IgnoredNmiCount(c) < i && here.NowNs() < give_up) here.SleepFor(kMs);
      ok = arch::IgnoredNmiCount(c) >= i;
      if (!ok) Print("stray-nmi: cpu %u did not take NMI %u within 2 s\n", c, i);
    }
    here.SleepFor(10 * kMs);
  }
  stop.store(true, std::memory_order_relaxed);
  uint64_t sent = 0, answered = 0;
  for (uint32_t c = 1; c < cores; ++c) {
    svc::Join(threads[c]);
    sent += pingers[c].sent;
    answered += pingers[c].answered;
  }

  ok &= sent > 0 && sent == answered;
  for (uint32_t c = 1; c < cores; ++c) {
    const uint32_t counted = arch::IgnoredNmiCount(c);
    if (counted != rounds) {
      Print("stray-nmi: cpu %u counted %u NMIs of %lu\n", c, counted, rounds);
      ok = false;
    }
  }
  if (arch::IgnoredNmiCount(0) != 0) {
    Print("stray-nmi: cpu 0 counted NMIs it never got\n");
    ok = false;
  }
  Print("stray-nmi: %lu NMIs to each of %u cores while they pinged: %lu pings sent, %lu answered\n",
        rounds, cores - 1, sent, answered);
  Print(ok ? "stray-nmi: ok\n" : "stray-nmi: FAILED\n");
  delete[] threads;
  delete[] pingers;
  return ok ? 0 : 1;
}

}  // namespace uk
