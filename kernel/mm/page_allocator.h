#pragma once
// Physical page frames, shared by all cores behind one spin lock. Callers
// that allocate often (the heap) batch their requests and keep per-core
// caches, so this lock is off every hot path.

#include <cstddef>
#include <cstdint>

#include "kernel/arch/boot_info.h"

namespace uk {

// Frees every RAM page of `info` except the first MiB (BIOS data, the AP
// trampoline) and [0, reserved_end) physical (the kernel image).
void InitPageAllocator(const BootInfo& info, uint64_t reserved_end);

// Returns the physical address of `count` contiguous zeroed pages, or 0.
uint64_t AllocatePages(size_t count);
void FreePages(uint64_t phys, size_t count);

// `bytes` rounded up to pages, zeroed, physically contiguous, at their
// direct-map address (what a device's DMA needs); nullptr if none.
void* AllocateContiguous(size_t bytes);

uint64_t FreePageCount();

struct PageStats {
  uint64_t free = 0;
  uint64_t total = 0;     // free right after InitPageAllocator: what RAM there is to use
  uint64_t free_low = 0;  // the fewest free since then
};
PageStats GetPageStats();
uint64_t PageFrameLimit();  // one past the highest managed page frame number

}  // namespace uk
