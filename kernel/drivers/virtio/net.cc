#include "kernel/drivers/virtio/net.h"

#include "kernel/drivers/virtio/net_header.h"

#include <new>

#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/lib/log.h"
#include "kernel/mm/page_allocator.h"
#include "kernel/sched/scheduler.h"

namespace uk::virtio {
namespace {

constexpr uint16_t kTransitionalNetId = 0x1000;
constexpr uint16_t kReceiveQueue = 0, kTransmitQueue = 1;

constexpr uint64_t kFeatureCsum = 1ull << 0;  // the device completes L4 checksums
constexpr uint64_t kFeatureMtu = 1ull << 3;
constexpr uint64_t kFeatureMac = 1ull << 5;
constexpr uint64_t kFeatureStatus = 1ull << 16;
constexpr uint16_t kLinkUp = 1;

NetDriver* the_driver = nullptr;

}  // namespace

// One receive or transmit buffer: the header, then the frame. 2 KiB, so a
// buffer never crosses a page (each is one physically contiguous segment).
struct alignas(2048) NetDriver::Buffer {
  NetHeader header;
  uint8_t frame[2048 - sizeof(NetHeader)];
};
static_assert(sizeof(NetDriver::Buffer) == 2048);

NetDriver* NetDriver::Start() {
  if (the_driver != nullptr) return nullptr;
  Transport* transport = FindTransport(kNetDeviceType, kTransitionalNetId, 0);
  if (transport == nullptr) return nullptr;
  auto* driver = new NetDriver();
  if (!driver->Init(transport)) return nullptr;  // the device stays FAILED
  return driver;
}

bool NetDriver::Init(Transport* transport) {
  transport_ = transport;
  // No VIRTIO_F_EVENT_IDX: QEMU 7.2's virtio-net can lose a transmit kick
  // with it. After an asynchronous transmit completion
  // (virtio_net_tx_complete) it pops with notifications on; each pop writes
  // avail_event and the next emptiness check re-reads avail.idx with no full
  // barrier in between, so the store and the load can pass each other. The
  // device then sees an empty ring while we read an old avail_event and skip
  // the kick, and transmission stops for good (docs/net.md, "The one-core
  // hang"). The flag protocol (VIRTQ_USED_F_NO_NOTIFY) has no such window:
  // QEMU clears the flag and fences before its last check.
  const uint64_t features =
      transport_->Negotiate(kFeatureMac | kFeatureStatus | kFeatureMtu | kFeatureCsum);
  if (features == 0) return false;
  checksum_offload_ = (features & kFeatureCsum) != 0;
  const bool event_idx = (features & kFeatureEventIdx) != 0;
  volatile uint8_t* config = transport_->device_config();
  if (config == nullptr || transport_->device_config_length() < 12) {
    Log(LogLevel::kError, "virtio-net: no device configuration");
    transport_->Fail();
    return false;
  }
  if (features & kFeatureMac) {
    for (int i = 0; i < 6; ++i) mac_.bytes[i] = config[i];
  } else {
    // No MAC from the device: a fixed locally administered one.
    mac_ = {{0x02, 0x75, 0x6b, 0x00, 0x00, 0x01}};
  }
  has_status_ = (features & kFeatureStatus) != 0;
  if (features & kFeatureMtu) {
    const uint16_t mtu = *reinterpret_cast<volatile uint16_t*>(config + 10);
    if (mtu >= 576 && mtu < mtu_) mtu_ = mtu;  // larger frames than 1514 are not offered
  }

  void* rx_memory = AllocateContiguous(sizeof(SplitQueue<kQueueSize>));
  void* tx_memory = AllocateContiguous(sizeof(SplitQueue<kQueueSize>));
  rx_buffers_ = static_cast<Buffer*>(AllocateContiguous(sizeof(Buffer) * kQueueSize));
  tx_buffers_ = static_cast<Buffer*>(AllocateContiguous(sizeof(Buffer) * kQueueSize));
  if (rx_memory == nullptr || tx_memory == nullptr || rx_buffers_ == nullptr ||
      tx_buffers_ == nullptr) {
    Log(LogLevel::kError, "virtio-net: out of memory for the queues");
    transport_->Fail();
    return false;
  }
  rx_ = new (rx_memory) SplitQueue<kQueueSize>(event_idx);
  tx_ = new (tx_memory) SplitQueue<kQueueSize>(event_idx);
  for (uint16_t slot = 0; slot < kQueueSize; ++slot) tx_free_[tx_free_count_++] = slot;

  the_driver = this;
  arch::SetInterruptHandler(arch::kNetVector, &OnInterrupt);
  auto enable = [this](uint16_t index, SplitQueue<kQueueSize>* queue) {
    return kQueueSize <= transport_->MaxQueueSize(index) &&
           transport_->EnableQueue(index, kQueueSize, arch::VirtToPhys(queue->descriptor_area()),
                                  arch::VirtToPhys(queue->driver_area()),
                                  arch::VirtToPhys(queue->device_area()));
  };
  if (!transport_->RouteInterrupts(arch::kNetVector, arch::CurrentCpu().apic_id) ||
      !enable(kReceiveQueue, rx_) || !enable(kTransmitQueue, tx_)) {
    Log(LogLevel::kError, "virtio-net: cannot set up the queues or their interrupt");
    transport_->Fail();
    return false;
  }
  tx_->DisableInterrupts();  // completions are reclaimed when transmitting
  transport_->DriverOk();
  for (uint16_t slot = 0; slot < kQueueSize; ++slot) PostReceive(slot);
  Flush();
  Log(LogLevel::kInfo,
      "virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, link %s, %s, event_idx %s, "
      "tx checksum offload %s",
      mac_.bytes[0], mac_.bytes[1], mac_.bytes[2], mac_.bytes[3], mac_.bytes[4], mac_.bytes[5],
      mtu_, LinkUp() ? "up" : "down", transport_->interrupt_kind(),
      event_idx ? "on" : "off", checksum_offload_ ? "on" : "off");
  return true;
}

void NetDriver::OnInterrupt(arch::TrapFrame&) {
  NetDriver* driver = the_driver;
  if (driver->transport_->needs_acknowledge()) driver->transport_->AcknowledgeInterrupt();
  ++driver->stats_.interrupts;
  sched::Scheduler::ForCore(arch::CurrentCpuIndex()).InterruptWake();
}

bool NetDriver::LinkUp() {
  if (!has_status_) return true;
  return (*reinterpret_cast<volatile uint16_t*>(transport_->device_config() + 6) & kLinkUp) != 0;
}

void NetDriver::PostReceive(uint16_t slot) {
  const Segment segment{arch::VirtToPhys(&rx_buffers_[slot]), sizeof(Buffer), true};
  rx_->Add(&segment, 1, slot);  // cannot fail: a slot is posted once at a time
}

bool NetDriver::Receive(std::span<const uint8_t>* frame) {
  if (current_rx_ >= 0) return false;  // the caller must release the frame it holds first
  Completion completion;
  while (rx_->Pop(&completion)) {
    const auto slot = static_cast<uint16_t>(completion.cookie);
    if (slot >= kQueueSize || completion.written <= sizeof(NetHeader) ||
        completion.written > sizeof(NetHeader) + net::kMaxFrame) {
      ++stats_.rx_dropped;  // runt or oversized: give the buffer straight back
      if (slot < kQueueSize) PostReceive(slot);
      continue;
    }
    ++stats_.rx_frames;
    current_rx_ = slot;
    *frame = {rx_buffers_[slot].frame, completion.written - sizeof(NetHeader)};
    return true;
  }
  return false;
}

void NetDriver::ReleaseReceived() {
  if (current_rx_ < 0) return;
  PostReceive(static_cast<uint16_t>(current_rx_));
  current_rx_ = -1;
}

void NetDriver::ReclaimTransmitted() {
  Completion completion;
  while (tx_->Pop(&completion)) {
    if (completion.cookie < kQueueSize) {
      tx_free_[tx_free_count_++] = static_cast<uint16_t>(completion.cookie);
    }
  }
}

bool NetDriver::Transmit(const std::span<const uint8_t>* parts, size_t count) {
  size_t length = 0;
  for (size_t i = 0; i < count; ++i) length += parts[i].size();
  if (length == 0 || length > net::kMaxFrame) return true;  // not sendable: dropped, not retried
  if (tx_free_count_ == 0) ReclaimTransmitted();
  if (tx_free_count_ == 0) {
    ++stats_.tx_ring_full;
    return false;
  }
  const uint16_t slot = tx_free_[--tx_free_count_];
  Buffer& buffer = tx_buffers_[slot];
  buffer.header = {};
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    __builtin_memcpy(buffer.frame + at, parts[i].data(), parts[i].size());
    at += parts[i].size();
  }
  if (checksum_offload_ && RequestChecksum(&buffer.header, buffer.frame, length)) {
    ++stats_.tx_checksum_offloaded;
  }
  const Segment segment{arch::VirtToPhys(&buffer),
                        static_cast<uint32_t>(sizeof(NetHeader) + length), false};
  tx_->Add(&segment, 1, slot);
  ++stats_.tx_frames;
  return true;
}

void NetDriver::Flush() {
  if (rx_->Publish()) {
    transport_->Notify(kReceiveQueue);
    ++stats_.rx_notifications;
  }
  if (tx_->Publish()) {
    transport_->Notify(kTransmitQueue);
    ++stats_.tx_notifications;
  }
}

bool NetDriver::Ready() {
  return rx_->HasCompletions() || (tx_free_count_ == 0 && tx_->HasCompletions());
}

bool NetDriver::ArmInterrupts() {
  ReclaimTransmitted();
  // A full transmit ring also needs an interrupt when slots come back.
  bool pending = rx_->EnableInterrupts();
  if (tx_free_count_ == 0) pending |= tx_->EnableInterrupts();
  else tx_->DisableInterrupts();
  return pending;
}

}  // namespace uk::virtio
