#pragma once
// The virtio-mmio transport, "version 2" (non-legacy) registers (VIRTIO 1.1
// section 4.2.2): one register window per device, a level-triggered
// interrupt line acknowledged through InterruptStatus / InterruptACK.
// Where the windows are: mmio_devices.h; QEMU microvm and Firecracker use it.

#include <cstdint>

#include "kernel/drivers/virtio/mmio_devices.h"
#include "kernel/drivers/virtio/transport.h"

namespace uk::virtio {

class MmioTransport final : public Transport {
 public:
  // The virtio device type behind a window, 0 if there is none (no magic,
  // device id 0 as QEMU's empty slots read, or a window outside the
  // mapped range). Version 1 (legacy) devices are reported and skipped.
  static uint32_t Probe(const MmioDevice& device);

  // Resets the device and sets ACKNOWLEDGE and DRIVER. False (logged) if the
  // window holds no version 2 device.
  bool Init(const MmioDevice& device);

  uint64_t Negotiate(uint64_t wanted) override;
  bool RouteInterrupts(uint8_t vector, uint32_t apic_id) override;
  bool needs_acknowledge() const override { return true; }
  const char* interrupt_kind() const override { return interrupt_kind_; }
  uint16_t MaxQueueSize(uint16_t index) override;
  bool EnableQueue(uint16_t index, uint16_t size, uint64_t descriptors, uint64_t driver_area,
                   uint64_t device_area) override;
  void DriverOk() override;
  void Fail() override;
  void Notify(uint16_t index) override;
  uint8_t AcknowledgeInterrupt() override;
  volatile uint8_t* device_config() const override { return registers_ + kConfigOffset; }
  uint32_t device_config_length() const override {
    return static_cast<uint32_t>(device_.size - kConfigOffset);
  }

 private:
  static constexpr uint32_t kConfigOffset = 0x100;

  volatile uint32_t& Register(uint32_t offset) const {
    return *reinterpret_cast<volatile uint32_t*>(registers_ + offset);
  }

  MmioDevice device_;
  volatile uint8_t* registers_ = nullptr;
  char interrupt_kind_[24] = "MMIO";
};

}  // namespace uk::virtio
