#include "kernel/drivers/virtio/mmio_transport.h"

#include "kernel/arch/ioapic.h"
#include "kernel/arch/paging.h"
#include "kernel/lib/format.h"
#include "kernel/lib/log.h"

namespace uk::virtio {
namespace {

// Register offsets (VIRTIO 1.1 4.2.2).
constexpr uint32_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008;
constexpr uint32_t kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014;
constexpr uint32_t kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024;
constexpr uint32_t kQueueSel = 0x030, kQueueNumMax = 0x034, kQueueNum = 0x038;
constexpr uint32_t kQueueReady = 0x044, kQueueNotify = 0x050;
constexpr uint32_t kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070;
constexpr uint32_t kQueueDescLow = 0x080, kQueueDescHigh = 0x084;
constexpr uint32_t kQueueDriverLow = 0x090, kQueueDriverHigh = 0x094;
constexpr uint32_t kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4;

constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
constexpr uint32_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4;
constexpr uint32_t kStatusFeaturesOk = 8, kStatusFailed = 128;

volatile uint32_t* Window(const MmioDevice& device) {
  if (device.base + device.size > arch::kDirectMapLimit) return nullptr;
  return arch::PhysToVirt<volatile uint32_t>(device.base);
}

}  // namespace

uint32_t MmioTransport::Probe(const MmioDevice& device) {
  volatile uint32_t* window = Window(device);
  if (window == nullptr || window[kMagic / 4] != kMagicValue) return 0;
  const uint32_t type = window[kDeviceId / 4];
  if (type != 0 && window[kVersion / 4] != 2) {
    Log(LogLevel::kWarn, "virtio-mmio: device type %u at 0x%lx is legacy (version %u); skipped",
        type, device.base, window[kVersion / 4]);
    return 0;
  }
  return type;
}

bool MmioTransport::Init(const MmioDevice& device) {
  if (Probe(device) == 0) {
    Log(LogLevel::kError, "virtio-mmio: no version 2 device at 0x%lx", device.base);
    return false;
  }
  device_ = device;
  registers_ = reinterpret_cast<volatile uint8_t*>(Window(device));
  Format(interrupt_kind_, sizeof(interrupt_kind_), "MMIO gsi %u", device.gsi);
  Register(kStatus) = 0;  // reset; reads 0 once done
  for (int i = 0; i < 1000000 && Register(kStatus) != 0; ++i) {
  }
  Register(kStatus) = kStatusAcknowledge;
  Register(kStatus) = kStatusAcknowledge | kStatusDriver;
  return true;
}

uint64_t MmioTransport::Negotiate(uint64_t wanted) {
  Register(kDeviceFeaturesSel) = 0;
  uint64_t offered = Register(kDeviceFeatures);
  Register(kDeviceFeaturesSel) = 1;
  offered |= uint64_t{Register(kDeviceFeatures)} << 32;
  if ((offered & kFeatureVersion1) == 0) {
    Log(LogLevel::kError, "virtio-mmio: device at 0x%lx has no VERSION_1", device_.base);
    Fail();
    return 0;
  }
  const uint64_t accepted = (wanted | kFeatureVersion1) & offered;
  Register(kDriverFeaturesSel) = 0;
  Register(kDriverFeatures) = static_cast<uint32_t>(accepted);
  Register(kDriverFeaturesSel) = 1;
  Register(kDriverFeatures) = static_cast<uint32_t>(accepted >> 32);
  Register(kStatus) = kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk;
  if ((Register(kStatus) & kStatusFeaturesOk) == 0) {
    Log(LogLevel::kError, "virtio-mmio: device refused features 0x%lx", accepted);
    Fail();
    return 0;
  }
  return accepted;
}

bool MmioTransport::RouteInterrupts(uint8_t vector, uint32_t apic_id) {
  // Level-triggered, active high: the line stays up until InterruptACK.
  if (!arch::RouteGsi(device_.gsi, vector, apic_id, /*level=*/true, /*active_low=*/false)) {
    Log(LogLevel::kError, "virtio-mmio: cannot route gsi %u", device_.gsi);
    return false;
  }
  return true;
}

uint16_t MmioTransport::MaxQueueSize(uint16_t index) {
  Register(kQueueSel) = index;
  if (Register(kQueueReady) != 0) return 0;  // in use: not ours to set up
  const uint32_t max = Register(kQueueNumMax);
  return static_cast<uint16_t>(max > 0xffff ? 0xffff : max);
}

bool MmioTransport::EnableQueue(uint16_t index, uint16_t size, uint64_t descriptors,
                                uint64_t driver_area, uint64_t device_area) {
  Register(kQueueSel) = index;
  const uint32_t max = Register(kQueueNumMax);
  if (max == 0 || size > max || Register(kQueueReady) != 0) return false;
  Register(kQueueNum) = size;
  Register(kQueueDescLow) = static_cast<uint32_t>(descriptors);
  Register(kQueueDescHigh) = static_cast<uint32_t>(descriptors >> 32);
  Register(kQueueDriverLow) = static_cast<uint32_t>(driver_area);
  Register(kQueueDriverHigh) = static_cast<uint32_t>(driver_area >> 32);
  Register(kQueueDeviceLow) = static_cast<uint32_t>(device_area);
  Register(kQueueDeviceHigh) = static_cast<uint32_t>(device_area >> 32);
  Register(kQueueReady) = 1;
  return true;
}

void MmioTransport::DriverOk() {
  Register(kStatus) = kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk;
}

void MmioTransport::Fail() { Register(kStatus) = Register(kStatus) | kStatusFailed; }

void MmioTransport::Notify(uint16_t index) { Register(kQueueNotify) = index; }

uint8_t MmioTransport::AcknowledgeInterrupt() {
  const uint32_t status = Register(kInterruptStatus);
  if (status != 0) Register(kInterruptAck) = status;
  return static_cast<uint8_t>(status);
}

}  // namespace uk::virtio
