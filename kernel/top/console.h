#pragma once
// Keys typed on the serial console, handled by a `console` thread on core 0:
//   s   print every core's counters (per_core.h: PrintCounters)
//   h   list the keys
// The UART interrupt only moves bytes into a ring and wakes the core; the
// thread waits on that ring like any service waits on its inbox, so an idle
// console costs nothing.

namespace uk {

// Core 0, once: routes COM1's interrupt here and starts the thread. Without
// an I/O APIC it logs that keys are off and does nothing.
void StartConsole();

}  // namespace uk
