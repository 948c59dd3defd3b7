// Kernel start-up, in the order things become available:
//   serial -> per-CPU block, GDT, IDT -> C++ constructors -> boot info and
//   command line -> page allocator, heap -> guarded boot and interrupt
//   stacks (stacks.h) -> TSC -> ACPI, local APIC -> application processors
//   -> every core's scheduler (per_core.h), and the application as the first
//   thread on core 0.

#include <atomic>

#include "kernel/arch/acpi.h"
#include "kernel/arch/boot_info.h"
#include "kernel/arch/cpu.h"
#include "kernel/arch/ioapic.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/power.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/trap.h"
#include "kernel/arch/tsc.h"
#include "kernel/arch/wait.h"
#include "kernel/drivers/serial.h"
#include "kernel/drivers/virtio/transport.h"
#include "kernel/lib/log.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/page_allocator.h"
#include "kernel/mm/stacks.h"
#include "kernel/top/per_core.h"
#include "kernel/top/smp.h"

extern "C" void (*const __init_array_start[])();
extern "C" void (*const __init_array_end[])();
extern "C" const char __kernel_end[];

namespace uk {
namespace {

BootInfo boot_info;
arch::CpuTopology topology;
// Set by the bootstrap core (release) once every core is up; APs wait for it
// (acquire) so that every core sees the final core count.
std::atomic<bool> all_cores_up{false};

void IgnoreInterrupt(arch::TrapFrame&) {}

void RunGlobalConstructors() {
  for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();
}

void ApplyCommandLine(const CommandLine& command_line) {
  std::string_view level = command_line.Get("loglevel");
  if (level.empty()) return;
  char name[16] = {};
  for (size_t i = 0; i < level.size() && i + 1 < sizeof(name); ++i) name[i] = level[i];
  LogLevel parsed;
  if (ParseLogLevel(name, &parsed)) SetLogLevel(parsed);
  else Log(LogLevel::kWarn, "unknown loglevel '%s' (error, warn, info, debug)", name);
}

void InitThisCore(arch::PerCpu& cpu) {
  arch::LoadCpuTables(cpu.tables);
  arch::LoadInterruptTable();
}

[[noreturn]] void ContinueBoot();

}  // namespace

const CommandLine& KernelCommandLine() { return boot_info.command_line; }

// Entered from boot/pvh_entry.S on the boot stack, interrupts off.
void BootMain(uint64_t start_info_phys) {
  arch::PerCpu& bsp = *arch::AllocatePerCpu(0);
  arch::InstallPerCpu(bsp, 0, 0);
  serial::Init();
  arch::InitInterrupts();
  arch::UseEarlyInterruptStacks(bsp.tables);
  InitThisCore(bsp);
  RunGlobalConstructors();

  if (!ReadPvhBootInfo(start_info_phys, &boot_info)) {
    Panic("boot: no usable boot information; boot this kernel with PVH (qemu -kernel)");
  }
  ApplyCommandLine(boot_info.command_line);
  Log(LogLevel::kInfo, "command line: %.*s",
      static_cast<int>(boot_info.command_line.text().size()), boot_info.command_line.text().data());
  virtio::AddMmioDevicesFromCommandLine(boot_info.command_line.text());
  if (boot_info.command_line.truncated()) {
    Log(LogLevel::kWarn, "command line longer than %zu bytes was truncated",
        CommandLine::kMaxLength);
  }
  InitPageAllocator(boot_info, arch::VirtToPhys(__kernel_end));
  InitHeap();
  // Leave the unguarded .bss stacks: from here on this core runs on stacks
  // with guard pages (the IST slots switch at the next interrupt).
  arch::CallOnStack(AllocateCpuStacks(bsp), &ContinueBoot);
}

namespace {

// The rest of BootMain, on the bootstrap core's guarded boot stack.
void ContinueBoot() {
  arch::PerCpu& bsp = arch::CurrentCpu();
  arch::CalibrateTsc();

  if (!arch::FindCpus(boot_info.rsdp_phys, &topology)) {
    Log(LogLevel::kWarn, "acpi: running on the bootstrap core only");
    topology.count = 0;
  }
  arch::InitLocalApic(topology.local_apic_phys);
  bsp.apic_id = arch::LocalApicId();
  // Until the per-core runtime takes them over, these only end a halt.
  arch::SetInterruptHandler(arch::kWakeVector, IgnoreInterrupt);
  arch::SetInterruptHandler(arch::kTimerVector, IgnoreInterrupt);
  arch::CalibrateLocalApicTimer();
  arch::InitIoApic(topology);
  arch::PowerControls power;
  if (arch::FindPowerControls(boot_info.rsdp_phys, &power)) arch::SetPowerControls(power);

  uint32_t online = arch::StartApplicationProcessors(topology);
  arch::SetCpuCount(online);
  Log(LogLevel::kInfo, "%u cpus, %lu MiB free, tsc %lu MHz (%s), %s, %s timer, boot took %lu us",
      online, FreePageCount() * arch::kPageSize >> 20, arch::TscHz() / 1000000, arch::TscSource(),
      arch::LocalApicIsX2Apic() ? "x2apic" : "xapic",
      arch::TimerUsesTscDeadline() ? "tsc-deadline" : "one-shot",
      arch::NanosecondsSinceBoot() / 1000);
  PrepareCores(online);
  all_cores_up.store(true, std::memory_order_release);
  for (uint32_t i = 1; i < online; ++i) {
    arch::SendIpi(arch::CpuByIndex(i).apic_id, arch::kWakeVector);
  }
  RunCore(0);
}

}  // namespace

// Entered from boot/ap_trampoline.S on the stack the bootstrap core gave us.
void ApMain(arch::PerCpu* cpu) {
  arch::InstallPerCpu(*cpu, cpu->index, cpu->apic_id);
  InitThisCore(*cpu);
  arch::InitLocalApicOnThisCore();
  arch::ReportApOnline();
  HaltUntil([] { return all_cores_up.load(std::memory_order_acquire); });
  RunCore(cpu->index);
}

}  // namespace uk
