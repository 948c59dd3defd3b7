#pragma once
// Starting the application processors (APs). The bootstrap core starts them
// one at a time with INIT-SIPI-SIPI through boot/ap_trampoline.S; each AP
// enters uk::ApMain (kernel/top/main.cc) on its own stack with its per-CPU
// block, and reports in before the next one starts.

#include "kernel/arch/acpi.h"

namespace uk::arch {

// Starts every core in `topology` except the caller. Returns the number of
// cores online (including the caller). A core that does not report in within
// a second is logged and bring-up stops there: the kernel runs with the
// cores it has.
uint32_t StartApplicationProcessors(const CpuTopology& topology);

// Called by each AP once it runs kernel code, to release the bootstrap core.
void ReportApOnline();

}  // namespace uk::arch
