#pragma once
// The I/O APIC: routes device interrupt lines (GSIs) to a core's local APIC
// as a vector. Only ISA IRQs are routed so far (the serial console); every
// line starts masked.

#include <cstdint>

#include "kernel/arch/acpi.h"

namespace uk::arch {

// Masks every line. False (and a log line) if the MADT listed no I/O APIC.
bool InitIoApic(const CpuTopology& topology);

// Delivers ISA `irq` as `vector` to the core with local APIC id `apic_id`.
bool RouteIsaIrq(uint8_t irq, uint8_t vector, uint32_t apic_id);

}  // namespace uk::arch
