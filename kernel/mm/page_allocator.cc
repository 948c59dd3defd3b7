#include "kernel/mm/page_allocator.h"

#include "kernel/arch/paging.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/page_bitmap.h"

namespace uk {
namespace {

using arch::kPageSize;

SpinLock lock;
PageBitmap bitmap;  // guarded by lock
uint64_t total_pages = 0;     // guarded by lock (set once, at init)
uint64_t free_low_pages = 0;  // guarded by lock

uint64_t RoundUp(uint64_t value) { return (value + kPageSize - 1) / kPageSize * kPageSize; }

}  // namespace

void InitPageAllocator(const BootInfo& info, uint64_t reserved_end) {
  uint64_t limit = 0;
  for (int i = 0; i < info.ram_count; ++i) {
    uint64_t end = info.ram[i].base + info.ram[i].size;
    if (end > arch::kDirectMapLimit) end = arch::kDirectMapLimit;
    if (end > limit) limit = end;
  }
  uint64_t pages = limit / kPageSize;
  uint64_t bitmap_bytes = RoundUp(PageBitmap::WordsFor(pages) * 8);

  // The bitmap itself goes in the first RAM range that fits above the image.
  uint64_t bitmap_phys = 0;
  for (int i = 0; i < info.ram_count && bitmap_phys == 0; ++i) {
    uint64_t start = RoundUp(info.ram[i].base > reserved_end ? info.ram[i].base : reserved_end);
    uint64_t end = info.ram[i].base + info.ram[i].size;
    if (end <= arch::kDirectMapLimit && start + bitmap_bytes <= end) bitmap_phys = start;
  }
  if (bitmap_phys == 0) Panic("memory: no room for a %lu-byte page bitmap", bitmap_bytes);

  bitmap.Init(arch::PhysToVirt<uint64_t>(bitmap_phys), pages);
  for (int i = 0; i < info.ram_count; ++i) {
    uint64_t first = RoundUp(info.ram[i].base) / kPageSize;
    uint64_t last = (info.ram[i].base + info.ram[i].size) / kPageSize;
    if (last > first) bitmap.SetFree(first, last - first);
  }
  bitmap.SetUsed(0, (1 << 20) / kPageSize);
  bitmap.SetUsed(0, RoundUp(reserved_end) / kPageSize);
  bitmap.SetUsed(bitmap_phys / kPageSize, bitmap_bytes / kPageSize);
  total_pages = free_low_pages = bitmap.free_count();
  Log(LogLevel::kDebug, "memory: %lu MiB free of %lu MiB managed",
      bitmap.free_count() * kPageSize >> 20, limit >> 20);
}

uint64_t AllocatePages(size_t count) {
  uint64_t first;
  {
    SpinLockGuard guard(lock);
    first = bitmap.Allocate(count);
    if (bitmap.free_count() < free_low_pages) free_low_pages = bitmap.free_count();
  }
  if (first == PageBitmap::kNone) return 0;
  uint64_t phys = first * kPageSize;
  __builtin_memset(arch::PhysToVirt(phys), 0, count * kPageSize);
  return phys;
}

void FreePages(uint64_t phys, size_t count) {
  SpinLockGuard guard(lock);
  if (!bitmap.Free(phys / kPageSize, count)) {
    Panic("memory: freeing %zu pages at 0x%lx that are not allocated", count, phys);
  }
}

uint64_t FreePageCount() {
  SpinLockGuard guard(lock);
  return bitmap.free_count();
}

PageStats GetPageStats() {
  SpinLockGuard guard(lock);
  return {bitmap.free_count(), total_pages, free_low_pages};
}

uint64_t PageFrameLimit() { return bitmap.page_count(); }

void* AllocateContiguous(size_t bytes) {
  const uint64_t phys = AllocatePages((bytes + arch::kPageSize - 1) / arch::kPageSize);
  return phys == 0 ? nullptr : arch::PhysToVirt(phys);
}

}  // namespace uk
