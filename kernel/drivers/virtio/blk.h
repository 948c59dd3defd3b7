#pragma once
// virtio-blk (VIRTIO 1.1 section 5.2): one request queue, requests batched
// per Transfer (one notification for the batch, suppressed further by
// EVENT_IDX), completions by interrupt to the core that started the driver.
//
// The driver belongs to the thread that calls Start() (the fs service's):
// Transfer() parks that thread until the batch completes, and the interrupt
// handler only acknowledges the device and wakes the core; the queue is
// touched by that one thread alone.
//
// Not handled: a device that never completes a request parks its caller for
// good (no request timeout yet).

#include <cstdint>

#include "kernel/arch/trap.h"
#include "kernel/drivers/virtio/pci_transport.h"
#include "kernel/drivers/virtio/split_queue.h"
#include "kernel/sched/scheduler.h"
#include "services/fs/sector_device.h"

namespace uk::virtio {

struct BlockStats {
  uint64_t requests = 0;       // requests completed
  uint64_t batches = 0;        // Transfer calls
  uint64_t notifications = 0;  // doorbell writes (kicks)
  uint64_t interrupts = 0;
  uint64_t errors = 0;         // requests the device failed or refused
};

class BlockDriver final : public fs::SectorDevice, public sched::WaitSource {
 public:
  static constexpr uint16_t kQueueSize = 128;
  static constexpr uint16_t kMaxInFlight = 32;  // requests per device round trip

  // Finds the `index`-th virtio-blk PCI device and starts it with its
  // interrupts on the calling core. nullptr (and a log line saying why) if
  // there is none or it cannot be driven. Only one driver may exist.
  static BlockDriver* Start(uint32_t index = 0);

  // SectorDevice:
  uint64_t SectorCount() const override { return sectors_; }
  bool ReadOnly() const override { return read_only_; }
  uint16_t MaxSegments() const override { return max_segments_; }
  bool Transfer(fs::IoRequest* requests, size_t count) override;
  bool Flush() override;

  // WaitSource: the device completed something.
  bool Ready() override { return queue_->HasCompletions(); }

  const BlockStats& stats() const { return stats_; }
  bool uses_msix() const { return transport_.uses_msix(); }
  bool event_idx() const { return event_idx_; }

 private:
  struct RequestHeader;  // the device-visible header + status byte

  BlockDriver() = default;
  bool Init(const pci::Device& device);
  // Publishes the `count` requests added with headers_[0..count) and waits
  // until all have completed.
  void RunBatch(uint32_t count);
  static void OnInterrupt(arch::TrapFrame& frame);

  PciTransport transport_;
  SplitQueue<kQueueSize>* queue_ = nullptr;  // in page-allocated memory
  RequestHeader* headers_ = nullptr;         // kMaxInFlight, DMA-visible
  uint64_t sectors_ = 0;
  uint16_t max_segments_ = 1;
  bool read_only_ = false;
  bool has_flush_ = false;
  bool event_idx_ = false;
  BlockStats stats_;
};

}  // namespace uk::virtio
