#pragma once
// Fatal errors. A panic stops every other core (NMI), prints the reason, the
// core, the registers (when a trap caused it) and a symbolized backtrace on
// the console, then powers the VM off with exit status kExitPanic, so a test
// or a user sees a report and a non-zero status, never a hang.
//
// CHECK and FATAL (check.h) end here in the kernel.

#include <cstdint>

#include "kernel/lib/check.h"

namespace uk {

namespace arch {
struct TrapFrame;
}

inline constexpr int kExitPanic = 70;  // EX_SOFTWARE

[[noreturn]] void Panic(const char* format, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void PanicFromTrap(const arch::TrapFrame& frame);
bool PanicInProgress();

}  // namespace uk
