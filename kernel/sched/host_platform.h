#pragma once
// A Platform for host tests that run several "cores" as OS threads: real
// time (steady_clock), `pause`, and halts as futex sleeps on the core's
// WakeWord, bounded by the armed deadline. Wake() is a futex wake, standing
// in for the IPI.

#include <cstdint>

#include "kernel/sched/host_core.h"
#include "kernel/sched/scheduler.h"

namespace uk::sched {

class HostPlatform : public Platform {
 public:
  uint64_t NowNs() override;
  uint64_t Cycles() override { return NowNs(); }
  void Pause() override;
  void ArmDeadline(uint64_t deadline_ns) override { deadline_ns_ = deadline_ns; }
  bool SleepUntilWoken(ipc::WakeWord& word) override;
  void Wake(ipc::WakeWord& word) override;
  void* AllocateStack(size_t size) override { return MapGuardedStack(size); }
  void FreeStack(void* stack, size_t size) override { UnmapGuardedStack(stack, size); }

 private:
  uint64_t deadline_ns_ = SleepQueue::kNever;
};

}  // namespace uk::sched
