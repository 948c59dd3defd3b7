#include "kernel/drivers/virtio/transport.h"

#include "kernel/arch/power.h"
#include "kernel/drivers/virtio/mmio_devices.h"
#include "kernel/drivers/virtio/mmio_transport.h"
#include "kernel/drivers/virtio/pci_transport.h"
#include "kernel/lib/log.h"

namespace uk::virtio {
namespace {

constexpr uint32_t kMaxMmioDevices = 16;
MmioDevice mmio_devices[kMaxMmioDevices];
uint32_t mmio_count = 0;
bool mmio_listed = false;  // from the command line: no probing

// QEMU microvm with ACPI: its slots (mmio_devices.h). Recognized by its
// Generic Event Device, which arch::FindPowerControls only sets up there.
void ProbeQemuMicrovmSlots() {
  if (mmio_listed || mmio_count > 0 || arch::GetPowerControls().ged_events == 0) return;
  for (uint32_t slot = 0; slot < kQemuMicrovmMmioSlots; ++slot) {
    const MmioDevice device{kQemuMicrovmMmioBase + slot * kQemuMicrovmMmioSize,
                            kQemuMicrovmMmioSize, kQemuMicrovmFirstGsi + slot};
    if (MmioTransport::Probe(device) != 0) mmio_devices[mmio_count++] = device;
  }
}

}  // namespace

void AddMmioDevicesFromCommandLine(std::string_view command_line) {
  ForEachMmioDevice(
      command_line,
      [](const MmioDevice& device) {
        mmio_listed = true;
        if (mmio_count < kMaxMmioDevices) mmio_devices[mmio_count++] = device;
        else Log(LogLevel::kWarn, "virtio-mmio: more than %u devices; 0x%lx ignored",
                 kMaxMmioDevices, device.base);
      },
      [](std::string_view bad) {
        Log(LogLevel::kWarn, "virtio-mmio: ignoring malformed virtio_mmio.device=%.*s",
            static_cast<int>(bad.size()), bad.data());
      });
}

Transport* FindTransport(uint32_t device_type, uint16_t transitional_pci_id, uint32_t index) {
  pci::Device pci_device;
  if (pci::FindDevice(kPciVendor, kModernDeviceIdBase + device_type, index, &pci_device) ||
      pci::FindDevice(kPciVendor, transitional_pci_id, index, &pci_device)) {
    auto* transport = new PciTransport();
    if (transport->Init(pci_device)) return transport;
    delete transport;
    return nullptr;
  }
  ProbeQemuMicrovmSlots();
  uint32_t seen = 0;
  for (uint32_t i = 0; i < mmio_count; ++i) {
    if (MmioTransport::Probe(mmio_devices[i]) != device_type || seen++ != index) continue;
    auto* transport = new MmioTransport();
    if (transport->Init(mmio_devices[i])) return transport;
    delete transport;
    return nullptr;
  }
  return nullptr;
}

}  // namespace uk::virtio
