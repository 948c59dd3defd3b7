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

#include <cstddef>

namespace uk {

inline constexpr size_t kMaxSmallSize = 2048;

void InitHeap();
void* Allocate(size_t size);  // 16-byte aligned (64 for size >= 64); nullptr if out of memory
void Free(void* block);

}  // namespace uk
