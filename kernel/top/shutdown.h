#pragma once
// Graceful shutdown: the ACPI power button (what `virsh shutdown`, a cloud's
// "stop" or QEMU's `system_powerdown` press) or the console's `q` key asks
// for it. A thread on core 0 then runs the application's handler, which
// stops taking new work and finishes or cuts what is in flight, gives it at
// most kShutdownBudgetMs, then asks every service to stop (runtime_hooks.h,
// StopRuntimeServices: the fs service flushes and refuses later changes)
// within kServiceStopBudgetMs, prints every core's counters and powers off
// with status 0 (arch/power.h: through the runner's exit device, or ACPI S5 on an
// engine). docs/boot.md, "How the VM stops", has the whole path.
//
// The button: on QEMU pc and q35 the PM1 fixed power-button event, which
// raises the SCI; on QEMU microvm the power-down event of its Generic Event
// Device (arch/acpi.h, PowerControls, says how each is found).

#include <cstdint>

namespace uk {

inline constexpr uint64_t kShutdownBudgetMs = 5000;
inline constexpr uint64_t kServiceStopBudgetMs = 3000;

// The application's part, run on a thread of core 0 once a shutdown is
// asked for; it may block (it calls services). One handler: the last one
// set. None: the counters are printed and the VM powers off at once.
using ShutdownHandler = void (*)(void* arg);
void SetShutdownHandler(ShutdownHandler handler, void* arg);

// Asks for a graceful shutdown, from a thread (not an interrupt handler) of
// any core. `why` is logged; later requests are ignored.
void RequestShutdown(const char* why);

// Boot, on core 0 before the application starts: arms the power button
// that arch::GetPowerControls() describes (if any) and starts the shutdown
// thread.
void StartShutdownWatch();

}  // namespace uk
