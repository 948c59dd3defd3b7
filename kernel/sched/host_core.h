#pragma once
// Host stand-ins for what the kernel platform defines: which "core" the
// calling host thread plays, and how a broken invariant stops the program.

#include <cstdint>

namespace uk::sched {

// Sets the core CurrentCore() reports on this host thread.
void SetCurrentCoreForTest(uint32_t core);

}  // namespace uk::sched
