#pragma once
// How long a core polls its rings before it halts.
//
// Halting is cheap for the host but waking is not: under KVM an IPI to a
// halted vCPU costs ~5.5 us against ~0.5 us to a running one (seeds/003).
// Polling a little first catches messages that arrive soon after the rings
// empty, at the price of burning the CPU while it polls. The window adapts
// like KVM's halt_poll_ns (virt/kvm/kvm_main.c) and Linux's guest haltpoll
// governor:
//   - the wait ended while polling: the window was right, keep it;
//   - the core halted and the wait ended within the cap: polling a bit
//     longer would have caught it, grow (x2, at least `start`);
//   - the wait was longer than the cap: polling was wasted, shrink (/2,
//     and to 0 below `start`, so a core with long gaps halts at once).
// A fresh window starts at `start`.
//
// Which policy a core starts with is decided once at boot from what the
// hypervisor tells the guest (ChooseIdlePolicy, below).
//
// Portable: no kernel dependencies; tested with a fake clock on the host.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uk::sched {

// Every core starts with the one chosen at boot (ChooseIdlePolicy below, or
// `--idle_policy=`); a benchmark may change it per core. It picks a strategy;
// it never says whether the core has work (the rings say that).
enum class IdlePolicy : uint8_t {
  kAdaptive,  // poll for the adaptive window, then halt
  kPoll,      // never halt (benchmarks: the pure polling baseline)
  kHalt,      // halt at once (benchmarks: the pure IPI-wake baseline)
};

const char* IdlePolicyName(IdlePolicy policy);
// "adaptive", "poll" or "halt" (IdlePolicyName's names); false for anything else.
bool ParseIdlePolicy(std::string_view name, IdlePolicy* policy);

struct HaltPollConfig {
  uint64_t start_ns = 10'000;
  uint64_t max_ns = 200'000;
  uint32_t grow = 2;
  uint32_t shrink = 2;
};

class HaltPollWindow {
 public:
  explicit HaltPollWindow(HaltPollConfig config = {})
      : config_(config), window_ns_(config.start_ns) {}

  uint64_t window_ns() const { return window_ns_; }
  const HaltPollConfig& config() const { return config_; }

  // After one idle period: `waited_ns` from the rings going empty to work
  // arriving; `halted` if the core got as far as `hlt`.
  void Update(uint64_t waited_ns, bool halted);

  uint64_t grows() const { return grows_; }
  uint64_t shrinks() const { return shrinks_; }

 private:
  void Grow();
  void Shrink();

  HaltPollConfig config_;
  uint64_t window_ns_;
  uint64_t grows_ = 0;
  uint64_t shrinks_ = 0;
};

// What to do with the next idle period.
struct IdlePlan {
  uint64_t poll_ns;  // poll this long (UINT64_MAX: until work arrives)
  bool may_halt;     // then halt if still nothing
};

// `congested`: during the last busy period a consumer could not keep up
// (its drain hit the budget with items still waiting). Work is then likely
// to keep coming, so the core polls the full cap and does not halt.
IdlePlan PlanIdle(IdlePolicy policy, const HaltPollWindow& window,
                  bool congested);

// ---- The policy at boot: poll only where it pays ----
//
// Polling burns the CPU it runs on. That costs nobody anything on bare metal
// or on a vCPU that has a host CPU to itself, and it saves the ~5 us of
// waking a halted vCPU (seeds/003: poll "as long as there's no one else that
// needs to schedule on your physical CPU"). On a vCPU that shares its host
// CPU, polling takes time from the host and from other vCPUs, perhaps from
// the very vCPU that would send the message being waited for (seeds/004), so
// such a guest halts at once. The guest knows which case it is in only from
// CPUID (Linux Documentation/virt/kvm/x86/cpuid.rst):
//
//   CPUID.1:ECX bit 31 clear                  bare metal            adaptive
//   "KVMKVMKVM" and KVM_HINTS_REALTIME        dedicated host CPUs   adaptive
//   "KVMKVMKVM" without KVM_HINTS_REALTIME    CPUs may be shared    halt
//   any other hypervisor (QEMU's TCG too)     CPUs may be shared    halt
//
// KVM_HINTS_REALTIME means "vCPUs are never preempted for an unlimited
// time". A hypervisor that hides its CPUID bit is taken for bare metal;
// `--idle_policy=` overrides the choice either way.

// The CPUID words the choice reads, as the CPU returns them
// (kernel/arch/hypervisor.h reads them; tests make them up). Leaves
// 0x40000000/1 are meaningful only with the hypervisor bit set.
struct HypervisorCpuid {
  uint32_t leaf1_ecx = 0;     // CPUID 0x1 ECX; bit 31: a hypervisor is present
  uint32_t max_leaf = 0;      // CPUID 0x40000000 EAX: highest hypervisor leaf
  uint32_t vendor[3] = {};    //   EBX, ECX, EDX: signature, "KVMKVMKVM\0\0\0" for KVM
  uint32_t kvm_features = 0;  // CPUID 0x40000001 EAX: KVM_FEATURE_* bits (unused
                              //   so far: steal time, docs/sched.md)
  uint32_t kvm_hints = 0;     //   EDX: KVM_HINTS_* bits
};

inline constexpr uint32_t kCpuidHypervisorPresent = 1u << 31;  // CPUID.1:ECX
inline constexpr uint32_t kCpuidHypervisorBase = 0x40000000;
inline constexpr uint32_t kCpuidKvmFeatures = 0x40000001;
inline constexpr uint32_t kKvmHintsRealtime = 1u << 0;  // kvm_hints

enum class IdleHost : uint8_t {
  kBareMetal,        // no hypervisor bit
  kKvmDedicated,     // KVM with KVM_HINTS_REALTIME
  kKvmShared,        // KVM without it
  kOtherHypervisor,  // any other signature, or none
};

struct IdlePolicyChoice {
  IdlePolicy policy;
  IdleHost host;
  // Why, for the boot log, NUL-terminated; e.g. `hypervisor "TCGTCGTCGTCG"
  // without a dedicated-CPU hint: host CPUs may be shared`.
  char reason[96];
};

IdlePolicyChoice ChooseIdlePolicy(const HypervisorCpuid& cpuid);

// `--idle_policy=`: "auto" keeps the automatic choice; "adaptive", "poll" or
// "halt" replaces it on every core.
enum class IdlePolicyFlag : uint8_t {
  kAuto,     // "auto": *policy untouched
  kApplied,  // a policy name: *policy set to it
  kInvalid,  // anything else (also a bare `idle_policy`): *policy untouched
};
IdlePolicyFlag ApplyIdlePolicyFlag(std::string_view value, IdlePolicy* policy);

}  // namespace uk::sched
