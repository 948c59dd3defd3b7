#pragma once
// The CMOS real-time clock (MC146818, ports 0x70/0x71): wall-clock time for
// file timestamps. QEMU's `pc` machine has one, set to the host's UTC time;
// microvm is started with rtc=off and reports 0.

#include <cstdint>

namespace uk {

// Seconds since 1970-01-01 UTC, or 0 if there is no plausible clock.
uint64_t ReadRtcUnixSeconds();

// The wall clock at boot: ReadRtcUnixSeconds() minus the time since boot,
// so that wall time = UnixTimeAtBoot() + the scheduler clock. 0 if unknown.
// Reads the RTC (a few port reads) on every call: call it once.
uint64_t UnixTimeAtBoot();

}  // namespace uk
