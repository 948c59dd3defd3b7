#pragma once
// The local APIC: interrupts between cores (IPIs), end-of-interrupt and the
// one-shot timer. x2APIC (MSR access, one write per IPI) is used when CPUID
// offers it, as KVM does; otherwise xAPIC through MMIO (QEMU 7.2's TCG has no
// x2APIC). The choice is made once on the bootstrap core and every core
// follows it.

#include <cstdint>

namespace uk::arch {

// Bootstrap core: picks the mode, maps nothing (the MMIO page is in the
// boot identity/direct map), enables the APIC on this core.
void InitLocalApic(uint64_t mmio_phys);
// Every other core: enables its own APIC in the chosen mode.
void InitLocalApicOnThisCore();

bool LocalApicReady();
bool LocalApicIsX2Apic();
uint32_t LocalApicId();

void EndOfInterrupt();
void SendIpi(uint32_t apic_id, uint8_t vector);
void SendNmiToOthers();
void SendInitIpi(uint32_t apic_id);
void SendStartupIpi(uint32_t apic_id, uint8_t page);

// The core's one-shot timer (kTimerVector). TSC-deadline mode where CPUID
// offers it (QEMU's -cpu max, KVM): one WRMSR of an absolute TSC value per
// arm, so it cannot fire before the kernel's clock reaches the deadline.
// Otherwise the count-down timer, calibrated against the TSC: one write per
// arm, a deadline beyond its range (~9 minutes under QEMU) fires at the
// range's end and the caller arms the rest. Every arm or disarm is one register write (a VM exit
// under KVM); callers count them.
void CalibrateLocalApicTimer();  // bootstrap core; a no-op with TSC-deadline
void InitTimerOnThisCore();      // every core, after calibration: the timer's mode
bool TimerUsesTscDeadline();
void ArmTimerAt(uint64_t deadline_ns);  // nanoseconds since boot (NanosecondsSinceBoot)
void DisarmTimer();

}  // namespace uk::arch
