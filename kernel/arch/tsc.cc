#include "kernel/arch/tsc.h"

#include "kernel/arch/cpu.h"

namespace uk::arch {
namespace {

constexpr uint64_t kPitHz = 1193182;
constexpr uint16_t kPitChannel0 = 0x40, kPitCommand = 0x43;
// 5,966 PIT ticks: one tick (838 ns) of uncertainty at either end is
// 0.03% of the rate, more than the kernel's timers need.
constexpr uint64_t kCalibrationMs = 5;

uint64_t tsc_hz = 0;
uint64_t boot_tsc = 0;
const char* tsc_source = "none";

uint16_t ReadPitCount() {
  OutByte(kPitCommand, 0x00);  // latch channel 0's count
  uint8_t lo = InByte(kPitChannel0);
  uint8_t hi = InByte(kPitChannel0);
  return static_cast<uint16_t>(hi << 8 | lo);
}

// The TSC's frequency as the CPU or the hypervisor states it, 0 if neither
// does: the hypervisor's timing leaf 0x40000010 (EAX = TSC kHz; KVM with
// QEMU's vmware-cpuid-freq, VMware, Firecracker), else CPUID 0x15 (TSC /
// crystal ratio times the crystal's Hz, when the crystal is given). Both
// are exact where present; 0x16's "base MHz" is not, so it is not used.
uint64_t StatedTscHz() {
  const CpuidResult leaf1 = Cpuid(1);
  if (leaf1.ecx & (1u << 31)) {  // a hypervisor
    const CpuidResult vendor = Cpuid(0x40000000);
    if (vendor.eax >= 0x40000010) {
      const uint64_t khz = Cpuid(0x40000010).eax;
      if (khz >= 100000) return khz * 1000;  // at least 100 MHz, or it is not a frequency
    }
  }
  if (Cpuid(0).eax >= 0x15) {
    const CpuidResult leaf15 = Cpuid(0x15);
    if (leaf15.eax != 0 && leaf15.ebx != 0 && leaf15.ecx != 0) {
      return uint64_t{leaf15.ecx} * leaf15.ebx / leaf15.eax;
    }
  }
  return 0;
}

}  // namespace

// Written by the PVH entry's first instructions (boot/pvh_entry.S), before
// it clears .bss; 0 if the kernel was entered some other way.
extern "C" {
[[gnu::section(".data")]] uint64_t uk_entry_tsc = 0;
}

const char* TscSource() { return tsc_source; }

// Counts channel 0 down from 0xffff once (mode 0) and reads it back with
// latch commands. Unlike the usual channel-2 method this needs no port 0x61,
// which QEMU's microvm machine lacks. The PIT's interrupt is masked (the
// kernel never routes it), so the terminal count goes unnoticed.
void CalibrateTsc() {
  // Time since boot counts from the kernel's first instruction.
  boot_tsc = uk_entry_tsc != 0 && uk_entry_tsc <= ReadTsc() ? uk_entry_tsc : ReadTsc();
  if (const uint64_t stated = StatedTscHz(); stated != 0) {
    tsc_hz = stated;  // no 10 ms against the PIT
    tsc_source = "cpuid";
    return;
  }
  tsc_source = "pit";
  constexpr uint16_t kTarget = kPitHz * kCalibrationMs / 1000;
  OutByte(kPitCommand, 0x30);  // channel 0, lobyte/hibyte, mode 0, binary
  OutByte(kPitChannel0, 0xff);
  OutByte(kPitChannel0, 0xff);
  uint16_t first = ReadPitCount();
  uint64_t start = ReadTsc();
  uint64_t end = start;
  // Bounded: without a PIT the count never moves (reads return 0xffff); give
  // up after ~2^33 cycles, seconds on any CPU, and assume 1 GHz.
  uint16_t pit_ticks = 0;
  while (pit_ticks < kTarget) {
    uint16_t now = ReadPitCount();
    end = ReadTsc();
    if (now <= first) pit_ticks = first - now;
    if (end - start > (1ull << 33)) break;
  }
  tsc_hz = pit_ticks >= kTarget ? (end - start) * kPitHz / pit_ticks : 1000000000;
}

uint64_t TscHz() { return tsc_hz; }

uint64_t TscToNanoseconds(uint64_t ticks) {
  if (tsc_hz == 0) return 0;
  // Split to avoid overflow of ticks * 1e9 for long uptimes.
  return ticks / tsc_hz * 1000000000 + ticks % tsc_hz * 1000000000 / tsc_hz;
}

uint64_t NanosecondsToTsc(uint64_t ns) {
  return ns / 1000000000 * tsc_hz + ns % 1000000000 * tsc_hz / 1000000000;
}

uint64_t TscAtNanosecondsSinceBoot(uint64_t ns) {
  // ns / 1e9 * tsc_hz overflows only for deadlines centuries away.
  const uint64_t seconds = ns / 1000000000;
  if (tsc_hz != 0 && seconds > (~uint64_t{0} - boot_tsc) / tsc_hz / 2) return ~uint64_t{0};
  return boot_tsc + NanosecondsToTsc(ns);
}

uint64_t NanosecondsSinceBoot() {
  return tsc_hz == 0 ? 0 : TscToNanoseconds(ReadTsc() - boot_tsc);
}

void SpinDelayNanoseconds(uint64_t ns) {
  uint64_t start = ReadTsc();
  uint64_t ticks = NanosecondsToTsc(ns);
  while (ReadTsc() - start < ticks) Pause();
}

}  // namespace uk::arch
