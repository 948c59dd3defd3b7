#pragma once
// The seam between the block cache and a disk driver: 512-byte sectors,
// requests submitted in batches, scatter-gather segments.
//
// The kernel implements it with virtio-blk (kernel/drivers/virtio/blk.h);
// host tests with a vector of bytes that counts requests.
//
// Memory: segments point at the caller's memory (kernel virtual addresses in
// the direct map; each segment physically contiguous, which the block
// cache's 4 KiB-aligned pages are). The device uses them only until
// Transfer() returns -- except for a request that ends kTimedOut: the device
// never answered it and may still read or write its segments at any time,
// so that memory stays lent to the device for good.

#include <cstddef>
#include <cstdint>

namespace uk::fs {

inline constexpr uint32_t kSectorSize = 512;

struct IoSegment {
  void* data;
  uint32_t length;  // a multiple of kSectorSize
};

enum class IoOp : uint8_t { kRead, kWrite };

// How a request ended.
enum class IoResult : uint8_t {
  kOk,
  kError,     // failed or refused; the segments are the caller's again
  kTimedOut,  // the device did not complete it in time and was given up on
              // (it fails every later request). It may still access the
              // segments: the caller must never reuse that memory.
};

// One request: consecutive sectors from `sector`, spread over `segments`.
struct IoRequest {
  IoOp op = IoOp::kRead;
  uint64_t sector = 0;
  const IoSegment* segments = nullptr;
  uint16_t segment_count = 0;
  IoResult result = IoResult::kError;  // set by Transfer

  bool ok() const { return result == IoResult::kOk; }
};

class SectorDevice {
 public:
  virtual uint64_t SectorCount() const = 0;
  virtual bool ReadOnly() const = 0;
  // Most segments one request may carry.
  virtual uint16_t MaxSegments() const = 0;

  // Submits all `count` requests together and returns when every one has
  // completed or timed out, each with its `result` set. True if all
  // succeeded. Requests past the end of the device fail without being
  // submitted. A device that timed out fails everything afterwards at once.
  virtual bool Transfer(IoRequest* requests, size_t count) = 0;

  // Makes completed writes durable (a no-op on a device without a cache).
  virtual bool Flush() = 0;

 protected:
  ~SectorDevice() = default;
};

}  // namespace uk::fs
