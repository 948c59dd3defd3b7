#pragma once
// 4 KiB mappings in the kernel's one address space. Every core runs on the
// bootstrap core's page tables (the AP trampoline loads the same CR3), so a
// mapping made here is seen by all cores without any per-core work.
//
// Mappings are only ever added, never removed or changed: an entry goes from
// not present to present once. That is what lets this code skip TLB
// shootdowns (x86 does not cache not-present entries) and lets IsMapped read
// the tables without a lock, even from a panic.

#include <cstdint>

namespace uk::arch {

// Maps the 4 KiB page at `virt` to the frame at `phys`, writable, cached,
// allocating intermediate tables from the page allocator. Returns false if a
// table could not be allocated, or if `virt` is already mapped or lies under
// a 2 MiB or 1 GiB page (the boot mappings): both are caller bugs.
[[nodiscard]] bool MapPage(uintptr_t virt, uint64_t phys);

// Whether a read of `virt` would find a present mapping (any page size).
bool IsMapped(uintptr_t virt);

}  // namespace uk::arch
