#pragma once
// The kernel's view of physical memory (set up by boot/pvh_entry.S):
//   - the image runs at kKernelBase + physical address (top 2 GiB);
//   - all physical memory below kDirectMapLimit is mapped at kDirectMapBase;
//   - kernel stacks live in their own region, mapped 4 KiB at a time so the
//     page below each stack can stay unmapped (kernel/mm/stacks.h).
// Memory above 4 GiB is not mapped yet: the page allocator ignores it.

#include <cstdint>

namespace uk::arch {

inline constexpr uintptr_t kKernelBase = 0xffffffff80000000;
inline constexpr uintptr_t kDirectMapBase = 0xffff800000000000;
inline constexpr uint64_t kDirectMapLimit = 4ull << 30;
inline constexpr uint64_t kPageSize = 4096;
// PML4 slot 510, just below the image's slot 511: 512 GiB, nothing mapped at
// boot (page_table.h adds the mappings).
inline constexpr uintptr_t kStackRegionBase = 0xffffff0000000000;
inline constexpr uint64_t kStackRegionSize = 512ull << 30;

template <typename T = void>
inline T* PhysToVirt(uint64_t phys) {
  return reinterpret_cast<T*>(kDirectMapBase + phys);
}

// Works for pointers into the image and into the direct map. Not for stacks
// (kStackRegionBase): their pages are not contiguous, so never DMA to one.
inline uint64_t VirtToPhys(const void* virt) {
  auto v = reinterpret_cast<uintptr_t>(virt);
  return v >= kKernelBase ? v - kKernelBase : v - kDirectMapBase;
}

}  // namespace uk::arch
