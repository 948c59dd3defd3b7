#include "kernel/arch/hypervisor.h"

namespace uk::arch {

HypervisorLeaves ReadHypervisorLeaves() {
  HypervisorLeaves leaves{};
  leaves.leaf1 = Cpuid(1);
  if ((leaves.leaf1.ecx & (1u << 31)) == 0) return leaves;
  leaves.vendor = Cpuid(0x40000000);
  // Read even if the vendor leaf says it is not there: under a hypervisor
  // that leaf is harmless to read, and the decision checks the highest leaf.
  leaves.features = Cpuid(0x40000001);
  return leaves;
}

}  // namespace uk::arch
