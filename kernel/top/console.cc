#include "kernel/top/console.h"

#include "ipc/spsc_ring.h"
#include "kernel/arch/ioapic.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/trap.h"
#include "kernel/drivers/serial.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/per_core.h"
#include "kernel/top/shutdown.h"

namespace uk {
namespace {

// Producer: the interrupt handler; consumer: the console thread. Both on
// core 0, so the ring's ordering is more than enough.
ipc::SpscRing<uint8_t, 64> input;
ipc::StatCounter dropped;  // bytes typed faster than the thread read them

struct Input final : sched::WaitSource {
  bool Ready() override { return !input.Empty(); }
} input_source;

void OnSerialInterrupt(arch::TrapFrame&) {
  uint8_t byte;
  // Bounded: the FIFO holds 16 bytes; a stuck "data ready" cannot hold the
  // core here forever.
  for (int i = 0; i < 64 && serial::ReadByte(&byte); ++i) {
    if (!input.TryPush(byte)) ++dropped;
  }
  sched::Scheduler::ForCore(arch::CurrentCpuIndex()).InterruptWake();
}

void ConsoleThread(void*) {
  sched::Scheduler& sched = sched::Scheduler::Current();
  for (;;) {
    sched.WaitFor(input_source);
    uint8_t key;
    while (input.TryPop(&key)) {
      if (key == 's') {
        PrintCounters();
      } else if (key == 'q') {
        RequestShutdown("q on the console");
      } else if (key == 'h' || key == '?') {
        Print("console: keys: s = print counters, q = shut down gracefully, h = this help "
              "(%lu bytes dropped)\n",
              dropped.Get());
      }
    }
  }
}

}  // namespace

void StartConsole() {
  const uint32_t apic_id = arch::CurrentCpu().apic_id;
  arch::SetInterruptHandler(arch::kSerialVector, OnSerialInterrupt);
  if (!arch::RouteIsaIrq(serial::kIsaIrq, arch::kSerialVector, apic_id)) {
    Log(LogLevel::kInfo, "console: no I/O APIC route for COM1; console keys are off");
    return;
  }
  sched::Scheduler::Current().Spawn(&ConsoleThread, nullptr, "console", sched::Joinable::kNo);
  serial::EnableReceiveInterrupt();
}

}  // namespace uk
