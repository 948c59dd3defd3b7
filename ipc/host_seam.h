#pragma once

// HostSeam: the WaitSeam (wake.h) for host threads, so host tests exercise
// the exact protocol code the kernel runs. The kernel's seam (IPI + sti;hlt)
// lives elsewhere; this one sleeps on the WakeWord's state with a Linux
// futex, which gives the contract's "check and block atomically": the
// kernel re-reads the word under its futex lock and refuses to sleep if it
// no longer holds kHaltAnnounced.
//
// Stateless: one instance may serve any number of producers and consumers.
// Host only.

#include "ipc/wake.h"

namespace uk::ipc {

class HostSeam {
 public:
  void Pause();
  bool SleepUntilWoken(WakeWord& word);
  void Wake(WakeWord& word);
};

static_assert(WaitSeam<HostSeam>);

}  // namespace uk::ipc
