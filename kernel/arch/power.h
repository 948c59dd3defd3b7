#pragma once
// Stopping the VM with an exit status.
//
// QEMU's isa-debug-exit device (the runner adds it at port 0xf4) exits QEMU
// with status (value << 1) | 1 when the guest writes `value`. QEMU itself
// exits 1 on its own errors and 0 on a plain shutdown, so the kernel writes
// status + 1: QEMU then exits 2 * status + 3, which can never be 0 or 1, and
// images/run.py turns it back into `status`.
//
// Engines without that device (libvirt, Firecracker, a QEMU started by
// hand) get an ACPI S5 power-off instead, when the ACPI tables say how
// (acpi.h, PowerControls): the write to port 0xf4 goes nowhere there, and
// the VM stops as a machine does when it is switched off (QEMU exits 0,
// libvirt reports "shut off"). So the status only reaches the runner; an
// engine sees a clean power-off, or, with no ACPI either, a halted VM.

#include "kernel/arch/acpi.h"

namespace uk::arch {

// Remembers how to power off through ACPI (boot, once the tables are read).
void SetPowerControls(const PowerControls& controls);
// What SetPowerControls stored (all zero before).
const PowerControls& GetPowerControls();

[[noreturn]] void PowerOff(int status);

}  // namespace uk::arch
