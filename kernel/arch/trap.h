#pragma once
// Traps (exceptions) and interrupts. Exceptions are fatal: they produce a
// panic report. NMIs are not: the one a panicking core sends stops this
// core, and any other (a watchdog, a monitor's `nmi`) is logged, counted and
// survived. Interrupt vectors at or above kFirstInterruptVector are
// dispatched to the handler registered for them; the local APIC gets its EOI
// after the handler returns.

#include <cstdint>

namespace uk::arch {

// The stack as trap_entry.S leaves it; the order is fixed by the pushes.
struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
static_assert(sizeof(TrapFrame) == 22 * 8);

inline constexpr uint8_t kFirstInterruptVector = 32;
inline constexpr uint8_t kNmiVector = 2;
inline constexpr uint8_t kDoubleFaultVector = 8;
inline constexpr uint8_t kPageFaultVector = 14;

// Interrupt vectors the kernel uses. Higher vectors have higher priority in
// the local APIC.
inline constexpr uint8_t kSerialVector = 0x40;
inline constexpr uint8_t kPowerVector = 0x41;  // the ACPI power button, on core 0
inline constexpr uint8_t kBlockVector = 0x50;  // virtio-blk, on the fs core
inline constexpr uint8_t kNetVector = 0x51;    // virtio-net, on the net core
inline constexpr uint8_t kTimerVector = 0xef;
inline constexpr uint8_t kWakeVector = 0xf0;
inline constexpr uint8_t kSpuriousVector = 0xff;

using InterruptHandler = void (*)(TrapFrame& frame);

// Builds the IDT (once, on the bootstrap core).
void InitInterrupts();
// Loads the IDT on the calling core.
void LoadInterruptTable();
// Handlers must not allocate or block; they run with interrupts off.
void SetInterruptHandler(uint8_t vector, InterruptHandler handler);

const char* ExceptionName(uint64_t vector);

// NMIs core `cpu_index` has taken and survived (every one but the panic
// stop). Any core may read it.
uint32_t IgnoredNmiCount(uint32_t cpu_index);

extern "C" char trap_stubs[];

}  // namespace uk::arch
