#pragma once
// Each core has its own GDT and TSS: the TSS holds the interrupt stacks
// (IST) that double faults, NMIs and page faults switch to, so a kernel
// stack overflow (a page fault on a guard page, kernel/mm/stacks.h) still
// produces a panic report instead of a triple fault.

#include <cstdint>

namespace uk::arch {

inline constexpr uint16_t kKernelCodeSelector = 0x08;
inline constexpr uint16_t kKernelDataSelector = 0x10;
inline constexpr uint16_t kTssSelector = 0x18;

// IST slots (1-based as the hardware numbers them).
inline constexpr uint8_t kIstDoubleFault = 1;
inline constexpr uint8_t kIstNmi = 2;
inline constexpr uint8_t kIstPageFault = 3;
inline constexpr uint64_t kIstStackSize = 16384;

struct __attribute__((packed)) Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct alignas(16) CpuTables {
  uint64_t gdt[5];  // null, code, data, TSS (two slots)
  Tss tss;
};

// Loads `tables` as this core's GDT and TSS and reloads segment registers.
// The IST stacks must be set first (they stay as set).
void LoadCpuTables(CpuTables& tables);

// Makes `top` the stack the CPU switches to for IST slot `ist`. Takes effect
// at the next interrupt that uses the slot, loaded or not.
void SetInterruptStack(CpuTables& tables, uint8_t ist, uintptr_t top);

// For the bootstrap core until memory management is up: IST stacks in .bss,
// without guard pages. kernel/mm/stacks.h replaces them.
void UseEarlyInterruptStacks(CpuTables& tables);

}  // namespace uk::arch
