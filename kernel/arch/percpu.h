#pragma once
// Per-CPU state, one cache-aligned block per core, reached through the GS
// base: %gs:0 holds the block's own address, so CurrentCpu() is one load and
// needs no table lookup or lock. Fields are written only by their own core
// unless a comment says otherwise.

#include <cstddef>
#include <cstdint>

#include "kernel/arch/gdt.h"

namespace uk::arch {

inline constexpr uint32_t kMaxCpus = 256;

struct alignas(64) PerCpu {
  PerCpu* self;              // %gs:0
  uint32_t index;            // %gs:8: 0 = bootstrap core, then 1..count-1
  uint32_t apic_id;          // local APIC id, from the MADT
  uint32_t interrupt_depth;  // > 0 while in a trap or interrupt handler
  uint32_t reserved;
  CpuTables tables;          // this core's GDT and TSS
};
static_assert(offsetof(PerCpu, self) == 0, "trap code and CurrentCpu read %gs:0");
static_assert(offsetof(PerCpu, index) == 8, "CurrentCpuIndex reads %gs:8");

inline PerCpu& CurrentCpu() {
  PerCpu* self;
  asm volatile("movq %%gs:0, %0" : "=r"(self));
  return *self;
}

inline uint32_t CurrentCpuIndex() {
  uint32_t index;
  asm volatile("movl %%gs:8, %0" : "=r"(index));
  return index;
}

// Makes `cpu` this core's per-CPU block (sets the GS base).
void InstallPerCpu(PerCpu& cpu, uint32_t index, uint32_t apic_id);

// All cores known to the kernel, by index. Filled by the bootstrap core
// before each application processor starts; read-only afterwards.
PerCpu& CpuByIndex(uint32_t index);
uint32_t CpuCount();          // cores that are online
void SetCpuCount(uint32_t count);
PerCpu* AllocatePerCpu(uint32_t index);

}  // namespace uk::arch
