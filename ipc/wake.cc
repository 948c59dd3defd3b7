// Compiles the handshake in every build (see spsc_ring.cc) against a seam
// that does nothing, so the kernel build checks the protocol code itself.

#include "ipc/wake.h"

namespace uk::ipc {
namespace internal {

struct CompileCheckSeam {
  void Pause() {}
  bool SleepUntilWoken(WakeWord&) { return false; }
  void Wake(WakeWord&) {}
};
static_assert(WaitSeam<CompileCheckSeam>);

bool CompileCheckWake(WakeWord& word, bool work, WakerCounters& waker,
                      SleeperCounters& sleeper) {
  CompileCheckSeam seam;
  const bool woke = WakeIfHalted(seam, word, waker);
  const SleepOutcome outcome =
      PollThenSleep(seam, word, [work] { return work; }, 4, sleeper);
  return woke || outcome == SleepOutcome::kWorkFound;
}

}  // namespace internal
}  // namespace uk::ipc
