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

// One-shot timer: fires kTimerVector once after `ns`; 0 disarms it.
void CalibrateLocalApicTimer();
void ArmTimer(uint64_t ns);
uint64_t LocalApicTimerHz();

}  // namespace uk::arch
