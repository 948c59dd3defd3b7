// //images:hello: every core says hello once, then the VM powers off with
// exit status 0. The bootstrap core waits for the others without spinning:
// each one bumps a counter and wakes it with an IPI.

#include <atomic>
#include <cstdint>

#include "kernel/arch/lapic.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/power.h"
#include "kernel/arch/trap.h"
#include "kernel/core/app.h"
#include "kernel/core/log.h"
#include "kernel/core/wait.h"

namespace uk {
namespace {

// Release on increment publishes the core's printed line (the console lock
// already orders it); acquire on the bootstrap core's read pairs with it.
std::atomic<uint32_t> reported{0};

}  // namespace

void AppMain(uint32_t cpu, uint32_t cpu_count) {
  Print("hello from cpu %u of %u\n", cpu, cpu_count);
  if (cpu != 0) {
    reported.fetch_add(1, std::memory_order_release);
    arch::SendIpi(arch::CpuByIndex(0).apic_id, arch::kWakeVector);
    return;
  }
  HaltUntil([&] { return reported.load(std::memory_order_acquire) == cpu_count - 1; });
  arch::PowerOff(0);
}

}  // namespace uk
