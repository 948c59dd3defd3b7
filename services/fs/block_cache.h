#pragma once
// The filesystem service's block cache: 4 KiB pages of the disk, LRU,
// write-back, with readahead for sequential reads. It turns the byte-level
// BlockDevice the ext2 code wants into batched sector requests.
//
// Readahead: a miss on the page right after the previous access is a
// sequential read; the window doubles from 4 to kMaxReadahead pages on each
// such miss, and the whole window is fetched with one scatter-gather request
// into as many cache pages. Any other miss resets the window and reads one
// page.
//
// Writes: WriteBytes dirties cached pages (reading a partly written page
// first). Dirty pages reach the disk when evicted or at Flush(), which
// writes them all in batches and then flushes the device's own cache. The
// fs service calls Flush() at the end of every write-side request, so a
// reply means the change is on the disk.
//
// Ownership: one fs service thread owns the cache and its device; nothing
// here is shared between cores. Page memory comes from the owner (4 KiB
// aligned and, in the kernel, physically contiguous per page, so each page
// is one DMA segment).
//
// A device that times out (IoResult::kTimedOut) may still write the pages of
// the requests it never answered, at any time. Those pages are retired: out
// of the cache for good, never handed out again, so a late completion lands
// in memory nobody reads. (The device is failed by then, so at most one
// batch's worth, 32 pages, is ever lost this way.) A retired dirty page's
// data is lost with it; the flush that lost it reports the error.
//
// Lending (services/fs/lend.h): Pin keeps a page in the cache for a
// borrower that reads it in place, from another core, until Unpin. A pinned
// page is never evicted, dropped or reused (Claim passes over it; when every
// candidate is pinned the read fails, it never evicts a pinned page). At
// most half of the slots may be pinned at once (MaxPinnedPages), so lending
// cannot starve ordinary reads; past that Pin refuses (kCacheBusy). A write
// to a pinned page still goes to the page: a borrower may see bytes change
// under it, as with Linux sendfile. Retired pages are never in the cache
// index, so they are never lent; a pinned page that is retired later (its
// write-back timed out) stays readable for its borrower, and off every list.
//
// Portable: host tests run it over an in-memory SectorDevice.

#include <cstddef>
#include <cstdint>

#include "kernel/drivers/sector_device.h"
#include "services/fs/block_device.h"
#include "services/fs/error.h"

namespace uk::fs {

struct CacheStats {
  uint64_t hits = 0;              // pages found cached
  uint64_t misses = 0;            // pages a caller waited for
  uint64_t readahead_pages = 0;   // pages fetched ahead of a caller
  uint64_t read_requests = 0;     // device read requests (one per miss)
  uint64_t written_pages = 0;     // dirty pages written back
  uint64_t write_batches = 0;     // Transfer calls carrying write-back
  uint64_t io_errors = 0;
  uint64_t retired_pages = 0;     // lent to a device that timed out, never reused
  uint64_t pins = 0;              // successful Pin calls
  uint64_t unpins = 0;            // successful Unpin calls
  uint64_t pin_refusals = 0;      // Pin refused: too many pages pinned
  uint64_t bad_unpins = 0;        // Unpin of memory that held no pin
};

class BlockCache final : public BlockDevice {
 public:
  static constexpr uint32_t kPageSize = 4096;
  static constexpr uint32_t kSectorsPerPage = kPageSize / kSectorSize;
  static constexpr uint32_t kMaxSlots = 4096;  // 16 MiB of pages at most
  static constexpr uint32_t kMaxReadahead = 32;
  static constexpr uint32_t kMinSlots = 2 * kMaxReadahead;

  // `pages`: `page_count` * kPageSize bytes, kPageSize aligned. At most
  // kMaxSlots pages are used; fewer than kMinSlots is a programming error
  // the constructor reports through ok().
  BlockCache(SectorDevice& device, uint8_t* pages, uint32_t page_count);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  bool ok() const { return slot_count_ >= kMinSlots; }

  // BlockDevice:
  uint64_t SizeBytes() const override { return size_bytes_; }
  bool ReadBytes(uint64_t offset, void* out, size_t length) override;
  bool WriteBytes(uint64_t offset, const void* data, size_t length) override;
  bool Flush() override;

  // Drops every clean page that is not pinned (tests; and after a device
  // error).
  void DropClean();

  // Reads the page holding device byte `offset` if needed, pins it and
  // returns the address of that byte; the rest of its page, from there, is
  // valid until the matching Unpin. kCacheBusy when pinning it would pass
  // MaxPinnedPages (a page already pinned can always be pinned again), kIo
  // when it cannot be read.
  Result<const uint8_t*> Pin(uint64_t offset);
  // Drops one pin of the page holding `data` (any address inside it). False,
  // and counted, if that page holds no pin.
  bool Unpin(const void* data);
  uint32_t pinned_pages() const { return pinned_pages_; }
  uint32_t MaxPinnedPages() const { return slot_count_ / 2; }
  // Whether `data` is inside a retired page (tests).
  bool IsRetired(const void* data) const;

  const CacheStats& stats() const { return stats_; }
  uint32_t slot_count() const { return slot_count_; }
  uint32_t dirty_pages() const { return dirty_count_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kEmpty = UINT64_MAX;
  static constexpr uint32_t kBuckets = 2 * kMaxSlots;  // power of two

  struct Slot {
    uint64_t page = kEmpty;
    uint32_t hash_next = kNone;
    uint32_t lru_prev = kNone;  // towards most recently used
    uint32_t lru_next = kNone;  // towards least recently used
    bool dirty = false;
    bool retired = false;  // the device may still write it: on no list, ever
  };

  enum class Fill : uint8_t { kRead, kOverwrite };

  // The slot holding `page`, read from the disk (with readahead) if needed;
  // kNone on an I/O error. `fill` = kOverwrite skips the read of a page the
  // caller is about to overwrite entirely.
  uint32_t Get(uint64_t page, Fill fill);
  uint32_t Find(uint64_t page) const;
  // Takes the least recently used unpinned slot for `page`, writing it back
  // if dirty. kNone if every slot is pinned or retired, or the write-back
  // failed.
  uint32_t Claim(uint64_t page);
  bool WriteBack(const uint32_t* slots, uint32_t count);
  uint32_t PageSectors(uint64_t page) const;

  void Insert(uint32_t slot, uint64_t page);
  void Remove(uint32_t slot);  // onto the free list
  void Retire(uint32_t slot);  // out of the cache for good
  // Back to the free list after a failed request, or retired if the device
  // may still use the page (`result` kTimedOut).
  void Discard(uint32_t slot, IoResult result);
  void Unindex(uint32_t slot);  // out of the hash chain and the LRU list
  void Touch(uint32_t slot);  // move to the front of the LRU list
  void Unlink(uint32_t slot);
  uint8_t* Data(uint32_t slot) const { return pages_ + uint64_t{slot} * kPageSize; }
  // The slot whose page holds `data`, or kNone if it is not cache memory.
  uint32_t SlotOf(const void* data) const;
  static uint32_t Bucket(uint64_t page) {
    return static_cast<uint32_t>((page * 0x9e3779b97f4a7c15ull) >> 32) & (kBuckets - 1);
  }

  SectorDevice& device_;
  uint8_t* const pages_;
  const uint32_t slot_count_;
  const uint64_t sector_count_;
  const uint64_t size_bytes_;
  uint32_t lru_head_ = kNone, lru_tail_ = kNone;
  uint32_t free_head_ = kNone;  // empty slots, chained through hash_next
  uint32_t dirty_count_ = 0;
  uint32_t pinned_pages_ = 0;  // slots with pins_ != 0
  uint64_t next_sequential_ = kEmpty;  // the page after the last one accessed
  uint32_t window_ = 1;                // readahead window, pages
  CacheStats stats_;
  Slot slots_[kMaxSlots];
  // Pins per slot, beside the slots because Remove and Retire reset a Slot
  // whole and a pin must outlive a retirement.
  uint32_t pins_[kMaxSlots] = {};
  uint32_t buckets_[kBuckets];
};

}  // namespace uk::fs
