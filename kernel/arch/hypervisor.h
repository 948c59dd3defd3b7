#pragma once
// What the hypervisor, if any, tells the guest through CPUID: the hypervisor
// bit (CPUID.1:ECX bit 31), the vendor leaf 0x40000000 (highest leaf and
// signature, "KVMKVMKVM\0\0\0" for KVM) and KVM's leaf 0x40000001 (feature
// bits in EAX, hints in EDX; Linux Documentation/virt/kvm/x86/cpuid.rst).
// Only reads them; what they mean for idling is decided by portable code
// (sched::ChooseIdlePolicy).

#include "kernel/arch/cpu.h"

namespace uk::arch {

struct HypervisorLeaves {
  CpuidResult leaf1;     // CPUID 0x1
  CpuidResult vendor;    // CPUID 0x40000000; zeros without the hypervisor bit
  CpuidResult features;  // CPUID 0x40000001; zeros without the hypervisor bit
};

// On the calling core. Leaves above 0x40000000 are read only when the
// hypervisor bit is set: on bare metal that range is not defined.
HypervisorLeaves ReadHypervisorLeaves();

}  // namespace uk::arch
