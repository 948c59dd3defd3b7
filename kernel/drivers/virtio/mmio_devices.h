#pragma once
// Where virtio-mmio devices are (VIRTIO 1.1 section 4.2), from what the
// machine tells the guest:
//   - `virtio_mmio.device=<size>@<base>:<irq>[:<id>]` entries on the kernel
//     command line, as Firecracker writes them and as QEMU microvm does when
//     ACPI is off (size with an optional K/M/G suffix, base and irq in C
//     syntax: 512@0xfeb00e00:12, 4K@0xd0000000:5). The kernel's own flags
//     ignore these keys.
//   - otherwise, on QEMU microvm with ACPI, the devices are described only in
//     the DSDT's AML, which the kernel does not run; QEMU puts its eight
//     transports at 0xfeb00000 + 512 * slot with GSI 16 + slot (with
//     ioapic2=off, which the runner sets), so those slots are probed.
//
// Portable parsing, host-tested (mmio_devices_test.cc).

#include <cstdint>
#include <string_view>

namespace uk::virtio {

struct MmioDevice {
  uint64_t base = 0;
  uint64_t size = 0;
  uint32_t gsi = 0;
};

// One entry's value (after "virtio_mmio.device="). False if malformed:
// no size, base or irq, a number that does not parse or overflows, a size
// below 0x100 (the registers) or above 1 GiB, a base not 4-byte aligned.
bool ParseMmioDevice(std::string_view value, MmioDevice* out);

// Calls fn(const MmioDevice&) for each well-formed entry of `command_line`,
// in order, and bad(std::string_view value) for each malformed one.
template <typename Fn, typename Bad>
void ForEachMmioDevice(std::string_view command_line, Fn&& fn, Bad&& bad) {
  constexpr std::string_view kKey = "virtio_mmio.device=";
  size_t at = 0;
  while (at < command_line.size()) {
    while (at < command_line.size() && command_line[at] == ' ') ++at;
    size_t end = command_line.find(' ', at);
    if (end == std::string_view::npos) end = command_line.size();
    const std::string_view word = command_line.substr(at, end - at);
    if (word.substr(0, kKey.size()) == kKey) {
      MmioDevice device;
      const std::string_view value = word.substr(kKey.size());
      if (ParseMmioDevice(value, &device)) fn(device);
      else bad(value);
    }
    at = end;
  }
}

// QEMU microvm's transports when ACPI describes them (see the top).
inline constexpr uint64_t kQemuMicrovmMmioBase = 0xfeb00000;
inline constexpr uint64_t kQemuMicrovmMmioSize = 512;
inline constexpr uint32_t kQemuMicrovmMmioSlots = 8;
inline constexpr uint32_t kQemuMicrovmFirstGsi = 16;

}  // namespace uk::virtio
