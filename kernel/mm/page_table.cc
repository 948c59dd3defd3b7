#include "kernel/mm/page_table.h"

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/spinlock.h"
#include "kernel/mm/page_allocator.h"

namespace uk::arch {
namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kLargePage = 1ull << 7;  // in a PDPT or PD entry: 1 GiB or 2 MiB page
constexpr uint64_t kFrameMask = 0x000ffffffffff000;

// Serializes MapPage: two cores adding a table under the same entry at once
// would lose one of them. Readers (IsMapped, the MMU) take no lock.
SpinLock lock;

// Level 3 is the PML4, level 0 the page table.
uint64_t& EntryFor(uint64_t* table, uintptr_t virt, int level) {
  return table[(virt >> (12 + 9 * level)) & 511];
}

uint64_t* TableAt(uint64_t entry) { return PhysToVirt<uint64_t>(entry & kFrameMask); }

uint64_t* RootTable() { return TableAt(ReadCr3()); }

bool IsCanonical(uintptr_t virt) {
  const auto high = static_cast<int64_t>(virt) >> 47;
  return high == 0 || high == -1;
}

// Release: the table or page an entry points to (zeroed by AllocatePages,
// or filled by the caller) is written before the entry that makes it
// reachable; x86 keeps stores in order, this keeps the compiler from moving
// them. A single 8-byte store, so a concurrent page walk sees the old entry
// or the new one, never half of each.
void Publish(uint64_t& entry, uint64_t value) { __atomic_store_n(&entry, value, __ATOMIC_RELEASE); }

}  // namespace

bool MapPage(uintptr_t virt, uint64_t phys) {
  if (!IsCanonical(virt) || virt % kPageSize != 0 || phys % kPageSize != 0) return false;
  SpinLockGuard guard(lock);
  uint64_t* table = RootTable();
  for (int level = 3; level > 0; --level) {
    uint64_t& entry = EntryFor(table, virt, level);
    if ((entry & kPresent) == 0) {
      const uint64_t frame = AllocatePages(1);  // zeroed: every entry not present
      if (frame == 0) return false;
      Publish(entry, frame | kPresent | kWritable);
    } else if ((entry & kLargePage) != 0) {
      return false;
    }
    table = TableAt(entry);
  }
  uint64_t& entry = EntryFor(table, virt, 0);
  if ((entry & kPresent) != 0) return false;
  Publish(entry, phys | kPresent | kWritable);
  return true;
}

bool IsMapped(uintptr_t virt) {
  if (!IsCanonical(virt)) return false;
  uint64_t* table = RootTable();
  for (int level = 3; level >= 0; --level) {
    // Acquire pairs with Publish's release: a present entry's table is read
    // after its contents were written. No lock: entries only ever become
    // present (see the header), so a racing MapPage changes nothing we read.
    const uint64_t entry = __atomic_load_n(&EntryFor(table, virt, level), __ATOMIC_ACQUIRE);
    if ((entry & kPresent) == 0) return false;
    if (level == 0 || (level < 3 && (entry & kLargePage) != 0)) return true;
    table = TableAt(entry);
  }
  return true;
}

}  // namespace uk::arch
