#pragma once
// Host stand-ins for what the kernel platform defines: which "core" the
// calling host thread plays, and how a broken invariant stops the program.

#include <cstddef>
#include <cstdint>

namespace uk::sched {

// Sets the core CurrentCore() reports on this host thread.
void SetCurrentCoreForTest(uint32_t core);

// Platform::AllocateStack/FreeStack for host platforms: an mmap'd stack with
// a PROT_NONE page below it, so an overflow is a SIGSEGV, as in the kernel
// it is a page fault.
void* MapGuardedStack(size_t size);
void UnmapGuardedStack(void* stack, size_t size);

}  // namespace uk::sched
