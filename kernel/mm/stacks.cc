#include "kernel/mm/stacks.h"

#include <atomic>

#include "kernel/arch/gdt.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/spinlock.h"
#include "kernel/lib/format.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/page_allocator.h"
#include "kernel/mm/page_table.h"
#include "kernel/sched/scheduler.h"

namespace uk {
namespace {

using arch::kPageSize;

constexpr uint64_t kSlotCount = arch::kStackRegionSize / kStackSlotSize;
constexpr uint32_t kStacksPerCpu = 4;  // boot, double fault, NMI, page fault

// The next slot never used. Relaxed: a slot number only has to be unique;
// the pages mapped in it are published by MapPage.
std::atomic<uint64_t> next_slot{0};

// A free thread stack, written at its own bottom while it is free.
struct FreeStack {
  FreeStack* next;
  uint64_t pages;
};

SpinLock free_lock;
FreeStack* free_stacks = nullptr;  // guarded by free_lock

// Which slots hold a core's own stacks; every other slot is a thread's.
// Written only by the bootstrap core, before the core in question starts.
struct CpuStack {
  uintptr_t top;
  uint32_t cpu;
  StackKind kind;
};
CpuStack cpu_stacks[arch::kMaxCpus * kStacksPerCpu];
// Release/acquire: an entry is written before the count that covers it, so
// a panicking core that reads the count sees the entries.
std::atomic<uint32_t> cpu_stack_count{0};

uint64_t PagesFor(size_t size) { return (size + kPageSize - 1) / kPageSize; }

uintptr_t SlotTop(uint64_t slot) { return arch::kStackRegionBase + (slot + 1) * kStackSlotSize; }

void PushFree(uintptr_t bottom, uint64_t pages) {
  auto* stack = reinterpret_cast<FreeStack*>(bottom);
  SpinLockGuard guard(free_lock);
  *stack = FreeStack{free_stacks, pages};
  free_stacks = stack;
}

// Returns the top of a free stack of exactly `pages` pages, or 0.
uintptr_t PopFree(uint64_t pages) {
  SpinLockGuard guard(free_lock);
  for (FreeStack** link = &free_stacks; *link != nullptr; link = &(*link)->next) {
    FreeStack* stack = *link;
    if (stack->pages != pages) continue;
    *link = stack->next;
    return reinterpret_cast<uintptr_t>(stack) + pages * kPageSize;
  }
  return 0;
}

// Maps `pages` fresh pages at the top of a new slot; returns the top, or 0.
uintptr_t MapNewStack(uint64_t pages) {
  if (pages == 0 || pages * kPageSize > kMaxStackSize) return 0;
  const uint64_t slot = next_slot.fetch_add(1, std::memory_order_relaxed);
  if (slot >= kSlotCount) return 0;
  const uintptr_t top = SlotTop(slot);
  for (uint64_t mapped = 0; mapped < pages; ++mapped) {
    const uintptr_t page = top - (mapped + 1) * kPageSize;
    const uint64_t frame = AllocatePages(1);
    if (frame != 0 && arch::MapPage(page, frame)) continue;
    // Out of memory. What is mapped is a smaller stack, still guarded.
    if (frame != 0) FreePages(frame, 1);
    if (mapped != 0) PushFree(top - mapped * kPageSize, mapped);
    return 0;
  }
  return top;
}

uintptr_t AllocateCpuStack(uint32_t cpu, StackKind kind, size_t size) {
  const uintptr_t top = MapNewStack(PagesFor(size));
  if (top == 0) Panic("memory: no room for a %zu-byte stack of cpu %u", size, cpu);
  const uint32_t n = cpu_stack_count.load(std::memory_order_relaxed);
  CHECK(n < sizeof(cpu_stacks) / sizeof(cpu_stacks[0]));
  cpu_stacks[n] = CpuStack{top, cpu, kind};
  cpu_stack_count.store(n + 1, std::memory_order_release);
  return top;
}

}  // namespace

void* AllocateThreadStack(size_t size) {
  const uint64_t pages = PagesFor(size);
  uintptr_t top = PopFree(pages);
  if (top == 0) top = MapNewStack(pages);
  return top == 0 ? nullptr : reinterpret_cast<void*>(top - size);
}

void FreeThreadStack(void* stack, size_t size) {
  const uint64_t pages = PagesFor(size);
  const uintptr_t top = reinterpret_cast<uintptr_t>(stack) + size;
  PushFree(top - pages * kPageSize, pages);
}

uintptr_t AllocateCpuStacks(arch::PerCpu& cpu) {
  const uint32_t index = cpu.index;
  const uintptr_t boot = AllocateCpuStack(index, StackKind::kBoot, kBootStackSize);
  arch::SetInterruptStack(cpu.tables, arch::kIstDoubleFault,
                          AllocateCpuStack(index, StackKind::kDoubleFault, arch::kIstStackSize));
  arch::SetInterruptStack(cpu.tables, arch::kIstNmi,
                          AllocateCpuStack(index, StackKind::kNmi, arch::kIstStackSize));
  arch::SetInterruptStack(cpu.tables, arch::kIstPageFault,
                          AllocateCpuStack(index, StackKind::kPageFault, arch::kIstStackSize));
  return boot;
}

bool FindStackGuard(uintptr_t address, StackInfo* info) {
  if (address < arch::kStackRegionBase) return false;
  const uint64_t slot = (address - arch::kStackRegionBase) / kStackSlotSize;
  if (slot >= kSlotCount || slot >= next_slot.load(std::memory_order_relaxed)) return false;
  if (arch::IsMapped(address)) return false;
  // The stack is the mapped run at the top of the slot; find where it starts.
  const uintptr_t top = SlotTop(slot);
  uintptr_t bottom = (address & ~(kPageSize - 1)) + kPageSize;
  while (bottom < top && !arch::IsMapped(bottom)) bottom += kPageSize;
  if (bottom == top) return false;  // a slot still being (or never) filled

  *info = StackInfo{StackKind::kThread, 0, bottom, top};
  const uint32_t count = cpu_stack_count.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < count; ++i) {
    if (cpu_stacks[i].top != top) continue;
    info->kind = cpu_stacks[i].kind;
    info->cpu = cpu_stacks[i].cpu;
  }
  return true;
}

size_t FormatStackOwner(const StackInfo& info, char* out, size_t size) {
  switch (info.kind) {
    case StackKind::kBoot:
      return Format(out, size, "the boot stack of cpu %u", info.cpu);
    case StackKind::kDoubleFault:
      return Format(out, size, "the double-fault stack of cpu %u", info.cpu);
    case StackKind::kNmi:
      return Format(out, size, "the NMI stack of cpu %u", info.cpu);
    case StackKind::kPageFault:
      return Format(out, size, "the page-fault stack of cpu %u", info.cpu);
    case StackKind::kThread:
      break;
  }
  // A thread's stack. The overflowing thread is normally the one this core
  // is running; anything else (a pointer below another thread's stack) is
  // only described.
  const uint32_t core = arch::CurrentCpuIndex();
  const sched::Scheduler* scheduler = sched::Scheduler::ForCoreOrNull(core);
  const sched::Thread* thread = scheduler != nullptr ? scheduler->current() : nullptr;
  if (thread != nullptr &&
      reinterpret_cast<uintptr_t>(thread->stack) + thread->stack_size == info.top) {
    return Format(out, size, "thread '%s' (id %lu, cpu %u)", thread->name, thread->id,
                  thread->core);
  }
  return Format(out, size, "a thread stack that is not cpu %u's running thread's", core);
}

}  // namespace uk
