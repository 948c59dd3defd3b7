#include "kernel/drivers/pci.h"

#include <atomic>

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/log.h"

namespace uk::pci {
namespace {

constexpr uint16_t kConfigAddress = 0xcf8, kConfigData = 0xcfc;
constexpr uint16_t kVendorId = 0x00, kCommand = 0x04, kStatus = 0x06;
constexpr uint16_t kHeaderType = 0x0e, kBar0 = 0x10, kCapabilitiesPointer = 0x34;
constexpr uint16_t kInterruptLine = 0x3c, kInterruptPin = 0x3d;
constexpr uint16_t kCommandMemory = 1 << 1, kCommandBusMaster = 1 << 2;
constexpr uint16_t kCommandIntxDisable = 1 << 10;
constexpr uint16_t kStatusCapabilities = 1 << 4;
constexpr uint16_t kMsiXEnable = 1 << 15, kMsiXFunctionMask = 1 << 14;
constexpr uint64_t kMsiAddressBase = 0xfee00000;

// Configuration mechanism #1: select the register, then read the data port.
// Offsets are dword-aligned in the address; sub-dword reads pick bytes out.
// The address port is one selection shared by every core, so an access is
// the pair under this lock (the net and fs services may start on different
// cores and look for their devices at once).
SpinLock config_lock;

// 0: not checked yet, 1: mechanism #1 answers, 2: it does not.
std::atomic<int> config_space{0};

void Select(const Device& d, uint16_t offset) {
  arch::OutLong(kConfigAddress, 0x80000000u | uint32_t{d.bus} << 16 | uint32_t{d.slot} << 11 |
                                    uint32_t{d.function} << 8 | (offset & 0xfc));
}

uint64_t Mmio64Limit() { return arch::kDirectMapLimit; }

}  // namespace

uint32_t Device::Read32(uint16_t offset) const {
  SpinLockGuard guard(config_lock);
  Select(*this, offset);
  return arch::InLong(kConfigData);
}

uint16_t Device::Read16(uint16_t offset) const {
  return static_cast<uint16_t>(Read32(offset) >> ((offset & 2) * 8));
}

uint8_t Device::Read8(uint16_t offset) const {
  return static_cast<uint8_t>(Read32(offset) >> ((offset & 3) * 8));
}

void Device::Write32(uint16_t offset, uint32_t value) const {
  SpinLockGuard guard(config_lock);
  Select(*this, offset);
  arch::OutLong(kConfigData, value);
}

void Device::Write16(uint16_t offset, uint16_t value) const {
  SpinLockGuard guard(config_lock);
  Select(*this, offset);
  arch::OutWord(kConfigData + (offset & 2), value);
}

bool HasConfigSpace() {
  int state = config_space.load(std::memory_order_acquire);
  if (state == 0) {
    // Linux's test (pci_check_type1): the address port keeps a value written
    // to it. Machines without PCI (QEMU microvm, Firecracker) have nothing
    // at 0xcf8 and read back all ones.
    SpinLockGuard guard(config_lock);
    const uint32_t saved = arch::InLong(kConfigAddress);
    arch::OutLong(kConfigAddress, 0x80000000u);
    const bool present = arch::InLong(kConfigAddress) == 0x80000000u;
    arch::OutLong(kConfigAddress, saved);
    state = present ? 1 : 2;
    config_space.store(state, std::memory_order_release);
  }
  return state == 1;
}

namespace {

// Every function the scan found, in bus/slot/function order.
struct Function {
  uint8_t bus, slot, function;
  uint16_t vendor, device;
};
constexpr uint32_t kMaxFunctions = 256;
Function functions[kMaxFunctions];
uint32_t function_count = 0;
SpinLock scan_lock;  // held for the whole scan; no interrupt handler scans
bool scanned = false;

// A brute-force scan of every bus, 8,192 probes of one port pair each, once
// per boot (each probe is a VM exit under KVM); no bridge-walking code to
// get wrong.
void ScanOnce() {
  scan_lock.Lock();
  if (!scanned) {
    for (uint32_t bus = 0; bus < 256; ++bus) {
      for (uint8_t slot = 0; slot < 32; ++slot) {
        Device d;
        d.bus = static_cast<uint8_t>(bus);
        d.slot = slot;
        if (d.Read16(kVendorId) == 0xffff) continue;
        const bool multifunction = (d.Read8(kHeaderType) & 0x80) != 0;
        for (uint8_t function = 0; function < (multifunction ? 8 : 1); ++function) {
          d.function = function;
          const uint32_t ids = d.Read32(kVendorId);
          if ((ids & 0xffff) == 0xffff) continue;
          if (function_count == kMaxFunctions) {
            Log(LogLevel::kWarn, "pci: more than %u functions; %02x:%02x.%u and later ignored",
                kMaxFunctions, d.bus, d.slot, d.function);
            bus = 256;  // ends the scan
            break;
          }
          functions[function_count++] = {d.bus, d.slot, d.function,
                                         static_cast<uint16_t>(ids & 0xffff),
                                         static_cast<uint16_t>(ids >> 16)};
        }
        if (bus == 256) break;
      }
    }
    scanned = true;
  }
  scan_lock.Unlock();
}

}  // namespace

bool FindDevice(uint16_t vendor, uint16_t device_id, uint32_t index, Device* out) {
  // Without configuration space there is nothing to find, and the scan
  // would be 8,192 port accesses for nothing.
  if (!HasConfigSpace()) return false;
  ScanOnce();
  for (uint32_t i = 0; i < function_count; ++i) {
    const Function& f = functions[i];
    if (f.vendor != vendor || f.device != device_id || index-- != 0) continue;
    Device d;
    d.bus = f.bus;
    d.slot = f.slot;
    d.function = f.function;
    d.vendor = vendor;
    d.device = device_id;
    d.interrupt_line = d.Read8(kInterruptLine);
    d.interrupt_pin = d.Read8(kInterruptPin);
    *out = d;
    return true;
  }
  return false;
}

Bar ReadBar(const Device& device, uint8_t index) {
  Bar bar;
  if (index > 5) return bar;
  const uint16_t offset = kBar0 + 4 * index;
  const uint32_t low = device.Read32(offset);
  if (low & 1) return bar;  // an I/O BAR
  const bool is64 = ((low >> 1) & 3) == 2;
  if (is64 && index == 5) return bar;

  // Size it: with decoding off, write all ones and read back the mask.
  const uint16_t command = device.Read16(kCommand);
  device.Write16(kCommand, command & ~kCommandMemory);
  device.Write32(offset, 0xffffffff);
  uint64_t mask = device.Read32(offset) & ~0xfull;
  device.Write32(offset, low);
  uint32_t high = 0;
  if (is64) {
    high = device.Read32(offset + 4);
    device.Write32(offset + 4, 0xffffffff);
    mask |= uint64_t{device.Read32(offset + 4)} << 32;
    device.Write32(offset + 4, high);
  } else {
    mask |= 0xffffffff00000000ull;
  }
  device.Write16(kCommand, command);

  bar.phys = (uint64_t{high} << 32) | (low & ~0xfu);
  bar.size = mask == 0 ? 0 : ~mask + 1;
  bar.usable = bar.phys != 0 && bar.size != 0 && bar.phys < Mmio64Limit() &&
               bar.size <= Mmio64Limit() - bar.phys;
  return bar;
}

uint8_t FindCapability(const Device& device, uint8_t id, uint8_t after) {
  if ((device.Read16(kStatus) & kStatusCapabilities) == 0) return 0;
  uint8_t offset = after == 0 ? device.Read8(kCapabilitiesPointer) & 0xfc
                              : device.Read8(after + 1) & 0xfc;
  // 48 capabilities fill the 192 bytes after the header: more is a loop.
  for (int i = 0; i < 48 && offset >= 0x40; ++i) {
    if (device.Read8(offset) == id) return offset;
    offset = device.Read8(offset + 1) & 0xfc;
  }
  return 0;
}

void EnableBusMaster(const Device& device) {
  const uint16_t command = device.Read16(kCommand);
  device.Write16(kCommand, command | kCommandMemory | kCommandBusMaster);
}

uint16_t MsiXTableSize(const Device& device) {
  const uint8_t cap = FindCapability(device, kCapabilityMsiX);
  return cap == 0 ? 0 : (device.Read16(cap + 2) & 0x7ff) + 1;
}

bool RouteMsiX(const Device& device, uint16_t entry, uint8_t vector, uint32_t apic_id) {
  const uint8_t cap = FindCapability(device, kCapabilityMsiX);
  if (cap == 0 || apic_id > 0xff) return false;
  const uint16_t control = device.Read16(cap + 2);
  if (entry > (control & 0x7ff)) return false;
  const uint32_t table = device.Read32(cap + 4);
  const Bar bar = ReadBar(device, table & 7);
  const uint64_t table_offset = table & ~7u;
  if (!bar.usable || table_offset + 16ull * (entry + 1) > bar.size) return false;

  // Each entry: address low, address high, data, vector control (bit 0 =
  // masked). Write it masked, then unmask, so a half-written entry never
  // fires. The BAR is in the uncached part of the direct map.
  auto* slot = arch::PhysToVirt<volatile uint32_t>(bar.phys + table_offset + 16ull * entry);
  slot[3] = 1;
  slot[0] = static_cast<uint32_t>(kMsiAddressBase | uint64_t{apic_id} << 12);
  slot[1] = 0;
  slot[2] = vector;  // fixed delivery, edge triggered
  slot[3] = 0;
  device.Write16(cap + 2, (control | kMsiXEnable) & ~kMsiXFunctionMask);
  device.Write16(kCommand, device.Read16(kCommand) | kCommandIntxDisable);
  return true;
}

}  // namespace uk::pci
