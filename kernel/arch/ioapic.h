#pragma once
// The I/O APIC: routes device interrupt lines (GSIs) to a core's local APIC
// as a vector: ISA IRQs (the serial console, the SCI, PCI INTx) and other
// lines of the first I/O APIC (virtio-mmio). Every line starts masked.

#include <cstdint>

#include "kernel/arch/acpi.h"

namespace uk::arch {

// Masks every line. Without an I/O APIC in the MADT (no ACPI), the one at
// the PC's usual 0xfec00000 if it answers there. False (and a log line) if
// there is none.
bool InitIoApic(const CpuTopology& topology);

// Delivers ISA `irq` as `vector` to the core with local APIC id `apic_id`.
bool RouteIsaIrq(uint8_t irq, uint8_t vector, uint32_t apic_id);

// Delivers global system interrupt `gsi` (a line of the first I/O APIC) as
// `vector`, with the trigger mode and polarity given (virtio-mmio lines).
bool RouteGsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low);

}  // namespace uk::arch
