#pragma once
// The time-stamp counter is the kernel's clock. Its rate comes from CPUID
// when the CPU or the hypervisor states it (the timing leaf 0x40000010, or
// leaf 0x15), else it is measured once at boot against the PIT for 5 ms (a
// fixed 1.193182 MHz reference every PC and QEMU machine has; TCG's `-cpu
// max` states neither). Under KVM and TCG alike the TSC runs at a constant
// rate.

#include <cstdint>

namespace uk::arch {

void CalibrateTsc();
uint64_t TscHz();
const char* TscSource();  // "cpuid" or "pit": where TscHz came from
uint64_t TscToNanoseconds(uint64_t ticks);
uint64_t NanosecondsToTsc(uint64_t ns);
// Since the kernel's first instruction (the PVH entry's TSC); 0 until
// CalibrateTsc has run.
uint64_t NanosecondsSinceBoot();
// The TSC value at `ns` since boot (the inverse of NanosecondsSinceBoot),
// saturating at 2^64 - 1 for deadlines beyond the counter's range.
uint64_t TscAtNanosecondsSinceBoot(uint64_t ns);

// Busy-waits with `pause` for a short, bounded time (boot-time delays only).
void SpinDelayNanoseconds(uint64_t ns);

}  // namespace uk::arch
