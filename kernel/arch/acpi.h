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

}  // namespace uk::arch
