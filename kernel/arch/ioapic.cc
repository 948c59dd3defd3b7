#include "kernel/arch/ioapic.h"

#include "kernel/arch/paging.h"
#include "kernel/lib/log.h"

namespace uk::arch {
namespace {

// Indirect registers: write the index to IOREGSEL, then use IOWIN.
constexpr uint32_t kRegisterSelect = 0x00, kWindow = 0x10;
constexpr uint32_t kVersionRegister = 0x01, kRedirectionBase = 0x10;
constexpr uint32_t kMasked = 1u << 16, kLevel = 1u << 15, kActiveLow = 1u << 13;

constexpr uint64_t kDefaultIoApicPhys = 0xfec00000;

volatile uint32_t* io_apic = nullptr;  // direct-mapped MMIO (uncached)
uint32_t gsi_base = 0, line_count = 0;
IsaIrqRoute isa_routes[16];

uint32_t Read(uint32_t reg) {
  io_apic[kRegisterSelect / 4] = reg;
  return io_apic[kWindow / 4];
}

void Write(uint32_t reg, uint32_t value) {
  io_apic[kRegisterSelect / 4] = reg;
  io_apic[kWindow / 4] = value;
}

}  // namespace

bool InitIoApic(const CpuTopology& topology) {
  if (topology.io_apic_phys != 0) {
    io_apic = PhysToVirt<volatile uint32_t>(topology.io_apic_phys);
    gsi_base = topology.io_apic_gsi_base;
    for (int irq = 0; irq < 16; ++irq) isa_routes[irq] = topology.isa_irqs[irq];
  } else {
    // No MADT (QEMU microvm with acpi=off, a Firecracker without ACPI):
    // the I/O APIC at the address every PC-compatible machine gives it,
    // if a plausible one answers there (an 82093AA is version 0x11, later
    // ones 0x20; nothing at all reads all ones). GSIs from 0, ISA IRQs
    // identity-mapped, edge, active high: the PC's defaults.
    io_apic = PhysToVirt<volatile uint32_t>(kDefaultIoApicPhys);
    const uint32_t version = Read(kVersionRegister);
    if ((version & 0xff) < 0x11 || (version & 0xff) > 0x20 || ((version >> 16) & 0xff) >= 240) {
      io_apic = nullptr;
      Log(LogLevel::kWarn, "ioapic: none in the MADT or at 0x%lx; device interrupts are off",
          kDefaultIoApicPhys);
      return false;
    }
    gsi_base = 0;
    for (uint32_t irq = 0; irq < 16; ++irq) isa_routes[irq] = {irq, false, false};
    Log(LogLevel::kInfo, "ioapic: none in the MADT; using the one at 0x%lx", kDefaultIoApicPhys);
  }
  line_count = ((Read(kVersionRegister) >> 16) & 0xff) + 1;
  for (uint32_t line = 0; line < line_count; ++line) {
    Write(kRedirectionBase + 2 * line, kMasked);
    Write(kRedirectionBase + 2 * line + 1, 0);
  }
  return true;
}

bool RouteGsi(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low) {
  if (io_apic == nullptr || gsi < gsi_base || gsi - gsi_base >= line_count) return false;
  const uint32_t line = gsi - gsi_base;
  // Fixed delivery, physical destination.
  uint32_t low = vector;
  if (level) low |= kLevel;
  if (active_low) low |= kActiveLow;
  Write(kRedirectionBase + 2 * line + 1, apic_id << 24);
  Write(kRedirectionBase + 2 * line, low);
  return true;
}

bool RouteIsaIrq(uint8_t irq, uint8_t vector, uint32_t apic_id) {
  if (irq >= 16) return false;
  const IsaIrqRoute& route = isa_routes[irq];
  return RouteGsi(route.gsi, vector, apic_id, route.level_triggered, route.active_low);
}

}  // namespace uk::arch
