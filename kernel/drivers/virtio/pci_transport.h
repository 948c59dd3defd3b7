#pragma once
// The virtio 1.x "modern" PCI transport (VIRTIO 1.1 section 4.1): finds the
// vendor capabilities that locate the common, notify, ISR and device
// configuration structures in the BARs, runs the status handshake, negotiates
// features, hands queues to the device and routes their interrupt.
//
// Shared by the block and network drivers. A driver owns its transport and
// uses it only from the core it runs on; nothing here is shared.
//
// Interrupts: MSI-X entry 0 carries every queue's interrupt when the device
// has MSI-X; otherwise the legacy INTx line is routed through the I/O APIC
// and the handler must call AcknowledgeInterrupt() (reading the ISR
// register lowers the level-triggered line).

#include <cstdint>

#include "kernel/drivers/pci.h"
#include "kernel/drivers/virtio/transport.h"

namespace uk::virtio {

inline constexpr uint16_t kPciVendor = 0x1af4;
inline constexpr uint16_t kModernDeviceIdBase = 0x1040;  // + virtio device type

class PciTransport final : public Transport {
 public:
  // Locates the structures and resets the device, then sets ACKNOWLEDGE and
  // DRIVER. False (with a log line) if `device` is not a usable modern
  // virtio device.
  bool Init(const pci::Device& device);

  // Offers `wanted` & what the device has, plus VERSION_1 (required).
  // Returns the accepted set, or 0 if the device refused FEATURES_OK.
  uint64_t Negotiate(uint64_t wanted) override;

  // Routes the device's interrupts to `vector` on local APIC `apic_id`.
  bool RouteInterrupts(uint8_t vector, uint32_t apic_id) override;
  bool uses_msix() const { return msix_; }
  bool needs_acknowledge() const override { return !msix_; }
  const char* interrupt_kind() const override { return msix_ ? "MSI-X" : "INTx"; }

  // Gives queue `index` to the device: `size` entries (at most the device's
  // maximum, returned by MaxQueueSize) and the physical addresses of the
  // three areas. Must run after RouteInterrupts and before DriverOk.
  uint16_t MaxQueueSize(uint16_t index) override;
  bool EnableQueue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver_area,
                   uint64_t device_area) override;

  void DriverOk() override;
  void Fail() override;  // sets FAILED: the device stops using our memory

  // Tells the device queue `index` (enabled, < 8) has new buffers.
  void Notify(uint16_t index) override;

  // Reads (and so clears) the ISR status; bit 0 = a queue interrupt.
  uint8_t AcknowledgeInterrupt() override;

  // The device-specific configuration structure (uncached MMIO).
  volatile uint8_t* device_config() const override { return device_config_; }
  uint32_t device_config_length() const override { return device_config_length_; }

  const pci::Device& pci_device() const { return device_; }

  struct CommonConfig;  // the register layout, in the .cc

 private:
  static constexpr uint16_t kMaxQueues = 8;

  pci::Device device_;
  volatile CommonConfig* common_ = nullptr;
  volatile uint8_t* notify_base_ = nullptr;
  uint32_t notify_multiplier_ = 0;
  uint32_t notify_length_ = 0;
  volatile uint8_t* isr_ = nullptr;
  volatile uint8_t* device_config_ = nullptr;
  uint32_t device_config_length_ = 0;
  volatile uint16_t* queue_notify_[kMaxQueues] = {};  // per queue, set by EnableQueue
  bool msix_ = false;
};

}  // namespace uk::virtio
