#include "kernel/top/per_core.h"

#include <atomic>
#include <string_view>
#include <type_traits>

#include "kernel/arch/cpu.h"
#include "kernel/arch/hypervisor.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/power.h"
#include "kernel/arch/trap.h"
#include "kernel/arch/tsc.h"
#include "kernel/arch/wait.h"
#include "kernel/lib/format.h"
#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/stacks.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "kernel/top/console.h"
#include "kernel/top/runtime_hooks.h"
#include "kernel/top/shutdown.h"

namespace uk {
namespace {

using sched::Scheduler;
using sched::SleepQueue;

// The hardware behind a core's scheduler. Touched only by its own core
// (Wake runs on the producer's core but only sends an IPI).
class KernelPlatform final : public sched::Platform {
 public:
  uint64_t NowNs() override { return arch::NanosecondsSinceBoot(); }
  uint64_t Cycles() override { return arch::ReadTsc(); }
  void Pause() override { arch::Pause(); }

  // One register write per change of deadline, none if the timer already
  // counts down to it; each write is counted (under KVM it is a VM exit, the
  // cost the seeds count per transaction). A deadline too far away for the
  // count-down timer fires early; TimerFired() then forgets it and the next
  // halt arms the rest.
  void ArmDeadline(uint64_t deadline_ns) override {
    if (deadline_ns == armed_deadline_) return;
    if (deadline_ns == SleepQueue::kNever) {
      arch::DisarmTimer();
    } else {
      arch::ArmTimerAt(deadline_ns);
    }
    armed_deadline_ = deadline_ns;
    ++*timer_writes_;
  }

  // The check of `state` and the halt are atomic with respect to the wake
  // IPI: with interrupts off, an IPI sent after the check stays pending
  // until `sti` takes effect, which is after `hlt` began, so it ends the
  // halt. The timer and wake handlers also reset `state` (InterruptWake),
  // so an interrupt taken before the `cli` stops the halt here.
  bool SleepUntilWoken(ipc::WakeWord& word) override {
    arch::DisableInterrupts();
    // Relaxed: interrupts are off; the handshake's fences did the ordering.
    if (word.state.load(std::memory_order_relaxed) != ipc::kHaltAnnounced) {
      arch::EnableInterrupts();
      return false;
    }
    arch::EnableInterruptsAndHalt();
    return true;
  }

  void Wake(ipc::WakeWord& word) override { arch::SendIpi(word.target, arch::kWakeVector); }

  void* AllocateStack(size_t size) override { return AllocateThreadStack(size); }
  void FreeStack(void* stack, size_t size) override { FreeThreadStack(stack, size); }

  void TimerFired() { armed_deadline_ = SleepQueue::kNever; }
  void CountTimerWritesIn(ipc::StatCounter& counter) { timer_writes_ = &counter; }

 private:
  uint64_t armed_deadline_ = SleepQueue::kNever;
  ipc::StatCounter* timer_writes_ = nullptr;  // its scheduler's counter (set at creation)
};

// RegisterCounterLine's entries. A registration claims a slot (relaxed
// fetch_add: only uniqueness matters), fills in `arg`, then stores `format`
// with release; a reader that loads `format` non-null with acquire sees the
// `arg` written before it.
struct CounterLine {
  std::atomic<CounterLineFormatter> format{nullptr};
  void* arg = nullptr;
};
CounterLine counter_lines[kMaxCounterLines];
std::atomic<uint32_t> counter_lines_claimed{0};

// The longest is the net service's line (TCP, then UDP: ~450 characters with
// 8-digit counters).

// Calls emit(line, length) for each line of FormatStatsLines (no newline).
template <typename Emit>
void ForEachStatsLine(Emit&& emit) {
  char line[kCounterLineSize];
  const HeapStats heap = GetHeapStats();
  emit(line, Format(line, sizeof(line),
                    "memory: heap %lu bytes in use (high %lu), pages %lu free of %lu (low %lu)",
                    heap.bytes_in_use, heap.bytes_high, heap.pages_free, heap.pages_total,
                    heap.pages_free_low));
  ForEachRuntimeStatsLine(
      [](void* context, const char* text, size_t length) {
        (*static_cast<std::remove_reference_t<Emit>*>(context))(text, length);
      },
      &emit);
  for (CounterLine& entry : counter_lines) {
    const CounterLineFormatter format = entry.format.load(std::memory_order_acquire);
    if (format == nullptr) continue;
    const size_t n = format(entry.arg, line, sizeof(line));
    if (n > 0) emit(line, n < sizeof(line) ? n : sizeof(line) - 1);
  }
}

KernelPlatform* platforms[sched::kMaxCores];
// Cores whose sched service is up; core 0 waits for all before AppMain.
std::atomic<uint32_t> services_up{0};

void OnWakeInterrupt(arch::TrapFrame&) {
  if (Scheduler* s = Scheduler::ForCoreOrNull(arch::CurrentCpuIndex())) {
    ++s->counters().wake_interrupts;
    s->InterruptWake();
  }
}

void OnTimerInterrupt(arch::TrapFrame&) {
  const uint32_t core = arch::CurrentCpuIndex();
  if (Scheduler* s = Scheduler::ForCoreOrNull(core)) {
    ++s->counters().timer_interrupts;
    platforms[core]->TimerFired();
    s->InterruptWake();
  }
}

void AppThread(void*) { Shutdown(AppMain()); }

// The idle policy every core starts with: chosen from what CPUID says about
// the hypervisor (sched::ChooseIdlePolicy; docs/sched.md, "Polling only where
// it pays"), unless --idle_policy= names one. Logged once; a bad value is
// reported and the automatic choice stands.
sched::IdlePolicy BootIdlePolicy() {
  const arch::HypervisorLeaves leaves = arch::ReadHypervisorLeaves();
  sched::HypervisorCpuid cpuid;
  cpuid.leaf1_ecx = leaves.leaf1.ecx;
  cpuid.max_leaf = leaves.vendor.eax;
  cpuid.vendor[0] = leaves.vendor.ebx;
  cpuid.vendor[1] = leaves.vendor.ecx;
  cpuid.vendor[2] = leaves.vendor.edx;
  cpuid.kvm_features = leaves.features.eax;
  cpuid.kvm_hints = leaves.features.edx;
  const sched::IdlePolicyChoice choice = sched::ChooseIdlePolicy(cpuid);

  sched::IdlePolicy policy = choice.policy;
  const std::string_view flag = KernelCommandLine().Get("idle_policy", "auto");
  switch (sched::ApplyIdlePolicyFlag(flag, &policy)) {
    case sched::IdlePolicyFlag::kApplied:
      Log(LogLevel::kInfo, "idle policy: %s (set by --idle_policy=; auto would choose %s: %s)",
          sched::IdlePolicyName(policy), sched::IdlePolicyName(choice.policy), choice.reason);
      return policy;
    case sched::IdlePolicyFlag::kInvalid:
      Log(LogLevel::kWarn, "idle policy: unknown --idle_policy=%.*s (auto, adaptive, poll or "
          "halt); using auto", static_cast<int>(flag.size() < 40 ? flag.size() : 40), flag.data());
      break;
    case sched::IdlePolicyFlag::kAuto:
      break;
  }
  Log(LogLevel::kInfo, "idle policy: %s (%s; override with --idle_policy=)",
      sched::IdlePolicyName(policy), choice.reason);
  return policy;
}

uint64_t Percent10(uint64_t part, uint64_t whole) {  // tenths of a percent
  return whole == 0 ? 0 : part * 1000 / whole;
}

}  // namespace

namespace sched {

uint32_t CurrentCore() { return arch::CurrentCpuIndex(); }

}  // namespace sched

void PrepareCores(uint32_t count) {
  const sched::IdlePolicy policy = BootIdlePolicy();
  for (uint32_t i = 0; i < count; ++i) {
    platforms[i] = new KernelPlatform;
    auto* scheduler = new Scheduler(i, arch::CpuByIndex(i).apic_id, *platforms[i]);
    platforms[i]->CountTimerWritesIn(scheduler->counters().timer_writes);
    scheduler->SetIdlePolicy(policy);  // before the core runs: no other reader yet
    Scheduler::Register(scheduler);
  }
  arch::SetInterruptHandler(arch::kWakeVector, OnWakeInterrupt);
  arch::SetInterruptHandler(arch::kTimerVector, OnTimerInterrupt);
}

void RunCore(uint32_t index) {
  Scheduler& sched = Scheduler::ForCore(index);
  arch::InitTimerOnThisCore();
  arch::EnableInterrupts();
  StartRuntimeOnThisCore();
  const uint32_t cores = Scheduler::CoreCount();
  // Release: our service's registration happens before core 0 sees the count.
  if (services_up.fetch_add(1, std::memory_order_release) + 1 == cores && index != 0) {
    arch::SendIpi(arch::CpuByIndex(0).apic_id, arch::kWakeVector);
  }
  if (index == 0) {
    HaltUntil([cores] { return services_up.load(std::memory_order_acquire) == cores; });
    StartConsole();
    StartShutdownWatch();
    sched.Spawn(&AppThread, nullptr, "main", sched::Joinable::kNo);
  }
  sched.Run();
  Panic("the scheduler loop of cpu %u returned", index);
}

size_t FormatCoreCounters(uint32_t core, char* out, size_t size) {
  const uint64_t now = arch::ReadTsc();
  Scheduler& s = Scheduler::ForCore(core);
  sched::CoreCounters& c = s.counters();
  const uint64_t total = now - c.start_cycles.Get();
  const uint64_t poll = c.poll_cycles.Get();
  // A core halted right now has not added its current halt yet.
  const uint64_t halting_since = c.halting_since.Get();
  const uint64_t halt =
      c.halt_cycles.Get() + (halting_since != 0 && now > halting_since ? now - halting_since : 0);
  const uint64_t busy = total > poll + halt ? total - poll - halt : 0;
  return Format(out, size,
                "cpu%u: busy %lu.%lu%% poll %lu.%lu%% halt %lu.%lu%% | halts %lu (aborted %lu) "
                "poll-hits %lu window %lu us (%s)%s | irq wake %lu timer %lu | timer writes %lu | "
                "wakeups sent %lu "
                "suppressed %lu | msgs out %lu ring-full %lu publishes %lu | switches %lu",
                core, Percent10(busy, total) / 10, Percent10(busy, total) % 10,
                Percent10(poll, total) / 10, Percent10(poll, total) % 10,
                Percent10(halt, total) / 10, Percent10(halt, total) % 10, c.sleeper.sleeps.Get(),
                c.sleeper.aborted.Get(), c.poll_hits.Get(), s.halt_poll().window_ns() / 1000,
                sched::IdlePolicyName(s.idle_policy()), halting_since != 0 ? " halted now" : "",
                c.wake_interrupts.Get(), c.timer_interrupts.Get(), c.timer_writes.Get(),
                c.waker.wakeups_sent.Get(),
                c.waker.wakeups_suppressed.Get(), c.messages_out.Get(), c.ring_full.Get(),
                c.publishes.Get(),
                c.context_switches.Get());
}

void PrintCounters() {
  for (uint32_t core = 0; core < Scheduler::CoreCount(); ++core) {
    char summary[400];
    FormatCoreCounters(core, summary, sizeof(summary));
    Print("%s\n", summary);
    // One Print per line, so lines of concurrent printers never mix.
    ForEachRuntimeCoreLine(
        core,
        [](void*, const char* line, size_t length) {
          Print("%.*s\n", static_cast<int>(length), line);
        },
        nullptr);
  }
  ForEachStatsLine([](const char* line, size_t length) {
    Print("%.*s\n", static_cast<int>(length), line);
  });
}

size_t FormatStatsLines(char* out, size_t size) {
  size_t n = 0;
  ForEachStatsLine([&](const char* line, size_t length) {
    if (n < size) n += Format(out + n, size - n, "%.*s\n", static_cast<int>(length), line);
  });
  return n;
}

bool RegisterCounterLine(CounterLineFormatter format, void* arg) {
  const uint32_t slot = counter_lines_claimed.fetch_add(1, std::memory_order_relaxed);
  if (slot >= kMaxCounterLines) return false;
  counter_lines[slot].arg = arg;
  counter_lines[slot].format.store(format, std::memory_order_release);
  return true;
}

void Shutdown(int status) {
  PrintCounters();
  arch::PowerOff(status);
}

}  // namespace uk
