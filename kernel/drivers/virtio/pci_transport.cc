#include "kernel/drivers/virtio/pci_transport.h"

#include <cstddef>

#include "kernel/arch/ioapic.h"
#include "kernel/arch/paging.h"
#include "kernel/lib/log.h"

namespace uk::virtio {

// VIRTIO 1.1 4.1.4.3. Registers are little-endian, as is x86.
struct PciTransport::CommonConfig {
  uint32_t device_feature_select;
  uint32_t device_feature;
  uint32_t driver_feature_select;
  uint32_t driver_feature;
  uint16_t msix_config;
  uint16_t num_queues;
  uint8_t device_status;
  uint8_t config_generation;
  uint16_t queue_select;
  uint16_t queue_size;
  uint16_t queue_msix_vector;
  uint16_t queue_enable;
  uint16_t queue_notify_off;
  uint64_t queue_desc;
  uint64_t queue_driver;
  uint64_t queue_device;
};
static_assert(offsetof(PciTransport::CommonConfig, queue_desc) == 0x20);
static_assert(sizeof(PciTransport::CommonConfig) == 0x38);

namespace {

constexpr uint8_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4;
constexpr uint8_t kStatusFeaturesOk = 8, kStatusFailed = 128;
constexpr uint16_t kNoVector = 0xffff;

enum CapabilityType : uint8_t { kCommon = 1, kNotify = 2, kIsr = 3, kDevice = 4 };

// A virtio capability's position: which BAR, where in it, how long.
struct Region {
  uint8_t bar;
  uint32_t offset;
  uint32_t length;
};

// Maps a region to a pointer if it lies inside a usable BAR.
volatile uint8_t* MapRegion(const pci::Device& device, const Region& region, uint32_t min_length) {
  const pci::Bar bar = pci::ReadBar(device, region.bar);
  if (!bar.usable || region.length < min_length ||
      uint64_t{region.offset} + region.length > bar.size) {
    return nullptr;
  }
  return arch::PhysToVirt<volatile uint8_t>(bar.phys + region.offset);
}

// 64-bit registers are written as two 32-bit halves (4.1.3.1).
void Write64(volatile uint64_t* reg, uint64_t value) {
  auto* halves = reinterpret_cast<volatile uint32_t*>(reg);
  halves[0] = static_cast<uint32_t>(value);
  halves[1] = static_cast<uint32_t>(value >> 32);
}

}  // namespace

bool PciTransport::Init(const pci::Device& device) {
  device_ = device;
  for (uint8_t cap = pci::FindCapability(device, pci::kCapabilityVendor); cap != 0;
       cap = pci::FindCapability(device, pci::kCapabilityVendor, cap)) {
    const uint8_t type = device.Read8(cap + 3);
    const Region region{device.Read8(cap + 4), device.Read32(cap + 8), device.Read32(cap + 12)};
    // The first capability of each type is the preferred one (4.1.4).
    if (type == kCommon && common_ == nullptr) {
      common_ = reinterpret_cast<volatile CommonConfig*>(
          MapRegion(device, region, sizeof(CommonConfig)));
    } else if (type == kNotify && notify_base_ == nullptr) {
      notify_base_ = MapRegion(device, region, 2);
      notify_multiplier_ = device.Read32(cap + 16);
      notify_length_ = region.length;
    } else if (type == kIsr && isr_ == nullptr) {
      isr_ = MapRegion(device, region, 1);
    } else if (type == kDevice && device_config_ == nullptr) {
      device_config_ = MapRegion(device, region, 1);
      device_config_length_ = region.length;
    }
  }
  if (common_ == nullptr || notify_base_ == nullptr || isr_ == nullptr) {
    Log(LogLevel::kError,
        "virtio: %02x:%02x.%x has no usable modern capabilities (BARs above 4 GiB or "
        "unassigned?)",
        device.bus, device.slot, device.function);
    return false;
  }
  pci::EnableBusMaster(device);
  common_->device_status = 0;  // reset; reads 0 once the reset is done
  for (int i = 0; i < 1000000 && common_->device_status != 0; ++i) {
  }
  common_->device_status = kStatusAcknowledge;
  common_->device_status = kStatusAcknowledge | kStatusDriver;
  return true;
}

uint64_t PciTransport::Negotiate(uint64_t wanted) {
  common_->device_feature_select = 0;
  uint64_t offered = common_->device_feature;
  common_->device_feature_select = 1;
  offered |= uint64_t{common_->device_feature} << 32;
  if ((offered & kFeatureVersion1) == 0) {
    Log(LogLevel::kError, "virtio: device is legacy-only (no VERSION_1)");
    Fail();
    return 0;
  }
  const uint64_t accepted = (wanted | kFeatureVersion1) & offered;
  common_->driver_feature_select = 0;
  common_->driver_feature = static_cast<uint32_t>(accepted);
  common_->driver_feature_select = 1;
  common_->driver_feature = static_cast<uint32_t>(accepted >> 32);
  common_->device_status = kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk;
  if ((common_->device_status & kStatusFeaturesOk) == 0) {
    Log(LogLevel::kError, "virtio: device refused features 0x%lx", accepted);
    Fail();
    return 0;
  }
  return accepted;
}

bool PciTransport::RouteInterrupts(uint8_t vector, uint32_t apic_id) {
  if (pci::MsiXTableSize(device_) > 0 && pci::RouteMsiX(device_, 0, vector, apic_id)) {
    common_->msix_config = kNoVector;  // no config-change interrupts
    msix_ = true;
    return true;
  }
  // INTx: the firmware's interrupt line is an ISA IRQ number whose MADT
  // override (level, active high on QEMU) RouteIsaIrq applies.
  if (device_.interrupt_pin == 0 || device_.interrupt_line >= 16 ||
      !arch::RouteIsaIrq(device_.interrupt_line, vector, apic_id)) {
    Log(LogLevel::kError, "virtio: no MSI-X and no routable INTx line (%u)",
        device_.interrupt_line);
    return false;
  }
  msix_ = false;
  return true;
}

uint16_t PciTransport::MaxQueueSize(uint16_t index) {
  common_->queue_select = index;
  return common_->queue_size;
}

bool PciTransport::EnableQueue(uint16_t index, uint16_t size, uint64_t descriptors,
                               uint64_t driver_area, uint64_t device_area) {
  if (index >= kMaxQueues) return false;
  common_->queue_select = index;
  const uint16_t max = common_->queue_size;
  if (max == 0 || size > max) return false;
  // Where this queue's doorbell is, computed once (4.1.4.4).
  const uint64_t notify = uint64_t{common_->queue_notify_off} * notify_multiplier_;
  if (notify + 2 > notify_length_) return false;
  queue_notify_[index] = reinterpret_cast<volatile uint16_t*>(notify_base_ + notify);
  common_->queue_size = size;
  if (msix_) {
    common_->queue_msix_vector = 0;
    if (common_->queue_msix_vector != 0) return false;  // device had no room
  }
  Write64(&common_->queue_desc, descriptors);
  Write64(&common_->queue_driver, driver_area);
  Write64(&common_->queue_device, device_area);
  common_->queue_enable = 1;
  return true;
}

void PciTransport::DriverOk() {
  common_->device_status = kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk |
                           kStatusDriverOk;
}

void PciTransport::Fail() { common_->device_status = common_->device_status | kStatusFailed; }

void PciTransport::Notify(uint16_t index) {
  if (index < kMaxQueues && queue_notify_[index] != nullptr) *queue_notify_[index] = index;
}

uint8_t PciTransport::AcknowledgeInterrupt() { return *isr_; }

}  // namespace uk::virtio
