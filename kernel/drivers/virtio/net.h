#pragma once
// virtio-net (VIRTIO 1.1 section 5.1): one receive and one transmit queue,
// fixed buffers allocated at start (no allocation on the hot path), frames
// copied in and out, notifications batched per Flush() and interrupts
// suppressed while the service is busy (EVENT_IDX).
//
// The driver belongs to the thread that calls Start() (the net service's);
// interrupts go to that core and the handler only wakes it.

#include <cstdint>

#include "kernel/arch/trap.h"
#include "kernel/drivers/net_device.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/split_queue.h"

namespace uk::virtio {

struct NetStats {
  uint64_t rx_frames = 0;
  uint64_t rx_dropped = 0;      // malformed or oversized completions, skipped
  uint64_t tx_frames = 0;
  uint64_t tx_checksum_offloaded = 0;
  uint64_t tx_ring_full = 0;    // Transmit() refused: the caller retries
  uint64_t rx_notifications = 0;
  uint64_t tx_notifications = 0;
  uint64_t interrupts = 0;
};

class NetDriver final : public net::NetDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;

  // Finds the first virtio-net PCI device and starts it with its interrupts
  // on the calling core. nullptr (and a log line) if there is none or it
  // cannot be driven.
  static NetDriver* Start();

  net::MacAddress mac() const override { return mac_; }
  uint16_t mtu() const override { return mtu_; }
  bool LinkUp() override;
  bool OffloadsTransmitChecksums() const override { return checksum_offload_; }
  bool Receive(std::span<const uint8_t>* frame) override;
  void ReleaseReceived() override;
  bool Transmit(const std::span<const uint8_t>* parts, size_t count) override;
  void Flush() override;
  bool Ready() override;
  bool ArmInterrupts() override;

  const NetStats& stats() const { return stats_; }

  struct Buffer;  // virtio_net_hdr + one frame (in the .cc)

 private:
  NetDriver() = default;
  bool Init(Transport* transport);
  void PostReceive(uint16_t slot);
  void ReclaimTransmitted();
  static void OnInterrupt(arch::TrapFrame& frame);

  Transport* transport_ = nullptr;  // PCI or MMIO (transport.h)
  SplitQueue<kQueueSize>* rx_ = nullptr;
  SplitQueue<kQueueSize>* tx_ = nullptr;
  Buffer* rx_buffers_ = nullptr;  // kQueueSize, slot = cookie
  Buffer* tx_buffers_ = nullptr;  // kQueueSize
  uint16_t tx_free_[kQueueSize];  // stack of free transmit slots
  uint16_t tx_free_count_ = 0;
  int32_t current_rx_ = -1;       // slot handed out by Receive()
  net::MacAddress mac_;
  uint16_t mtu_ = 1500;
  bool has_status_ = false;
  bool checksum_offload_ = false;  // CSUM negotiated: the device completes L4 checksums
  NetStats stats_;
};

}  // namespace uk::virtio
