#pragma once
// ACPI, only as far as the kernel needs it: the RSDP leads to the XSDT (or
// the RSDT on ACPI 1.0), which leads to the MADT, which lists every core's
// local APIC id, the I/O APIC and how legacy ISA IRQs map onto it. Tables with a bad signature or checksum are refused with a
// log line; the caller then runs on the bootstrap core alone.

#include <cstdint>

#include "kernel/arch/percpu.h"

namespace uk::arch {

// How an ISA IRQ reaches the I/O APIC: identity, edge, active high, unless
// the MADT overrides it.
struct IsaIrqRoute {
  uint32_t gsi;
  bool active_low;
  bool level_triggered;
};

struct CpuTopology {
  uint64_t local_apic_phys = 0xfee00000;
  uint32_t count = 0;            // enabled cores found, at most kMaxCpus
  uint32_t apic_ids[kMaxCpus];   // in MADT order
  uint64_t io_apic_phys = 0;     // 0: none found (only the first is used)
  uint32_t io_apic_gsi_base = 0;
  IsaIrqRoute isa_irqs[16];
};

// `rsdp_phys` is 0 when the boot loader did not pass one; the BIOS areas are
// searched then.
bool FindCpus(uint64_t rsdp_phys, CpuTopology* topology);

// What the FADT (and the DSDT's \_S5 object) say about the power button and
// powering off (kernel/top/shutdown.h uses them).
//   - Fixed hardware (QEMU pc and q35: PIIX4 / ICH9 PM): the power button is
//     bit 8 of the PM1a status and enable registers, signalled by the SCI
//     (an ISA IRQ); S5 is SLP_TYP | SLP_EN written to PM1a_CNT.
//   - Hardware-reduced (QEMU microvm): no PM1 registers; S5 is written to the
//     FADT's sleep control register. The power button is an event of QEMU's
//     Generic Event Device, which only the DSDT's AML describes; the kernel
//     runs no AML, so it takes QEMU microvm's layout (the GED's event
//     selector 0x200 below the sleep registers, IRQ 9) when the sleep
//     control register sits where QEMU microvm puts it (0xfea00200).
struct PowerControls {
  bool hardware_reduced = false;
  uint8_t sci_irq = 0;          // fixed hardware: the SCI's ISA IRQ
  uint16_t smi_command = 0;     // write acpi_enable here to enter ACPI mode (0: already)
  uint8_t acpi_enable = 0;
  uint16_t pm1a_event = 0;      // I/O port of PM1a_STS (PM1a_EN follows it)
  uint8_t pm1_event_length = 0;
  uint16_t pm1a_control = 0;    // I/O port of PM1a_CNT
  uint64_t sleep_control = 0;   // hardware-reduced: physical address (MMIO)
  uint64_t ged_events = 0;      // QEMU microvm's GED event selector, 0 if unknown
  uint8_t ged_irq = 0;
  uint8_t s5_sleep_type = 0;    // SLP_TYPa of \_S5
  bool s5_known = false;        // found in the DSDT (otherwise S5 is not attempted)
};
bool FindPowerControls(uint64_t rsdp_phys, PowerControls* controls);

}  // namespace uk::arch
