#include "kernel/top/shutdown.h"

#include <atomic>

#include "kernel/arch/cpu.h"
#include "kernel/arch/ioapic.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/power.h"
#include "kernel/arch/trap.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/per_core.h"
#include "kernel/top/runtime_hooks.h"

namespace uk {
namespace {

constexpr uint16_t kPowerButtonBit = 1u << 8;     // PM1 status and enable: PWRBTN
constexpr uint16_t kSciEnableBit = 1u << 0;       // PM1 control: SCI_EN (ACPI mode)
constexpr uint32_t kGedPowerDownEvent = 1u << 1;  // QEMU's ACPI_GED_PWR_DOWN_EVT

arch::PowerControls controls;
// Why a shutdown was asked for; null until then. Set once.
std::atomic<const char*> reason{nullptr};
ShutdownHandler handler = nullptr;
void* handler_arg = nullptr;
sched::Thread* stopper = nullptr;  // the shutdown thread, parked while a handler runs
// The shutdown thread still waits for the handler (core 0's threads only):
// a handler that ends after its budget must not wake the shutdown thread
// out of what it waits for by then (the services' stop).
bool waiting_for_handler = false;

struct Requested final : sched::WaitSource {
  bool Ready() override { return reason.load(std::memory_order_acquire) != nullptr; }
} requested;

void Request(const char* why) {
  const char* none = nullptr;
  reason.compare_exchange_strong(none, why, std::memory_order_acq_rel);
}

// The SCI (pc, q35) or the GED's line (microvm), on core 0.
void OnPowerInterrupt(arch::TrapFrame&) {
  bool pressed = false;
  if (controls.ged_events != 0) {
    // Reading the event selector returns the pending events and clears them.
    pressed = (*arch::PhysToVirt<volatile uint32_t>(controls.ged_events) & kGedPowerDownEvent) != 0;
  } else {
    const uint16_t status = arch::InWord(controls.pm1a_event);
    if (status & kPowerButtonBit) {
      arch::OutWord(controls.pm1a_event, kPowerButtonBit);  // write 1 to clear: the SCI drops
      pressed = true;
    }
  }
  if (!pressed) return;
  Request("the power button");
  sched::Scheduler::ForCore(arch::CurrentCpuIndex()).InterruptWake();
}

// Enables the power-button event. False if the platform has none we know.
bool ArmPowerButton(uint32_t apic_id) {
  uint8_t irq = 0;
  if (controls.ged_events != 0) {
    irq = controls.ged_irq;
  } else if (!controls.hardware_reduced && controls.pm1a_event != 0 &&
             controls.pm1_event_length >= 4) {
    // ACPI mode first: the firmware hands the PM registers over (SCI_EN).
    if (controls.pm1a_control != 0 && (arch::InWord(controls.pm1a_control) & kSciEnableBit) == 0 &&
        controls.smi_command != 0 && controls.acpi_enable != 0) {
      arch::OutByte(controls.smi_command, controls.acpi_enable);
      for (int i = 0; i < 100000 && (arch::InWord(controls.pm1a_control) & kSciEnableBit) == 0; ++i) {
        arch::Pause();
      }
    }
    const uint16_t enable_port =
        static_cast<uint16_t>(controls.pm1a_event + controls.pm1_event_length / 2);
    arch::OutWord(controls.pm1a_event, kPowerButtonBit);  // a stale press is not a new one
    arch::OutWord(enable_port, arch::InWord(enable_port) | kPowerButtonBit);
    irq = controls.sci_irq;
  } else {
    return false;
  }
  arch::SetInterruptHandler(arch::kPowerVector, OnPowerInterrupt);
  return irq < 16 && arch::RouteIsaIrq(irq, arch::kPowerVector, apic_id);
}

void HandlerThread(void*) {
  handler(handler_arg);
  if (waiting_for_handler) sched::Scheduler::Current().Unpark(stopper);
}

void ShutdownThread(void*) {
  sched::Scheduler& sched = sched::Scheduler::Current();
  sched.WaitFor(requested);
  Log(LogLevel::kInfo, "shutdown: asked for by %s; stopping (at most %lu ms)",
      reason.load(std::memory_order_acquire), kShutdownBudgetMs + kServiceStopBudgetMs);
  if (handler != nullptr) {
    const uint64_t deadline = sched.NowNs() + kShutdownBudgetMs * 1000000;
    waiting_for_handler = true;
    sched.Spawn(&HandlerThread, nullptr, "shutdown-app", sched::Joinable::kNo);
    const bool done = sched.Park(deadline);
    waiting_for_handler = false;
    if (!done) {
      Log(LogLevel::kWarn, "shutdown: the application did not stop within %lu ms; going on",
          kShutdownBudgetMs);
    }
  }
  // Then the services (the fs service flushes and refuses later changes).
  StopRuntimeServices(sched.NowNs() + kServiceStopBudgetMs * 1000000);
  Log(LogLevel::kInfo, "shutdown: powering off");
  Shutdown(0);
}

}  // namespace

void SetShutdownHandler(ShutdownHandler new_handler, void* arg) {
  handler_arg = arg;
  handler = new_handler;
}

void RequestShutdown(const char* why) {
  Request(why);
  // The shutdown thread's core re-checks what its threads wait for when it
  // wakes; from another core, wake it.
  if (arch::CurrentCpuIndex() != 0) arch::SendIpi(arch::CpuByIndex(0).apic_id, arch::kWakeVector);
}

void StartShutdownWatch() {
  controls = arch::GetPowerControls();
  const char* button = "none found";
  if (ArmPowerButton(arch::CurrentCpu().apic_id)) {
    button = controls.ged_events != 0 ? "GED power-down event" : "ACPI fixed power button";
  }
  Log(LogLevel::kInfo, "shutdown: power button: %s; console key q; power-off: %s", button,
      controls.s5_known ? "ACPI S5" : "exit device only");
  stopper = sched::Scheduler::Current().Spawn(&ShutdownThread, nullptr, "shutdown",
                                              sched::Joinable::kNo);
}

}  // namespace uk
