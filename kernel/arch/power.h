#pragma once
// Stopping the VM with an exit status.
//
// QEMU's isa-debug-exit device (the runner adds it at port 0xf4) exits QEMU
// with status (value << 1) | 1 when the guest writes `value`. QEMU itself
// exits 1 on its own errors and 0 on a plain shutdown, so the kernel writes
// status + 1: QEMU then exits 2 * status + 3, which can never be 0 or 1, and
// images/run.py turns it back into `status`.

namespace uk::arch {

[[noreturn]] void PowerOff(int status);

}  // namespace uk::arch
