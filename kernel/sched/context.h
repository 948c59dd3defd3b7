#pragma once
// Saving and resuming a thread's registers: the one piece of the scheduler
// that is assembly (context_switch.S). x86-64 System V only, which the kernel
// and the Linux host tests share, so the same file serves both.
//
// A suspended thread is just its stack pointer: SwitchContext pushes the
// callee-saved registers (rbp, rbx, r12-r15) on the old stack, stores rsp,
// loads the new rsp and pops the new thread's registers. Caller-saved
// registers need no saving: the switch is an ordinary function call.

#include <cstddef>
#include <cstdint>

extern "C" void uk_sched_switch(uintptr_t* save_rsp, uintptr_t next_rsp);
extern "C" void uk_sched_thread_start();

namespace uk::sched {

using ThreadEntry = void (*)(void* arg);

inline void SwitchContext(uintptr_t* save_rsp, uintptr_t next_rsp) {
  uk_sched_switch(save_rsp, next_rsp);
}

// Lays out a first frame on [stack, stack + size) so that switching to the
// returned stack pointer calls entry(arg) on that stack, 16-byte aligned as
// the ABI wants, with rbp = 0 so backtraces stop there. `entry` must not
// return.
inline uintptr_t PrepareContext(std::byte* stack, size_t size,
                                ThreadEntry entry, void* arg) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + size) & ~uintptr_t{15};
  auto* frame = reinterpret_cast<uintptr_t*>(top) - 7;
  frame[0] = 0;                                               // r15
  frame[1] = 0;                                               // r14
  frame[2] = reinterpret_cast<uintptr_t>(arg);                // r13
  frame[3] = reinterpret_cast<uintptr_t>(entry);              // r12
  frame[4] = 0;                                               // rbx
  frame[5] = 0;                                               // rbp
  frame[6] = reinterpret_cast<uintptr_t>(&uk_sched_thread_start);  // ret
  // After the pops and `ret`, rsp = top: aligned, as before a `call`.
  return reinterpret_cast<uintptr_t>(frame);
}

}  // namespace uk::sched
