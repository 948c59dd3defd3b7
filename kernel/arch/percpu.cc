#include "kernel/arch/percpu.h"

#include "kernel/arch/cpu.h"

namespace uk::arch {
namespace {

PerCpu bootstrap_cpu;
PerCpu* cpus[kMaxCpus] = {&bootstrap_cpu};
uint32_t cpu_count = 1;

}  // namespace

void InstallPerCpu(PerCpu& cpu, uint32_t index, uint32_t apic_id) {
  cpu.self = &cpu;
  cpu.index = index;
  cpu.apic_id = apic_id;
  cpu.interrupt_depth = 0;
  cpus[index] = &cpu;
  WriteMsr(kMsrGsBase, reinterpret_cast<uint64_t>(&cpu));
  WriteMsr(kMsrKernelGsBase, 0);
}

PerCpu& CpuByIndex(uint32_t index) { return *cpus[index]; }
uint32_t CpuCount() { return cpu_count; }
void SetCpuCount(uint32_t count) { cpu_count = count; }

PerCpu* AllocatePerCpu(uint32_t index) {
  if (index == 0) return &bootstrap_cpu;
  PerCpu* cpu = new PerCpu{};
  cpus[index] = cpu;
  return cpu;
}

}  // namespace uk::arch
