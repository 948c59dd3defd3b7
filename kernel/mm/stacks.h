#pragma once
// Kernel stacks with guard pages, so that running off the end of a stack
// faults on the spot instead of silently overwriting whatever lies below.
//
// Every stack the kernel runs on after boot -- each thread's, each core's
// boot stack (where its scheduler loop runs) and each core's interrupt
// stacks (IST: double fault, NMI, page fault) -- sits alone in a 256 KiB slot
// of the stack region (arch/paging.h), at the top of the slot:
//
//   0xffffff0000000000 + i * kStackSlotSize                  + kStackSlotSize
//   |<------------ unmapped: the guard ------------>|<--- mapped, 4 KiB pages -->|
//   slot base                                  bottom = top - size            top
//
// The stack grows down from `top`. Everything below `bottom` in the slot is
// never mapped (224 KiB for a 32 KiB thread stack), so a push or a frame,
// however large, that goes past `bottom` page-faults at once. The page fault
// runs on its own IST stack, so it can still report; FindStackGuard tells
// the panic whose stack it was. The next slot's stack ends at this slot's
// base, so slots do not need a gap above `top`.
//
// Nothing here is ever unmapped. A freed thread stack keeps its pages and
// waits on a free list for the next stack of the same size: unmapping would
// need a TLB shootdown on every core that may have touched it (threads hand
// pointers to stack buffers to other cores), and mapping the range to other
// frames later would let such a core's stale TLB entry write the wrong
// frame. So the memory of freed stacks goes back to stacks, not to the page
// allocator; it is bounded by the peak number of live threads.
//
// The bootstrap core starts on a 32 KiB stack in .bss (boot/pvh_entry.S)
// with IST stacks in .bss (arch/gdt.h), none guarded; it moves to guarded
// ones as soon as the page allocator works (kernel/top/main.cc).

#include <cstddef>
#include <cstdint>

#include "kernel/arch/paging.h"

namespace uk {

namespace arch {
struct PerCpu;
}

inline constexpr uint64_t kStackSlotSize = 256 * 1024;
inline constexpr uint64_t kMaxStackSize = kStackSlotSize - arch::kPageSize;
inline constexpr uint64_t kBootStackSize = 64 * 1024;

enum class StackKind : uint8_t { kThread, kBoot, kDoubleFault, kNmi, kPageFault };

struct StackInfo {
  StackKind kind;
  uint32_t cpu;      // the core of a boot or interrupt stack
  uintptr_t bottom;  // lowest mapped byte
  uintptr_t top;     // one past the highest byte
};

// `size` bytes (at most kMaxStackSize) ending at the top of a slot, with the
// guard below; nullptr if out of memory. Any core, any thread (not from an
// interrupt handler). FreeThreadStack takes back exactly what this returned.
void* AllocateThreadStack(size_t size);
void FreeThreadStack(void* stack, size_t size);

// Bootstrap core only, before `cpu` runs on them: allocates the core's boot
// stack and its interrupt stacks, points its TSS at the interrupt stacks,
// and returns the top of the boot stack. Panics if out of memory.
uintptr_t AllocateCpuStacks(arch::PerCpu& cpu);

// If `address` is in the unmapped part of a stack slot below a stack,
// describes that stack. Lock-free, for the page-fault path.
bool FindStackGuard(uintptr_t address, StackInfo* info);

// Names the owner of a stack: "thread 'http-conn' (id 12, cpu 3)" when it is
// the thread this core is running, "the boot stack of cpu 2", ...
size_t FormatStackOwner(const StackInfo& info, char* out, size_t size);

}  // namespace uk
