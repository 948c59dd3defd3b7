#pragma once
// What a virtio driver needs from its transport, whichever it is: PCI
// (pci_transport.h, the `pc` and `q35` machines) or MMIO (mmio_transport.h,
// QEMU microvm and Firecracker). The drivers (blk, net) see only this, and
// FindTransport() hands them one for their device type. docs/drivers.md has
// the whole picture.
//
// A transport is owned by its driver and used only from the driver's core.

#include <cstdint>
#include <string_view>

namespace uk::virtio {

inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;
inline constexpr uint32_t kNetDeviceType = 1, kBlockDeviceType = 2;

class Transport {
 public:
  virtual ~Transport() = default;

  // Offers `wanted` & what the device has, plus VERSION_1 (required).
  // Returns the accepted set, or 0 if the device refused FEATURES_OK.
  virtual uint64_t Negotiate(uint64_t wanted) = 0;

  // Routes the device's interrupts to `vector` on local APIC `apic_id`.
  virtual bool RouteInterrupts(uint8_t vector, uint32_t apic_id) = 0;
  // The interrupt handler must call AcknowledgeInterrupt (a level-triggered
  // line stays up until then); false for MSI-X.
  virtual bool needs_acknowledge() const = 0;
  // For log lines: "MSI-X", "INTx", "MMIO irq 17".
  virtual const char* interrupt_kind() const = 0;

  // Queue `index`: the device's maximum size (0: no such queue), then hand it
  // over with `size` entries and the physical addresses of its three areas.
  // After RouteInterrupts, before DriverOk.
  virtual uint16_t MaxQueueSize(uint16_t index) = 0;
  virtual bool EnableQueue(uint16_t index, uint16_t size, uint64_t descriptors,
                           uint64_t driver_area, uint64_t device_area) = 0;

  virtual void DriverOk() = 0;
  virtual void Fail() = 0;  // sets FAILED: the device stops using our memory

  // Tells the device queue `index` (enabled) has new buffers.
  virtual void Notify(uint16_t index) = 0;

  // Reads and clears the interrupt status; bit 0 = a queue interrupt.
  virtual uint8_t AcknowledgeInterrupt() = 0;

  // The device-specific configuration (uncached MMIO), and its length.
  virtual volatile uint8_t* device_config() const = 0;
  virtual uint32_t device_config_length() const = 0;
};

// The `index`-th device of virtio type `device_type` (kNetDeviceType, ...),
// on PCI first (modern id, then `transitional_pci_id`), then on MMIO
// (mmio_devices.h), reset and with ACKNOWLEDGE and DRIVER set; nullptr if
// there is none (or it is not usable: logged). Allocates the transport.
Transport* FindTransport(uint32_t device_type, uint16_t transitional_pci_id, uint32_t index);

// Boot: the virtio_mmio.device= entries of the kernel command line
// (mmio_devices.h); malformed ones are logged and skipped.
void AddMmioDevicesFromCommandLine(std::string_view command_line);

}  // namespace uk::virtio
