#include "kernel/core/heap.h"

#include <cstdint>

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/core/page_allocator.h"
#include "kernel/core/panic.h"
#include "kernel/core/spinlock.h"

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
};

struct LargeHeader {
  uint64_t magic;
  uint64_t pages;
};

CoreCache caches[arch::kMaxCpus];
SpinLock central_lock;
FreeList central[kClassCount];  // guarded by central_lock
uint8_t* page_kind = nullptr;   // per page frame; written when a page is handed out

size_t ClassSize(int c) { return size_t{16} << c; }

int ClassFor(size_t size) {
  int c = 0;
  while (ClassSize(c) < size) ++c;
  return c;
}

// Moves up to kBatch blocks of class `c` from the center, carving a fresh
// page into blocks when the center is empty.
void Refill(FreeList& local, int c) {
  {
    SpinLockGuard guard(central_lock);
    while (local.count < kBatch && central[c].head != nullptr) local.Push(central[c].Pop());
  }
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
  FreeList& local = caches[arch::CurrentCpuIndex()].lists[c];
  if (local.head == nullptr) Refill(local, c);
  if (local.head == nullptr) return nullptr;
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
    FreePages(phys - kLargeHeader, header->pages);
    return;
  }
  if (kind == kPageUnknown || kind > kClassCount) Panic("heap: free of %p, not a heap block", block);
  int c = kind - 1;
  arch::InterruptGuard interrupts_off;
  FreeList& local = caches[arch::CurrentCpuIndex()].lists[c];
  local.Push(static_cast<FreeBlock*>(block));
  if (local.count >= 2 * kBatch) Spill(local, c);
}

}  // namespace uk
