#include "kernel/mm/heap.h"

#include <atomic>
#include <cstdint>

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/page_allocator.h"

namespace uk {
namespace {

using arch::kPageSize;

constexpr int kClassCount = 8;  // 16, 32, ..., 2048
constexpr int kBatch = 32;      // blocks moved between a core and the center
constexpr uint8_t kPageUnknown = 0, kPageLarge = 0xff;
constexpr size_t kLargeHeader = 128;  // keeps large blocks 128-aligned (ring indices)
constexpr uint64_t kLargeMagic = 0x4c415247452d554b;  // "LARGE-UK"

struct FreeBlock {
  FreeBlock* next;
};

struct FreeList {
  FreeBlock* head = nullptr;
  int count = 0;

  void Push(FreeBlock* block) {
    block->next = head;
    head = block;
    ++count;
  }
  FreeBlock* Pop() {
    FreeBlock* block = head;
    head = block->next;
    --count;
    return block;
  }
};

struct alignas(64) CoreCache {
  FreeList lists[kClassCount];
  // Small-block bytes this core handed out minus those freed on it; negative
  // when it frees what others allocated. Written only by its core, with
  // interrupts off, read by anyone: relaxed load and store are enough for a
  // statistic with one writer (as ipc::StatCounter), and cost no bus lock.
  std::atomic<int64_t> small_bytes{0};
};

struct LargeHeader {
  uint64_t magic;
  uint64_t pages;
};

CoreCache caches[arch::kMaxCpus];
SpinLock central_lock;
FreeList central[kClassCount];  // guarded by central_lock
uint8_t* page_kind = nullptr;   // per page frame; written when a page is handed out
// Relaxed: statistics that order nothing. large_bytes is changed by any core
// (fetch_add, on the large path only); high_bytes only ever grows (CAS).
std::atomic<uint64_t> large_bytes{0};
std::atomic<uint64_t> high_bytes{0};

size_t ClassSize(int c) { return size_t{16} << c; }

int ClassFor(size_t size) {
  int c = 0;
  while (ClassSize(c) < size) ++c;
  return c;
}

void AddSmallBytes(CoreCache& cache, int64_t delta) {
  cache.small_bytes.store(cache.small_bytes.load(std::memory_order_relaxed) + delta,
                          std::memory_order_relaxed);
}

// Bytes in use now, and the high-water mark raised to them.
uint64_t SampleBytesInUse() {
  int64_t total = static_cast<int64_t>(large_bytes.load(std::memory_order_relaxed));
  // Cores that have not come up yet never allocated (index 0 is the BSP).
  const uint32_t cores = arch::CpuCount() > 0 ? arch::CpuCount() : 1;
  for (uint32_t i = 0; i < cores && i < arch::kMaxCpus; ++i) {
    total += caches[i].small_bytes.load(std::memory_order_relaxed);
  }
  // Counters read at slightly different moments can undershoot.
  const uint64_t in_use = total > 0 ? static_cast<uint64_t>(total) : 0;
  uint64_t high = high_bytes.load(std::memory_order_relaxed);
  while (in_use > high &&
         !high_bytes.compare_exchange_weak(high, in_use, std::memory_order_relaxed)) {
  }
  return in_use;
}

// Moves up to kBatch blocks of class `c` from the center, carving a fresh
// page into blocks when the center is empty.
void Refill(FreeList& local, int c) {
  {
    SpinLockGuard guard(central_lock);
    while (local.count < kBatch && central[c].head != nullptr) local.Push(central[c].Pop());
  }
  SampleBytesInUse();  // the slow path: a good moment for the high-water mark
  if (local.count > 0) return;
  uint64_t phys = AllocatePages(1);
  if (phys == 0) return;
  page_kind[phys / kPageSize] = static_cast<uint8_t>(c + 1);
  auto* page = arch::PhysToVirt<uint8_t>(phys);
  for (size_t offset = 0; offset + ClassSize(c) <= kPageSize; offset += ClassSize(c)) {
    local.Push(reinterpret_cast<FreeBlock*>(page + offset));
  }
}

void Spill(FreeList& local, int c) {
  SpinLockGuard guard(central_lock);
  for (int i = 0; i < kBatch; ++i) central[c].Push(local.Pop());
}

void* AllocateLarge(size_t size) {
  size_t pages = (size + kLargeHeader + kPageSize - 1) / kPageSize;
  uint64_t phys = AllocatePages(pages);
  if (phys == 0) return nullptr;
  page_kind[phys / kPageSize] = kPageLarge;
  auto* header = arch::PhysToVirt<LargeHeader>(phys);
  header->magic = kLargeMagic;
  header->pages = pages;
  large_bytes.fetch_add(pages * kPageSize, std::memory_order_relaxed);
  SampleBytesInUse();
  return reinterpret_cast<uint8_t*>(header) + kLargeHeader;
}

}  // namespace

void InitHeap() {
  uint64_t frames = PageFrameLimit();
  uint64_t phys = AllocatePages((frames + kPageSize - 1) / kPageSize);
  if (phys == 0) Panic("heap: no memory for the page-kind table (%lu frames)", frames);
  page_kind = arch::PhysToVirt<uint8_t>(phys);
}

void* Allocate(size_t size) {
  CHECK(arch::CurrentCpu().interrupt_depth == 0);
  if (size > kMaxSmallSize) return AllocateLarge(size);
  int c = ClassFor(size == 0 ? 1 : size);
  // Interrupts off: the cache is this core's alone, and nothing else on
  // this core may run between reading and updating the list head.
  arch::InterruptGuard interrupts_off;
  CoreCache& cache = caches[arch::CurrentCpuIndex()];
  FreeList& local = cache.lists[c];
  if (local.head == nullptr) Refill(local, c);
  if (local.head == nullptr) return nullptr;
  AddSmallBytes(cache, static_cast<int64_t>(ClassSize(c)));
  return local.Pop();
}

void Free(void* block) {
  if (block == nullptr) return;
  CHECK(arch::CurrentCpu().interrupt_depth == 0);
  uint64_t phys = arch::VirtToPhys(block);
  uint8_t kind = page_kind[phys / kPageSize];
  if (kind == kPageLarge) {
    auto* header = reinterpret_cast<LargeHeader*>(static_cast<uint8_t*>(block) - kLargeHeader);
    if (header->magic != kLargeMagic) Panic("heap: bad free of %p", block);
    header->magic = 0;
    large_bytes.fetch_sub(header->pages * kPageSize, std::memory_order_relaxed);
    FreePages(phys - kLargeHeader, header->pages);
    return;
  }
  if (kind == kPageUnknown || kind > kClassCount) Panic("heap: free of %p, not a heap block", block);
  int c = kind - 1;
  arch::InterruptGuard interrupts_off;
  CoreCache& cache = caches[arch::CurrentCpuIndex()];
  FreeList& local = cache.lists[c];
  AddSmallBytes(cache, -static_cast<int64_t>(ClassSize(c)));
  local.Push(static_cast<FreeBlock*>(block));
  if (local.count >= 2 * kBatch) Spill(local, c);
}

HeapStats GetHeapStats() {
  HeapStats stats;
  stats.bytes_in_use = SampleBytesInUse();
  stats.bytes_high = high_bytes.load(std::memory_order_relaxed);
  const PageStats pages = GetPageStats();
  stats.pages_free = pages.free;
  stats.pages_total = pages.total;
  stats.pages_free_low = pages.free_low;
  return stats;
}

}  // namespace uk
