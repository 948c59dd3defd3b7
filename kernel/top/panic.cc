#include "kernel/lib/panic.h"

#include <atomic>
#include <cstdarg>

#include "kernel/arch/cpu.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/power.h"
#include "kernel/arch/trap.h"
#include "kernel/lib/format.h"
#include "kernel/lib/log.h"
#include "kernel/lib/symbols.h"
#include "kernel/mm/page_table.h"
#include "kernel/mm/stacks.h"

namespace uk {
namespace {

// Set once by the first core to panic. Relaxed would do for the flag
// itself; acq_rel on the exchange orders the NMI'd cores' view of it.
std::atomic<bool> panicking{false};
constexpr int kMaxFrames = 32;

// Makes this core the only one running, or stops it if another core is
// already reporting.
void EnterPanic() {
  arch::DisableInterrupts();
  if (panicking.exchange(true, std::memory_order_acq_rel)) arch::HaltForever();
  if (arch::LocalApicReady()) arch::SendNmiToOthers();
}

void PrintSymbolized(uint64_t address) {
  SymbolMatch match = LookupSymbol(address);
  if (match.name != nullptr) {
    PrintForPanic("  %p  %s+0x%lx\n", reinterpret_cast<void*>(address), match.name,
                  match.offset);
  } else {
    PrintForPanic("  %p  ?\n", reinterpret_cast<void*>(address));
  }
}

// A frame the backtrace may read: a kernel address whose two words are
// mapped (after a stack overflow, rbp may point into the guard).
bool IsReadableFrame(uint64_t rbp) {
  return rbp >= arch::kDirectMapBase && rbp % 8 == 0 && arch::IsMapped(rbp) &&
         arch::IsMapped(rbp + 8);
}

// Follows the frame-pointer chain (the kernel is built with
// -fno-omit-frame-pointer; the boot code ends the chain with rbp = 0).
void PrintBacktrace(uint64_t rbp) {
  PrintForPanic("backtrace:\n");
  for (int i = 0; i < kMaxFrames && rbp != 0 && IsReadableFrame(rbp); ++i) {
    auto* frame = reinterpret_cast<const uint64_t*>(rbp);
    uint64_t return_address = frame[1];
    if (return_address == 0) break;
    PrintSymbolized(return_address - 1);  // the call, not the next instruction
    rbp = frame[0];
  }
}

[[noreturn]] void Finish() {
  PrintForPanic("stopping the VM with exit status %d\n", kExitPanic);
  arch::PowerOff(kExitPanic);
}

}  // namespace

bool PanicInProgress() { return panicking.load(std::memory_order_acquire); }

void Panic(const char* format, ...) {
  EnterPanic();
  char message[256];
  va_list args;
  va_start(args, format);
  FormatV(message, sizeof(message), format, args);
  va_end(args);
  PrintForPanic("\nKERNEL PANIC on cpu %u: %s\n", arch::CurrentCpuIndex(), message);
  PrintBacktrace(arch::FramePointer());
  Finish();
}

void CheckFailed(const char* file, int line, const char* condition) {
  Panic("CHECK failed at %s:%d: %s", file, line, condition);
}

void PanicFromTrap(const arch::TrapFrame& f) {
  EnterPanic();
  // A page fault in the guard below a stack is that stack overflowing
  // (kernel/mm/stacks.h); this handler runs on its own IST stack. A double
  // fault with CR2 in a guard is the same overflow, if the page fault could
  // not be delivered (every page fault panics, so CR2 is not stale).
  StackInfo stack;
  const bool overflow =
      (f.vector == arch::kPageFaultVector || f.vector == arch::kDoubleFaultVector) &&
      FindStackGuard(arch::ReadCr2(), &stack);
  if (overflow) {
    char owner[128];
    FormatStackOwner(stack, owner, sizeof(owner));
    PrintForPanic(
        "\nKERNEL PANIC on cpu %u: stack overflow in %s: %s (vector %lu, error code 0x%lx)\n",
        arch::CurrentCpuIndex(), owner, arch::ExceptionName(f.vector), f.vector, f.error_code);
  } else {
    PrintForPanic("\nKERNEL PANIC on cpu %u: %s (vector %lu, error code 0x%lx)\n",
                  arch::CurrentCpuIndex(), arch::ExceptionName(f.vector), f.vector, f.error_code);
  }
  if (f.vector == arch::kPageFaultVector) {
    uint64_t e = f.error_code;
    PrintForPanic("  faulting address %p (%s, %s, %s)\n", reinterpret_cast<void*>(arch::ReadCr2()),
                  (e & 1) ? "protection violation" : "page not present",
                  (e & 2) ? "write" : "read", (e & 16) ? "instruction fetch" : "data");
  }
  if (overflow) {
    PrintForPanic("  %lu bytes below the %lu KiB stack %p-%p, in its guard\n",
                  stack.bottom - arch::ReadCr2(), (stack.top - stack.bottom) / 1024,
                  reinterpret_cast<void*>(stack.bottom), reinterpret_cast<void*>(stack.top));
  }
  PrintForPanic("  rip %p", reinterpret_cast<void*>(f.rip));
  SymbolMatch at = LookupSymbol(f.rip);
  if (at.name != nullptr) PrintForPanic(" <%s+0x%lx>", at.name, at.offset);
  PrintForPanic("\n  rsp %016lx rbp %016lx rflags %016lx cs %lx ss %lx\n", f.rsp, f.rbp,
                f.rflags, f.cs, f.ss);
  PrintForPanic("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f.rax, f.rbx, f.rcx, f.rdx);
  PrintForPanic("  rsi %016lx rdi %016lx r8  %016lx r9  %016lx\n", f.rsi, f.rdi, f.r8, f.r9);
  PrintForPanic("  r10 %016lx r11 %016lx r12 %016lx r13 %016lx\n", f.r10, f.r11, f.r12, f.r13);
  PrintForPanic("  r14 %016lx r15 %016lx cr2 %016lx cr3 %016lx\n", f.r14, f.r15, arch::ReadCr2(),
                arch::ReadCr3());
  PrintBacktrace(f.rbp);
  Finish();
}

}  // namespace uk
