// //images:hello: a thread on every core says hello, core 0 joins them all,
// and the VM powers off with exit status 0. Everything goes through the
// per-core runtime: threads are created on other cores by messages to their
// sched services, and joining is a request that is answered when the thread
// exits. No core spins while it waits.

#include <cstdint>

#include "kernel/core/app.h"
#include "kernel/core/log.h"
#include "kernel/sched/scheduler.h"
#include "services/sched/sched_service.h"

namespace uk {
namespace {

void SayHello(void*) {
  Print("hello from cpu %u of %u\n", sched::CurrentCore(), sched::Scheduler::CoreCount());
}

}  // namespace

int AppMain() {
  const uint32_t cores = sched::Scheduler::CoreCount();
  auto* threads = new svc::RemoteThread[cores];
  for (uint32_t core = 0; core < cores; ++core) {
    threads[core] = svc::SpawnOn(core, &SayHello, nullptr, "hello");
  }
  int failed = 0;
  for (uint32_t core = 0; core < cores; ++core) {
    if (!svc::Join(threads[core])) ++failed;
  }
  delete[] threads;
  return failed == 0 ? 0 : 1;
}

}  // namespace uk
