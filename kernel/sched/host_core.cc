#include "kernel/sched/host_core.h"

#include <cstdio>
#include <cstdlib>

#include "kernel/sched/scheduler.h"

namespace uk::sched {
namespace {
thread_local uint32_t current_core = 0;
}  // namespace

uint32_t CurrentCore() { return current_core; }
void SetCurrentCoreForTest(uint32_t core) { current_core = core; }

void SchedulerFatal(const char* what) {
  std::fprintf(stderr, "scheduler: %s\n", what);
  std::abort();
}

}  // namespace uk::sched
