#pragma once
// Waiting without burning the CPU: halt until an interrupt, re-check, repeat.
// Whoever makes `done` true must then send this core an interrupt (a wake
// IPI). Used only before the scheduler loops start (boot); afterwards
// threads wait through the scheduler (docs/sched.md). It never spins.

#include "kernel/arch/cpu.h"

namespace uk {

template <typename Predicate>
void HaltUntil(Predicate done) {
  for (;;) {
    arch::DisableInterrupts();
    if (done()) {
      arch::EnableInterrupts();
      return;
    }
    // An IPI sent after the check above stays pending until `sti` takes
    // effect, which is after `hlt` has started: it ends the halt.
    arch::EnableInterruptsAndHalt();
  }
}

}  // namespace uk
