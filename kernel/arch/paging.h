#pragma once
// The kernel's view of physical memory (set up by boot/pvh_entry.S):
//   - the image runs at kKernelBase + physical address (top 2 GiB);
//   - all physical memory below kDirectMapLimit is mapped at kDirectMapBase.
// Memory above 4 GiB is not mapped yet: the page allocator ignores it.

#include <cstdint>

namespace uk::arch {

inline constexpr uintptr_t kKernelBase = 0xffffffff80000000;
inline constexpr uintptr_t kDirectMapBase = 0xffff800000000000;
inline constexpr uint64_t kDirectMapLimit = 4ull << 30;
inline constexpr uint64_t kPageSize = 4096;

template <typename T = void>
inline T* PhysToVirt(uint64_t phys) {
  return reinterpret_cast<T*>(kDirectMapBase + phys);
}

// Works for pointers into the image and into the direct map.
inline uint64_t VirtToPhys(const void* virt) {
  auto v = reinterpret_cast<uintptr_t>(virt);
  return v >= kKernelBase ? v - kKernelBase : v - kDirectMapBase;
}

}  // namespace uk::arch
