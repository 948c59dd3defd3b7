#include "kernel/arch/gdt.h"

namespace uk::arch {
namespace {

struct __attribute__((packed)) DescriptorPointer {
  uint16_t limit;
  uint64_t base;
};

// IST slots 1 to kIstPageFault, for the bootstrap core's first milliseconds.
constexpr uint8_t kIstSlotsInUse = kIstPageFault;
constexpr uint64_t kEarlyIstStackSize = 8192;
alignas(16) uint8_t early_ist_stacks[kIstSlotsInUse][kEarlyIstStackSize];

}  // namespace

void SetInterruptStack(CpuTables& t, uint8_t ist, uintptr_t top) { t.tss.ist[ist - 1] = top; }

void UseEarlyInterruptStacks(CpuTables& t) {
  for (uint8_t ist = 1; ist <= kIstSlotsInUse; ++ist) {
    SetInterruptStack(t, ist,
                      reinterpret_cast<uintptr_t>(early_ist_stacks[ist - 1] + kEarlyIstStackSize));
  }
}

void LoadCpuTables(CpuTables& t) {
  t.gdt[0] = 0;
  t.gdt[1] = 0x00af9a000000ffff;  // 64-bit code, DPL 0
  t.gdt[2] = 0x00cf92000000ffff;  // data, DPL 0
  auto tss = reinterpret_cast<uint64_t>(&t.tss);
  uint64_t limit = sizeof(Tss) - 1;
  t.gdt[3] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ull << 40) |  // available TSS
             (((limit >> 16) & 0xf) << 48) | (((tss >> 24) & 0xff) << 56);
  t.gdt[4] = tss >> 32;
  t.tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap

  DescriptorPointer pointer{sizeof(t.gdt) - 1, reinterpret_cast<uint64_t>(t.gdt)};
  asm volatile(
      "lgdt %0\n"
      "movw %1, %%ax\n"
      "movw %%ax, %%ds\n"
      "movw %%ax, %%es\n"
      "movw %%ax, %%ss\n"
      // Reload CS with a far return to the next instruction.
      "pushq %2\n"
      "leaq 1f(%%rip), %%rax\n"
      "pushq %%rax\n"
      "lretq\n"
      "1:\n"
      "ltr %w3\n"
      :
      : "m"(pointer), "i"(kKernelDataSelector), "i"(uint64_t{kKernelCodeSelector}),
        "r"(kTssSelector)
      : "rax", "memory");
}

}  // namespace uk::arch
