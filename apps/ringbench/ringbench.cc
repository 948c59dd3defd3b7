// //images:ringbench: cross-core message round trips measured inside the
// guest, in TSC cycles, against the receiver's idle policy.
//
// Modes (kernel command line, i.e. runner flags):
//   --mode=table (default)  core 0 pings core 1's sched service and waits for
//       the pong, after a gap of 1 us .. 10 ms, with core 1 (a) polling,
//       (b) halting at once and woken by IPI, (c) adaptive. Prints a table,
//       then an all-to-all check: every core pings every other core
//       --check=N times; all must be answered. Powers off with 0 if so.
//   --mode=idle   boots every core with its services, prints
//       "ringbench: ready" and waits for messages that never come.
//   --mode=burst  ready, --idle_ms of quiet, then "burst start", every core
//       pinging the next one back to back for --burst_ms, "burst end", then
//       quiet again. tools/idle_cpu.py measures the host CPU around it.
// --samples=N per table cell (default 200).
//
// Core 0 polls (IdlePolicy::kPoll) while it measures, so the figures are
// the receiver's cost alone: message, wakeup, handling, reply.

#include <cstdint>

#include "ipc/message.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/tsc.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "services/runtime/call.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

using sched::IdlePolicy;
using sched::Scheduler;

constexpr uint64_t kGapsNs[] = {1'000, 10'000, 100'000, 1'000'000, 10'000'000};
constexpr IdlePolicy kPolicies[] = {IdlePolicy::kPoll, IdlePolicy::kHalt, IdlePolicy::kAdaptive};

struct Options {
  uint64_t samples = 200;
  uint64_t check = 200;
  uint64_t idle_ms = 2000;
  uint64_t burst_ms = 1000;
};

const char* Accelerator() {
  arch::CpuidResult r = arch::Cpuid(0x40000000);
  char vendor[13] = {};
  __builtin_memcpy(vendor, &r.ebx, 4);
  __builtin_memcpy(vendor + 4, &r.ecx, 4);
  __builtin_memcpy(vendor + 8, &r.edx, 4);
  if (__builtin_memcmp(vendor, "KVMKVMKVM", 9) == 0) return "KVM";
  if (__builtin_memcmp(vendor, "TCGTCGTCGTCG", 12) == 0) return "TCG";
  return "unknown hypervisor";
}

// Sorts in place (insertion sort: a few hundred samples, no libc).
void Sort(uint64_t* v, uint64_t n) {
  for (uint64_t i = 1; i < n; ++i) {
    uint64_t x = v[i], j = i;
    for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

uint64_t CyclesToNs(uint64_t cycles) { return arch::TscToNanoseconds(cycles); }

void PrintGap(uint64_t ns) {
  if (ns >= 1'000'000) Print("%5lu ms ", ns / 1'000'000);
  else Print("%5lu us ", ns / 1'000);
}

// One table cell: `samples` round trips to `rx`, each after `gap_ns`.
bool MeasureCell(uint32_t rx, IdlePolicy policy, uint64_t gap_ns, uint64_t samples,
                 uint64_t* rtt) {
  Scheduler& here = Scheduler::Current();
  Scheduler& there = Scheduler::ForCore(rx);
  if (!svc::SetIdlePolicyOn(rx, policy)) return false;
  svc::Ping(rx);  // warm up the path
  const uint64_t halts_before = there.counters().sleeper.sleeps.Get();
  const uint64_t hits_before = there.counters().poll_hits.Get();
  for (uint64_t i = 0; i < samples; ++i) {
    here.SleepFor(gap_ns);
    const uint64_t start = arch::ReadTsc();
    if (!svc::Ping(rx)) return false;
    rtt[i] = arch::ReadTsc() - start;
  }
  const uint64_t halts = there.counters().sleeper.sleeps.Get() - halts_before;
  const uint64_t hits = there.counters().poll_hits.Get() - hits_before;
  Sort(rtt, samples);
  const uint64_t median = rtt[samples / 2], p99 = rtt[samples * 99 / 100];
  PrintGap(gap_ns);
  Print("%-9s %10lu %10lu %9lu.%lu %9lu.%lu %8lu %8lu\n", sched::IdlePolicyName(policy), median,
        p99, CyclesToNs(median) / 1000, CyclesToNs(median) / 100 % 10, CyclesToNs(p99) / 1000,
        CyclesToNs(p99) / 100 % 10, halts, hits);
  return true;
}

bool RunTable(const Options& options) {
  const uint32_t rx = 1;
  Print("ringbench: round trips cpu0 -> cpu%u -> cpu0, %lu samples per row, TSC %lu MHz, %s\n",
        rx, options.samples, arch::TscHz() / 1'000'000, Accelerator());
  Print("ringbench:   gap  rx policy  median cyc    p99 cyc  median us    p99 us  rx halts"
        " rx poll-hits\n");
  auto* rtt = new uint64_t[options.samples];
  bool ok = true;
  for (IdlePolicy policy : kPolicies) {
    for (uint64_t gap : kGapsNs) {
      Print("ringbench: ");
      ok = ok && MeasureCell(rx, policy, gap, options.samples, rtt);
    }
  }
  delete[] rtt;
  svc::SetIdlePolicyOn(rx, IdlePolicy::kAdaptive);
  return ok;
}

// ---- All-to-all check and bursts: a pinger thread on every core ----

struct Pinger {
  uint64_t count = 0;         // pings to send to each other core (check)
  uint64_t until_ns = 0;      // or: ping the next core until then (burst)
  uint64_t sent = 0;
  uint64_t answered = 0;
};

void PingOthers(void* arg) {
  auto& p = *static_cast<Pinger*>(arg);
  const uint32_t me = sched::CurrentCore(), cores = Scheduler::CoreCount();
  for (uint64_t i = 0; i < p.count; ++i) {
    for (uint32_t c = 0; c < cores; ++c) {
      if (c == me) continue;
      ++p.sent;
      if (svc::Ping(c)) ++p.answered;
    }
  }
  while (Scheduler::Current().NowNs() < p.until_ns) {
    ++p.sent;
    if (svc::Ping((me + 1) % cores)) ++p.answered;
  }
}

// Runs a Pinger on every core and sums them up.
void PingEverywhere(uint64_t count, uint64_t until_ns, uint64_t* sent, uint64_t* answered) {
  const uint32_t cores = Scheduler::CoreCount();
  auto* pingers = new Pinger[cores];
  auto* threads = new svc::RemoteThread[cores];
  for (uint32_t c = 0; c < cores; ++c) {
    pingers[c].count = count;
    pingers[c].until_ns = until_ns;
    threads[c] = svc::SpawnOn(c, &PingOthers, &pingers[c], "pinger");
  }
  *sent = *answered = 0;
  for (uint32_t c = 0; c < cores; ++c) {
    svc::Join(threads[c]);
    *sent += pingers[c].sent;
    *answered += pingers[c].answered;
  }
  delete[] threads;
  delete[] pingers;
}

[[noreturn]] void WaitForever() {
  for (;;) Scheduler::Current().Park();
}

}  // namespace

int AppMain() {
  const CommandLine& cmdline = KernelCommandLine();
  bool malformed = false;
  Options options;
  options.samples = cmdline.GetNumber("samples", options.samples, &malformed);
  options.check = cmdline.GetNumber("check", options.check, &malformed);
  options.idle_ms = cmdline.GetNumber("idle_ms", options.idle_ms, &malformed);
  options.burst_ms = cmdline.GetNumber("burst_ms", options.burst_ms, &malformed);
  std::string_view mode = cmdline.Get("mode", "table");
  if (malformed || options.samples == 0 || options.samples > 100'000) {
    Print("ringbench: bad option; numbers are decimal, samples 1..100000\n");
    return 2;
  }
  const uint32_t cores = Scheduler::CoreCount();
  if (cores < 2) {
    Print("ringbench: needs at least 2 cores (--smp=2)\n");
    return 2;
  }
  Scheduler& here = Scheduler::Current();

  if (mode == "idle") {
    Print("ringbench: ready, %u cores idle, waiting for messages\n", cores);
    WaitForever();
  }
  if (mode == "burst") {
    Print("ringbench: ready, %u cores\n", cores);
    here.SleepFor(options.idle_ms * 1'000'000);
    Print("ringbench: burst start\n");
    uint64_t sent, answered;
    PingEverywhere(0, here.NowNs() + options.burst_ms * 1'000'000, &sent, &answered);
    Print("ringbench: burst end, %lu pings sent, %lu answered\n", sent, answered);
    WaitForever();
  }
  if (mode != "table") {
    Print("ringbench: unknown mode '%.*s' (table, idle, burst)\n", static_cast<int>(mode.size()),
          mode.data());
    return 2;
  }

  here.SetIdlePolicy(IdlePolicy::kPoll);
  const bool table_ok = RunTable(options);
  here.SetIdlePolicy(IdlePolicy::kAdaptive);
  uint64_t sent, answered;
  PingEverywhere(options.check, 0, &sent, &answered);
  Print("ringbench: check: %lu pings sent, %lu answered\n", sent, answered);
  const bool ok = table_ok && sent == answered &&
                  sent == options.check * cores * (cores - 1);
  Print("ringbench: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace uk
