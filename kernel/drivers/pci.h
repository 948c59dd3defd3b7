#pragma once
// PCI: configuration space through the legacy I/O ports (0xCF8/0xCFC),
// device enumeration, BARs, capabilities and MSI-X.
//
// The firmware (SeaBIOS on QEMU's `pc` machine) has already assigned every
// BAR; this code only reads them. A BAR above 4 GiB, or one the firmware left
// unassigned, is reported as unusable because the kernel maps only the low
// 4 GiB (kernel/arch/paging.h). ECAM (memory-mapped configuration, needed
// for microvm's PCIe host bridge) is not implemented yet.
//
// Ownership: a driver finds its device with FindDevice() at start-up and from
// then on is the only code that touches it; nothing here takes a lock.

#include <cstdint>

namespace uk::pci {

inline constexpr uint8_t kCapabilityVendor = 0x09;
inline constexpr uint8_t kCapabilityMsiX = 0x11;

struct Device {
  uint8_t bus = 0, slot = 0, function = 0;
  uint16_t vendor = 0xffff, device = 0;
  uint8_t interrupt_line = 0xff;  // firmware's legacy IRQ (pc: ISA IRQ / GSI)
  uint8_t interrupt_pin = 0;      // 1..4 = INTA..INTD, 0 = none

  uint32_t Read32(uint16_t offset) const;
  uint16_t Read16(uint16_t offset) const;
  uint8_t Read8(uint16_t offset) const;
  void Write32(uint16_t offset, uint32_t value) const;
  void Write16(uint16_t offset, uint16_t value) const;
};

// A memory BAR as the firmware assigned it.
struct Bar {
  uint64_t phys = 0;
  uint64_t size = 0;
  bool usable = false;  // memory BAR, assigned, below 4 GiB
};

// The `index`-th function (0-based, in bus/slot/function order) with this
// vendor and device id. False if there is none.
bool FindDevice(uint16_t vendor, uint16_t device, uint32_t index, Device* out);
// Whether configuration mechanism #1 (ports 0xcf8/0xcfc) is there: on pc
// and q35, not on QEMU microvm or Firecracker. FindDevice finds nothing
// without it. Checked once.
bool HasConfigSpace();

// Reads and sizes BAR `index` (a 64-bit BAR spans index and index + 1).
Bar ReadBar(const Device& device, uint8_t index);

// Offset of the first capability with `id` at or after the one at `after`
// (0 = from the start of the list); 0 if none. Bounded: a looping list ends.
uint8_t FindCapability(const Device& device, uint8_t id, uint8_t after = 0);

// Turns on memory decoding and bus mastering (DMA); legacy INTx stays
// enabled unless MSI-X is enabled.
void EnableBusMaster(const Device& device);

// MSI-X: entry `entry` sends `vector` to the local APIC `apic_id` (fixed
// delivery, edge). Enables MSI-X (which disables INTx) on success. False if
// the device has no MSI-X, the table is not in a usable BAR, or `entry` is
// beyond the table.
bool RouteMsiX(const Device& device, uint16_t entry, uint8_t vector, uint32_t apic_id);

// Number of MSI-X table entries, 0 without MSI-X.
uint16_t MsiXTableSize(const Device& device);

}  // namespace uk::pci
