#pragma once
// The kernel heap behind operator new/delete.
//
// Small blocks (up to kMaxSmallSize) come from power-of-two size classes.
// Each core keeps its own free list per class, so the common allocate/free
// takes no lock and touches no shared cache line; a core refills from, and
// spills to, a central list per class in batches under a spin lock. A block
// freed on another core than the one that allocated it simply joins the
// freeing core's cache. Larger blocks are whole pages from the page
// allocator, with a 128-byte header recording their size (so they are
// 128-byte aligned).
//
// One byte per page frame records what the page holds (a size class or the
// start of a large block), which is how Free finds a block's size. Heap
// calls are not allowed in interrupt handlers (CHECKed).
//
// Accounting (GetHeapStats) stays off the locks: each core counts the small
// bytes it handed out minus those it took back, in its own cache line; large
// blocks, which take the page allocator's lock anyway, count in one shared
// atomic. A read sums them. The high-water mark is raised wherever the sum
// is taken: at every refill from the center, every large allocation and
// every read, so it can miss a peak that lived entirely within the cores'
// caches (at most two batches per class and core).

#include <cstddef>
#include <cstdint>

namespace uk {

inline constexpr size_t kMaxSmallSize = 2048;

void InitHeap();
void* Allocate(size_t size);  // 16-byte aligned (64 for size >= 64); nullptr if out of memory
void Free(void* block);

struct HeapStats {
  // Small blocks at their class size, large ones at their whole pages.
  uint64_t bytes_in_use = 0;
  uint64_t bytes_high = 0;  // the most seen in use since boot (see above)
  // The page allocator underneath (page_allocator.h).
  uint64_t pages_free = 0, pages_total = 0, pages_free_low = 0;
};
// From any thread; takes the page allocator's lock for a moment.
HeapStats GetHeapStats();

}  // namespace uk
