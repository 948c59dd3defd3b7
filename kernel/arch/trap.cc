#include "kernel/arch/trap.h"

#include <atomic>

#include "kernel/arch/cpu.h"
#include "kernel/arch/gdt.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/percpu.h"
#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/lib/symbols.h"

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

// ---- NMIs that are not the panic stop ----
// A panicking core stops the others with an NMI (kernel/top/panic.cc). Any
// other NMI -- a hypervisor's watchdog, QEMU's `nmi` monitor command, a
// platform's NMI button -- is logged, counted and survived.

constexpr uint64_t kInterruptFlag = 1u << 9;
constexpr uint8_t kHltOpcode = 0xf4;

// Per core: NMIs ignored, and how many of them are not logged yet. Only the
// core itself writes its entries, but an NMI can land between the load and
// the store of a plain increment made in ordinary interrupt code, so they
// are atomic read-modify-writes; relaxed, as they order nothing else (other
// cores only read them, as statistics).
std::atomic<uint32_t> nmis_ignored[kMaxCpus];
std::atomic<uint32_t> nmis_unlogged[kMaxCpus];

void HandleStrayNmi(TrapFrame& frame) {
  const uint32_t cpu = CurrentCpuIndex();
  const uint32_t count = nmis_ignored[cpu].fetch_add(1, std::memory_order_relaxed) + 1;
  const bool interrupts_were_on = (frame.rflags & kInterruptFlag) != 0;
  if (interrupts_were_on) {
    // Spin lock holders keep interrupts off (kernel/arch/spinlock.h), so the
    // interrupted code holds none: the console lock is free or another
    // core's, and logging cannot deadlock on it. Otherwise only count; this
    // core's next interrupt logs it (LogDeferredNmis).
    nmis_unlogged[cpu].store(0, std::memory_order_relaxed);
    const SymbolMatch at = LookupSymbol(frame.rip);
    Log(LogLevel::kWarn,
        "NMI (not a panic stop), ignored: %u on this core; it interrupted %s+0x%lx", count,
        at.name != nullptr ? at.name : "?", at.offset);
  } else {
    nmis_unlogged[cpu].fetch_add(1, std::memory_order_relaxed);
  }
  // An NMI taken between the `sti` and the `hlt` of EnableInterruptsAndHalt
  // returns to the `hlt` with interrupts on. A wake interrupt that became
  // pending meanwhile is then delivered before the `hlt` (the `sti` shadow
  // is gone), and the core would halt with its wakeup already spent.
  // Returning past the `hlt` makes it an early wakeup instead, which every
  // halt loop tolerates: it checks again and halts again.
  if (interrupts_were_on && *reinterpret_cast<const uint8_t*>(frame.rip) == kHltOpcode) {
    ++frame.rip;
  }
}

// From an ordinary interrupt, whose interrupted code had interrupts on (so
// this core holds no lock): logs NMIs that HandleStrayNmi could only count.
void LogDeferredNmis() {
  const uint32_t cpu = CurrentCpuIndex();
  if (nmis_unlogged[cpu].load(std::memory_order_relaxed) == 0) return;
  const uint32_t unlogged = nmis_unlogged[cpu].exchange(0, std::memory_order_relaxed);
  if (unlogged == 0) return;
  Log(LogLevel::kWarn,
      "NMI (not a panic stop), ignored: %u on this core; %u taken with interrupts off, "
      "logged late",
      nmis_ignored[cpu].load(std::memory_order_relaxed), unlogged);
}

}  // namespace

uint32_t IgnoredNmiCount(uint32_t cpu_index) {
  return cpu_index < kMaxCpus ? nmis_ignored[cpu_index].load(std::memory_order_relaxed) : 0;
}

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
    // A page fault may be a stack overflow (a guard page): it cannot run on
    // the stack that overflowed, so it, too, gets a stack of its own.
    uint8_t ist = v == kDoubleFaultVector ? kIstDoubleFault
                  : v == kNmiVector       ? kIstNmi
                  : v == kPageFaultVector ? kIstPageFault
                                          : 0;
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
  if (frame->vector == kNmiVector) {
    if (PanicInProgress()) HaltForever();  // another core panicked and stopped us; stay quiet
    HandleStrayNmi(*frame);
    --cpu.interrupt_depth;
    return;  // no EOI: an NMI is never in service in the local APIC
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
  LogDeferredNmis();
  --cpu.interrupt_depth;
}

}  // namespace uk::arch
