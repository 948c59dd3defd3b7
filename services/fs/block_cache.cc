#include "services/fs/block_cache.h"

#include <algorithm>

namespace uk::fs {
namespace {

constexpr uint32_t kWriteBatch = 32;  // write-back requests per Transfer

}  // namespace

BlockCache::BlockCache(SectorDevice& device, uint8_t* pages, uint32_t page_count)
    : device_(device),
      pages_(pages),
      slot_count_(std::min(page_count, kMaxSlots)),
      sector_count_(device.SectorCount()),
      size_bytes_(device.SectorCount() * kSectorSize) {
  for (uint32_t& head : buckets_) head = kNone;
  // Every slot starts on the free list, chained through hash_next.
  for (uint32_t slot = slot_count_; slot-- > 0;) {
    slots_[slot].hash_next = free_head_;
    free_head_ = slot;
  }
}

uint32_t BlockCache::PageSectors(uint64_t page) const {
  const uint64_t first = page * kSectorsPerPage;
  return static_cast<uint32_t>(std::min<uint64_t>(kSectorsPerPage, sector_count_ - first));
}

bool BlockCache::ReadBytes(uint64_t offset, void* out, size_t length) {
  if (!ok() || offset > size_bytes_ || length > size_bytes_ - offset) return false;
  auto* dst = static_cast<uint8_t*>(out);
  while (length > 0) {
    const uint64_t page = offset / kPageSize;
    const uint32_t within = static_cast<uint32_t>(offset % kPageSize);
    const size_t chunk = std::min<size_t>(length, kPageSize - within);
    const uint32_t slot = Get(page, Fill::kRead);
    if (slot == kNone) return false;
    __builtin_memcpy(dst, Data(slot) + within, chunk);
    dst += chunk;
    offset += chunk;
    length -= chunk;
  }
  return true;
}

bool BlockCache::WriteBytes(uint64_t offset, const void* data, size_t length) {
  if (!ok() || device_.ReadOnly() || offset > size_bytes_ || length > size_bytes_ - offset) {
    return false;
  }
  auto* src = static_cast<const uint8_t*>(data);
  while (length > 0) {
    const uint64_t page = offset / kPageSize;
    const uint32_t within = static_cast<uint32_t>(offset % kPageSize);
    const size_t chunk = std::min<size_t>(length, kPageSize - within);
    const bool whole = within == 0 && chunk == PageSectors(page) * kSectorSize;
    const uint32_t slot = Get(page, whole ? Fill::kOverwrite : Fill::kRead);
    if (slot == kNone) return false;
    __builtin_memcpy(Data(slot) + within, src, chunk);
    if (!slots_[slot].dirty) {
      slots_[slot].dirty = true;
      ++dirty_count_;
    }
    src += chunk;
    offset += chunk;
    length -= chunk;
  }
  return true;
}

bool BlockCache::Flush() {
  if (!ok()) return false;
  bool all_written = true;
  uint32_t batch[kWriteBatch];
  uint32_t count = 0;
  for (uint32_t slot = 0; slot < slot_count_ && dirty_count_ > 0; ++slot) {
    if (!slots_[slot].dirty) continue;
    batch[count++] = slot;
    if (count == kWriteBatch) {
      all_written &= WriteBack(batch, count);
      count = 0;
    }
  }
  if (count > 0) all_written &= WriteBack(batch, count);
  return all_written && device_.Flush();
}

void BlockCache::DropClean() {
  for (uint32_t slot = 0; slot < slot_count_; ++slot) {
    if (slots_[slot].page != kEmpty && !slots_[slot].dirty && pins_[slot] == 0) Remove(slot);
  }
}

uint32_t BlockCache::SlotOf(const void* data) const {
  const auto* byte = static_cast<const uint8_t*>(data);
  if (byte < pages_ || byte >= Data(slot_count_)) return kNone;
  return static_cast<uint32_t>((byte - pages_) / kPageSize);
}

bool BlockCache::IsRetired(const void* data) const {
  const uint32_t slot = SlotOf(data);
  return slot != kNone && slots_[slot].retired;
}

Result<const uint8_t*> BlockCache::Pin(uint64_t offset) {
  if (!ok() || offset >= size_bytes_) return Error::kIo;
  const uint64_t page = offset / kPageSize;
  // Refused before reading: a page not yet cached holds no pin.
  const uint32_t cached = Find(page);
  if ((cached == kNone || pins_[cached] == 0) && pinned_pages_ >= MaxPinnedPages()) {
    ++stats_.pin_refusals;
    return Error::kCacheBusy;
  }
  const uint32_t slot = Get(page, Fill::kRead);
  if (slot == kNone) return Error::kIo;
  if (pins_[slot]++ == 0) ++pinned_pages_;
  ++stats_.pins;
  return Data(slot) + offset % kPageSize;
}

bool BlockCache::Unpin(const void* data) {
  const uint32_t slot = SlotOf(data);
  if (slot == kNone || pins_[slot] == 0) {
    ++stats_.bad_unpins;
    return false;
  }
  // Unpinned, the slot is evictable again where it stands in the LRU list; a
  // retired one stays off every list.
  if (--pins_[slot] == 0) --pinned_pages_;
  ++stats_.unpins;
  return true;
}

uint32_t BlockCache::Get(uint64_t page, Fill fill) {
  uint32_t slot = Find(page);
  if (slot != kNone) {
    ++stats_.hits;
    Touch(slot);
    return slot;
  }
  ++stats_.misses;
  if (fill == Fill::kOverwrite) return Claim(page);

  // A miss right where the last fetched run ended continues a sequential
  // read (hits in between, e.g. on indirect blocks, do not break it).
  const bool sequential = page == next_sequential_;
  window_ = sequential ? std::clamp<uint32_t>(window_ * 2, 4, kMaxReadahead) : 1;
  const uint64_t page_count = (sector_count_ + kSectorsPerPage - 1) / kSectorsPerPage;
  // Each page of the window takes a slot that is neither pinned nor retired,
  // and the window's own pages must not be claimed back for its later pages:
  // so at most as many pages as there are such slots.
  const uint64_t evictable = uint64_t{slot_count_} - pinned_pages_ - stats_.retired_pages;
  const uint32_t limit = static_cast<uint32_t>(std::max<uint64_t>(
      1, std::min<uint64_t>({window_, device_.MaxSegments(), evictable})));
  uint32_t count = 1;
  while (count < limit && page + count < page_count && Find(page + count) == kNone) ++count;

  uint32_t claimed[kMaxReadahead];
  IoSegment segments[kMaxReadahead];
  // Claim in reverse so the demanded page ends up most recently used.
  for (uint32_t i = count; i-- > 0;) {
    claimed[i] = Claim(page + i);
    if (claimed[i] == kNone) {
      for (uint32_t j = i + 1; j < count; ++j) Remove(claimed[j]);
      return kNone;
    }
    segments[i] = {Data(claimed[i]), PageSectors(page + i) * kSectorSize};
  }
  IoRequest request{IoOp::kRead, page * kSectorsPerPage, segments, static_cast<uint16_t>(count)};
  ++stats_.read_requests;
  if (!device_.Transfer(&request, 1)) {
    ++stats_.io_errors;
    for (uint32_t i = 0; i < count; ++i) Discard(claimed[i], request.result);
    next_sequential_ = kEmpty;
    return kNone;
  }
  stats_.readahead_pages += count - 1;
  next_sequential_ = page + count;
  return claimed[0];
}

uint32_t BlockCache::Find(uint64_t page) const {
  for (uint32_t slot = buckets_[Bucket(page)]; slot != kNone; slot = slots_[slot].hash_next) {
    if (slots_[slot].page == page) return slot;
  }
  return kNone;
}

uint32_t BlockCache::Claim(uint64_t page) {
  if (free_head_ == kNone) {
    // The least recently used slot nobody has pinned. At most
    // MaxPinnedPages slots are passed over.
    uint32_t victim = lru_tail_;
    while (victim != kNone && pins_[victim] != 0) victim = slots_[victim].lru_prev;
    if (victim == kNone) return kNone;  // every slot pinned or retired
    if (slots_[victim].dirty && !WriteBack(&victim, 1)) return kNone;
    Remove(victim);  // onto the free list
  }
  const uint32_t slot = free_head_;
  free_head_ = slots_[slot].hash_next;
  Insert(slot, page);
  return slot;
}

bool BlockCache::WriteBack(const uint32_t* slots, uint32_t count) {
  IoSegment segments[kWriteBatch];
  IoRequest requests[kWriteBatch];
  count = std::min(count, kWriteBatch);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t page = slots_[slots[i]].page;
    segments[i] = {Data(slots[i]), PageSectors(page) * kSectorSize};
    requests[i] = {IoOp::kWrite, page * kSectorsPerPage, &segments[i], 1};
  }
  ++stats_.write_batches;
  device_.Transfer(requests, count);
  bool all_ok = true;
  for (uint32_t i = 0; i < count; ++i) {
    if (requests[i].result == IoResult::kTimedOut) {
      all_ok = false;
      ++stats_.io_errors;
      Retire(slots[i]);  // the device may still read it: it must not change
      continue;
    }
    if (!requests[i].ok()) {
      all_ok = false;
      ++stats_.io_errors;
      continue;  // stays dirty; the next Flush tries again
    }
    slots_[slots[i]].dirty = false;
    --dirty_count_;
    ++stats_.written_pages;
  }
  return all_ok;
}

void BlockCache::Insert(uint32_t slot, uint64_t page) {
  Slot& s = slots_[slot];
  s.page = page;
  s.dirty = false;
  const uint32_t bucket = Bucket(page);
  s.hash_next = buckets_[bucket];
  buckets_[bucket] = slot;
  s.lru_prev = kNone;
  s.lru_next = lru_head_;
  if (lru_head_ != kNone) slots_[lru_head_].lru_prev = slot;
  lru_head_ = slot;
  if (lru_tail_ == kNone) lru_tail_ = slot;
}

void BlockCache::Remove(uint32_t slot) {
  Unindex(slot);
  Slot& s = slots_[slot];
  s = Slot{};
  s.hash_next = free_head_;
  free_head_ = slot;
}

void BlockCache::Retire(uint32_t slot) {
  Unindex(slot);
  slots_[slot] = Slot{};
  slots_[slot].retired = true;
  ++stats_.retired_pages;
}

void BlockCache::Discard(uint32_t slot, IoResult result) {
  if (result == IoResult::kTimedOut) Retire(slot);
  else Remove(slot);
}

void BlockCache::Unindex(uint32_t slot) {
  Slot& s = slots_[slot];
  uint32_t* link = &buckets_[Bucket(s.page)];
  while (*link != slot) link = &slots_[*link].hash_next;
  *link = s.hash_next;
  Unlink(slot);
  if (s.dirty) --dirty_count_;
}

void BlockCache::Touch(uint32_t slot) {
  if (lru_head_ == slot) return;
  Unlink(slot);
  Slot& s = slots_[slot];
  s.lru_prev = kNone;
  s.lru_next = lru_head_;
  slots_[lru_head_].lru_prev = slot;
  lru_head_ = slot;
  if (lru_tail_ == kNone) lru_tail_ = slot;
}

void BlockCache::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.lru_prev != kNone) slots_[s.lru_prev].lru_next = s.lru_next;
  else lru_head_ = s.lru_next;
  if (s.lru_next != kNone) slots_[s.lru_next].lru_prev = s.lru_prev;
  else lru_tail_ = s.lru_prev;
  s.lru_prev = s.lru_next = kNone;
}

}  // namespace uk::fs
