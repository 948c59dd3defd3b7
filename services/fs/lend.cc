#include "services/fs/lend.h"

#include <algorithm>

namespace uk::fs {
namespace {

constexpr uint32_t kPageSize = BlockCache::kPageSize;

// Page-aligned so a run of holes merges into one extent of up to a page.
alignas(kPageSize) constexpr uint8_t kZeroPage[kPageSize] = {};

bool InZeroPage(const uint8_t* data) { return data >= kZeroPage && data < kZeroPage + kPageSize; }

// The extents of a lease, in file order. Each run of bytes is named by its
// device offset, or kZeros for a hole; a run that follows the last extent
// inside the same page (the next block of the page, or more zeros that fit
// the zero page) extends it instead of taking an extent and a pin.
class ExtentBuilder {
 public:
  explicit ExtentBuilder(LeaseExtents* out) : out_(out) {}

  bool Continues(uint64_t device_offset, uint32_t length) const {
    if (out_->count == 0) return false;
    if (device_offset == kZeros) {
      return last_end_ == kZeros && Last().length + length <= kPageSize;
    }
    // A run never crosses a page, so one that starts where the last extent
    // ended, not on a page boundary, is in that extent's page.
    return last_end_ == device_offset && device_offset % kPageSize != 0;
  }
  // Extends the last extent (Continues was true); `length` stays in its page.
  void Extend(uint64_t device_offset, uint32_t length) {
    out_->extents[out_->count - 1].length += length;
    last_end_ = device_offset == kZeros ? kZeros : device_offset + length;
  }
  bool Full() const { return out_->count == LeaseExtents::kMaxExtents; }
  void Start(const uint8_t* data, uint64_t device_offset, uint32_t length) {
    out_->extents[out_->count++] = {data, length, 0};
    last_end_ = device_offset == kZeros ? kZeros : device_offset + length;
  }

  static constexpr uint64_t kZeros = UINT64_MAX;

 private:
  const LentExtent& Last() const { return out_->extents[out_->count - 1]; }

  LeaseExtents* out_;
  uint64_t last_end_ = kZeros;
};

}  // namespace

const uint8_t* ZeroPage() { return kZeroPage; }

Result<uint64_t> LendExtents(Ext2& ext2, BlockCache& cache, const Inode& file, uint64_t offset,
                             uint32_t max_length, LeaseExtents* out) {
  *out = LeaseExtents{};
  if (offset >= file.size) return uint64_t{0};
  const uint64_t end = offset + std::min<uint64_t>(max_length, file.size - offset);
  const uint32_t block_size = ext2.block_size();
  ExtentBuilder builder(out);
  uint64_t position = offset;
  while (position < end) {
    const uint64_t index = position / block_size;
    const uint32_t within = static_cast<uint32_t>(position % block_size);
    // A block never crosses a page: block sizes divide the page size.
    const uint32_t length =
        static_cast<uint32_t>(std::min<uint64_t>(block_size - within, end - position));
    const Result<uint32_t> block = ext2.MapBlock(file, index);
    if (!block.ok()) {
      ReturnExtents(cache, out);
      return block.error();
    }
    const uint64_t device_offset =
        block.value() == 0 ? ExtentBuilder::kZeros : uint64_t{block.value()} * block_size + within;
    if (builder.Continues(device_offset, length)) {
      builder.Extend(device_offset, length);
    } else if (builder.Full()) {
      break;  // the borrower asks again for the rest
    } else if (device_offset == ExtentBuilder::kZeros) {
      builder.Start(kZeroPage, device_offset, length);
    } else {
      const Result<const uint8_t*> data = cache.Pin(device_offset);
      if (!data.ok()) {
        ReturnExtents(cache, out);
        return data.error();
      }
      builder.Start(data.value(), device_offset, length);
    }
    position += length;
  }
  return position - offset;
}

void ReturnExtents(BlockCache& cache, LeaseExtents* lease) {
  for (uint32_t i = 0; i < lease->count; ++i) {
    if (!InZeroPage(lease->extents[i].data)) (void)cache.Unpin(lease->extents[i].data);
  }
  *lease = LeaseExtents{};
}

}  // namespace uk::fs
