#include "kernel/arch/trap.h"

#include "kernel/arch/cpu.h"
#include "kernel/arch/gdt.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/percpu.h"
#include "kernel/core/panic.h"

namespace uk::arch {
namespace {

struct __attribute__((packed)) Gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct __attribute__((packed)) IdtPointer {
  uint16_t limit;
  uint64_t base;
};

constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, interrupts off on entry
constexpr int kStubSize = 16;             // see trap_entry.S

alignas(16) Gate idt[256];
InterruptHandler handlers[256];

void IgnoreInterrupt(TrapFrame&) {}

}  // namespace

const char* ExceptionName(uint64_t vector) {
  static constexpr const char* kNames[32] = {
      "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
      "invalid opcode", "device not available", "double fault", "coprocessor overrun",
      "invalid TSS", "segment not present", "stack fault", "general protection fault",
      "page fault", "reserved", "x87 floating point", "alignment check", "machine check",
      "SIMD floating point", "virtualization", "control protection", "reserved", "reserved",
      "reserved", "reserved", "reserved", "reserved", "hypervisor injection",
      "VMM communication", "security", "reserved"};
  return vector < 32 ? kNames[vector] : "interrupt";
}

void InitInterrupts() {
  for (int v = 0; v < 256; ++v) {
    auto address = reinterpret_cast<uint64_t>(trap_stubs + v * kStubSize);
    uint8_t ist = v == 8 ? kIstDoubleFault : v == kNmiVector ? kIstNmi : 0;
    idt[v] = Gate{static_cast<uint16_t>(address), kKernelCodeSelector, ist, kInterruptGate,
                  static_cast<uint16_t>(address >> 16), static_cast<uint32_t>(address >> 32), 0};
  }
  handlers[kSpuriousVector] = IgnoreInterrupt;
}

void LoadInterruptTable() {
  IdtPointer pointer{sizeof(idt) - 1, reinterpret_cast<uint64_t>(idt)};
  asm volatile("lidt %0" ::"m"(pointer) : "memory");
}

void SetInterruptHandler(uint8_t vector, InterruptHandler handler) { handlers[vector] = handler; }

// Called from trap_entry.S with interrupts off.
void HandleTrap(TrapFrame* frame) {
  PerCpu& cpu = CurrentCpu();
  ++cpu.interrupt_depth;
  if (frame->vector == kNmiVector && PanicInProgress()) {
    HaltForever();  // another core panicked and stopped us; stay quiet
  }
  if (frame->vector < kFirstInterruptVector) {
    PanicFromTrap(*frame);
  }
  InterruptHandler handler = handlers[frame->vector];
  if (handler == nullptr) {
    PanicFromTrap(*frame);  // an interrupt nobody asked for is a kernel bug
  }
  handler(*frame);
  if (frame->vector != kSpuriousVector) EndOfInterrupt();
  --cpu.interrupt_depth;
}

}  // namespace uk::arch
