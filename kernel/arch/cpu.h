#pragma once
// Thin wrappers over single x86-64 instructions. Each is one asm statement so
// the compiler sees exactly what the hardware does; nothing here loops.

#include <cstdint>

namespace uk::arch {

inline void Pause() { asm volatile("pause" ::: "memory"); }

inline void DisableInterrupts() { asm volatile("cli" ::: "memory"); }
inline void EnableInterrupts() { asm volatile("sti" ::: "memory"); }

// Enables interrupts and halts as one pair. `sti` delays interrupt delivery
// by one instruction, so an interrupt that became pending after the caller's
// last check (made with interrupts off) is delivered after `hlt` begins and
// ends it: no wakeup is lost between the check and the halt.
inline void EnableInterruptsAndHalt() { asm volatile("sti; hlt" ::: "memory"); }

// Halts with interrupts off forever: only NMI, INIT or reset get out.
[[noreturn]] inline void HaltForever() {
  for (;;) asm volatile("cli; hlt" ::: "memory");
}

inline uint64_t ReadFlags() {
  uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags)::"memory");
  return flags;
}
inline bool InterruptsEnabled() { return (ReadFlags() & (1u << 9)) != 0; }

inline uint64_t ReadTsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult Cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid"
               : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
               : "a"(leaf), "c"(subleaf));
  return r;
}

inline uint64_t ReadMsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t{hi} << 32) | lo;
}
inline void WriteMsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

inline uint8_t InByte(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint16_t InWord(uint16_t port) {
  uint16_t v;
  asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t InLong(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline void OutByte(uint16_t port, uint8_t v) {
  asm volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
inline void OutWord(uint16_t port, uint16_t v) {
  asm volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
inline void OutLong(uint16_t port, uint32_t v) {
  asm volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

inline uint64_t ReadCr2() {
  uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline uint64_t ReadCr3() {
  uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}

// Moves to the stack that ends at `top` (16-byte aligned) and calls
// `function` there, with rbp = 0 so backtraces end at it. The current stack
// is abandoned.
[[noreturn]] inline void CallOnStack(uintptr_t top, void (*function)()) {
  asm volatile(
      "movq %0, %%rsp\n"
      "xorl %%ebp, %%ebp\n"
      "callq *%1\n"
      "ud2\n"
      :
      : "r"(top), "r"(function)
      : "memory");
  __builtin_unreachable();
}

inline uintptr_t FramePointer() {
  return reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}

// Model-specific registers used by the kernel.
inline constexpr uint32_t kMsrApicBase = 0x1b;
inline constexpr uint32_t kMsrGsBase = 0xc0000101;
inline constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

// Saves the interrupt flag and disables interrupts for a scope.
class InterruptGuard {
 public:
  InterruptGuard() : was_enabled_(InterruptsEnabled()) { DisableInterrupts(); }
  ~InterruptGuard() {
    if (was_enabled_) EnableInterrupts();
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  bool was_enabled_;
};

}  // namespace uk::arch
