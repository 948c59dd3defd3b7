#include "kernel/top/smp.h"

#include <atomic>

#include "kernel/arch/cpu.h"
#include "kernel/arch/lapic.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/tsc.h"
#include "kernel/lib/log.h"
#include "kernel/mm/stacks.h"

extern "C" const char ap_trampoline_start[];
extern "C" const char ap_trampoline_end[];
extern "C" const char ap_trampoline_params[];

namespace uk {
void ApMain(arch::PerCpu* cpu);  // kernel/top/main.cc
}

namespace uk::arch {
namespace {

constexpr uint64_t kApTrampolinePhys = 0x8000;
constexpr uint64_t kApTimeoutNs = 1'000'000'000;

// Mirrors the parameter block at the end of boot/ap_trampoline.S.
struct ApTrampolineParams {
  uint64_t cr3;
  uint64_t stack;
  uint64_t entry;
  uint64_t argument;
};

// Written by the AP (release) after it has loaded its tables; read by the
// bootstrap core (acquire) before it reuses the trampoline's parameters.
std::atomic<bool> ap_online{false};

bool StartOne(uint32_t index, uint32_t apic_id, ApTrampolineParams* params) {
  PerCpu* cpu = AllocatePerCpu(index);
  cpu->index = index;
  cpu->apic_id = apic_id;
  params->cr3 = ReadCr3();
  params->stack = AllocateCpuStacks(*cpu);  // boot stack; also its TSS's IST stacks
  params->entry = reinterpret_cast<uint64_t>(&ApMain);
  params->argument = reinterpret_cast<uint64_t>(cpu);
  ap_online.store(false, std::memory_order_relaxed);
  // The AP reads `params` only after the SIPI, which is ordered after these
  // plain stores by the serializing APIC write.
  SendInitIpi(apic_id);
  SpinDelayNanoseconds(10'000);
  for (int attempt = 0; attempt < 2; ++attempt) {
    SendStartupIpi(apic_id, kApTrampolinePhys >> 12);
    SpinDelayNanoseconds(200'000);
    if (ap_online.load(std::memory_order_acquire)) return true;
  }
  uint64_t deadline = NanosecondsSinceBoot() + kApTimeoutNs;
  while (NanosecondsSinceBoot() < deadline) {
    if (ap_online.load(std::memory_order_acquire)) return true;
    Pause();
  }
  return false;
}

}  // namespace

void ReportApOnline() { ap_online.store(true, std::memory_order_release); }

uint32_t StartApplicationProcessors(const CpuTopology& topology) {
  size_t size = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
  __builtin_memcpy(PhysToVirt(kApTrampolinePhys), ap_trampoline_start, size);
  auto* params = PhysToVirt<ApTrampolineParams>(
      kApTrampolinePhys + static_cast<uint64_t>(ap_trampoline_params - ap_trampoline_start));

  uint32_t self = LocalApicId();
  uint32_t online = 1;
  for (uint32_t i = 0; i < topology.count; ++i) {
    uint32_t apic_id = topology.apic_ids[i];
    if (apic_id == self) continue;
    if (!StartOne(online, apic_id, params)) {
      Log(LogLevel::kError, "smp: core with apic id %u did not start; continuing with %u cores",
          apic_id, online);
      break;
    }
    ++online;
    SetCpuCount(online);
  }
  return online;
}

}  // namespace uk::arch
