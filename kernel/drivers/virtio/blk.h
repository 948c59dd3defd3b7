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
// Timeout: if the device completes nothing for `timeout_ns` while requests
// are outstanding, the driver gives up on it for good. The outstanding
// requests end IoResult::kTimedOut (an I/O error whose buffers the device
// may still write: their owner retires them, see sector_device.h), every
// later request fails at once with kError, and the driver never touches the
// queue again -- no Pop, Add or notification -- so what a late completion
// writes (used ring, status bytes, data) lands only in memory the driver
// and the cache have abandoned. The device is not reset: a reset is only
// complete when the device says so, which a wedged device may never do (and
// QEMU's virtio-blk reset drains in-flight I/O inside the vCPU's register
// write, stalling the vCPU that asks).

#include <cstdint>

#include "kernel/arch/trap.h"
#include "kernel/drivers/sector_device.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/drivers/virtio/split_queue.h"
#include "kernel/sched/scheduler.h"

namespace uk::virtio {

struct BlockStats {
  uint64_t requests = 0;       // requests completed
  uint64_t batches = 0;        // Transfer calls
  uint64_t notifications = 0;  // doorbell writes (kicks)
  uint64_t interrupts = 0;
  uint64_t errors = 0;         // requests that failed, invalid or timed out
  uint64_t timed_out = 0;      // requests abandoned when the device timed out
  uint64_t refused = 0;        // requests failed at once: the device had failed
};

class BlockDriver final : public fs::SectorDevice, public sched::WaitSource {
 public:
  static constexpr uint16_t kQueueSize = 128;
  static constexpr uint16_t kMaxInFlight = 32;  // requests per device round trip
  static_assert(kMaxInFlight <= 32, "RunBatch tracks outstanding requests in a 32-bit mask");
  // No completion for this long with requests outstanding: the device has
  // failed. Generous: a flush on a busy host can take a while.
  static constexpr uint64_t kDefaultTimeoutNs = 5'000'000'000;

  // Finds the `index`-th virtio-blk PCI device and starts it with its
  // interrupts on the calling core. nullptr (and a log line saying why) if
  // there is none or it cannot be driven. Only one driver may exist.
  static BlockDriver* Start(uint32_t index = 0, uint64_t timeout_ns = kDefaultTimeoutNs);

  // SectorDevice:
  uint64_t SectorCount() const override { return sectors_; }
  bool ReadOnly() const override { return read_only_; }
  uint16_t MaxSegments() const override { return max_segments_; }
  bool Transfer(fs::IoRequest* requests, size_t count) override;
  bool Flush() override;

  // WaitSource: the device completed something.
  bool Ready() override { return queue_->HasCompletions(); }

  const BlockStats& stats() const { return stats_; }
  bool event_idx() const { return event_idx_; }
  bool failed() const { return failed_; }

 private:
  struct RequestHeader;  // the device-visible header + status byte

  explicit BlockDriver(uint64_t timeout_ns) : timeout_ns_(timeout_ns) {}
  bool Init(Transport* transport);
  // Publishes the `count` requests added with headers_[0..count) and waits
  // until all have completed, or until the device times out (then failed_).
  void RunBatch(uint32_t count);
  // The device completed nothing in time: `outstanding` (a mask of header
  // slots) end kTimedOut and the driver stops using the device.
  void GiveUp(uint32_t outstanding);
  // After GiveUp: fails `count` requests at once.
  bool Refuse(fs::IoRequest* requests, size_t count);
  static void OnInterrupt(arch::TrapFrame& frame);

  Transport* transport_ = nullptr;  // PCI or MMIO (transport.h)
  SplitQueue<kQueueSize>* queue_ = nullptr;  // in page-allocated memory
  RequestHeader* headers_ = nullptr;         // kMaxInFlight, DMA-visible
  uint64_t sectors_ = 0;
  uint16_t max_segments_ = 1;
  bool read_only_ = false;
  bool has_flush_ = false;
  bool event_idx_ = false;
  const uint64_t timeout_ns_;  // no completion for this long: the device is given up
  bool failed_ = false;  // timed out once: never used again
  bool late_completion_seen_ = false;
  BlockStats stats_;
};

}  // namespace uk::virtio
