#include "kernel/sched/halt_poll.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace uk::sched {
namespace {

// One idle period against a fake clock: the message arrives `gap_ns` after
// the rings went empty. Returns the nanoseconds spent polling.
uint64_t IdleOnce(HaltPollWindow& window, uint64_t gap_ns, bool congested = false) {
  IdlePlan plan = PlanIdle(IdlePolicy::kAdaptive, window, congested);
  if (gap_ns <= plan.poll_ns) {
    window.Update(gap_ns, /*halted=*/false);
    return gap_ns;
  }
  window.Update(gap_ns, /*halted=*/plan.may_halt);
  return plan.poll_ns;
}

TEST(HaltPollWindowTest, StartsAtConfiguredStart) {
  HaltPollWindow window;
  EXPECT_EQ(window.window_ns(), 10'000u);
}

TEST(HaltPollWindowTest, PeriodicShortGapsConvergeToPollingThemAll) {
  HaltPollWindow window;
  constexpr uint64_t kGap = 50'000;
  int halts = 0;
  for (int i = 0; i < 100; ++i) {
    if (window.window_ns() < kGap) ++halts;
    IdleOnce(window, kGap);
  }
  // 10 -> 20 -> 40 -> 80 us: three halts, then every gap is caught polling.
  EXPECT_EQ(halts, 3);
  EXPECT_GE(window.window_ns(), kGap);
  EXPECT_LE(window.window_ns(), window.config().max_ns);
  EXPECT_EQ(window.shrinks(), 0u);
}

TEST(HaltPollWindowTest, GrowthStopsAtTheCap) {
  HaltPollWindow window;
  for (int i = 0; i < 50; ++i) IdleOnce(window, 190'000);
  EXPECT_EQ(window.window_ns(), window.config().max_ns);
}

TEST(HaltPollWindowTest, LongGapsShrinkToHaltingAtOnce) {
  HaltPollWindow window;
  for (int i = 0; i < 5; ++i) IdleOnce(window, 30'000);  // grow first
  ASSERT_GT(window.window_ns(), 10'000u);
  for (int i = 0; i < 10; ++i) IdleOnce(window, 5'000'000);
  EXPECT_EQ(window.window_ns(), 0u);
  // And a core with long gaps wastes almost nothing: over 1000 gaps of 1 ms
  // it polls less than 1 ms in total.
  uint64_t polled = 0;
  for (int i = 0; i < 1000; ++i) polled += IdleOnce(window, 1'000'000);
  EXPECT_LT(polled, 1'000'000u);
}

TEST(HaltPollWindowTest, OneLongGapHalvesThenShortGapsRegrow) {
  HaltPollWindow window;
  for (int i = 0; i < 10; ++i) IdleOnce(window, 150'000);
  const uint64_t converged = window.window_ns();
  IdleOnce(window, 10'000'000);
  EXPECT_EQ(window.window_ns(), converged / 2);
  for (int i = 0; i < 3; ++i) IdleOnce(window, 150'000);
  EXPECT_GE(window.window_ns(), 150'000u);
}

TEST(HaltPollWindowTest, GrowFromZeroRestartsAtStart) {
  HaltPollWindow window;
  for (int i = 0; i < 5; ++i) IdleOnce(window, 1'000'000);
  ASSERT_EQ(window.window_ns(), 0u);
  IdleOnce(window, 5'000);  // halted at once, but the gap was short
  EXPECT_EQ(window.window_ns(), 10'000u);
}

TEST(HaltPollWindowTest, ZeroShrinkFactorDropsStraightToZero) {
  HaltPollWindow window({.start_ns = 10'000, .max_ns = 200'000, .grow = 2, .shrink = 0});
  IdleOnce(window, 1'000'000);
  EXPECT_EQ(window.window_ns(), 0u);
}

TEST(PlanIdleTest, NeverHaltsUnderCongestion) {
  HaltPollWindow window;
  for (int i = 0; i < 10; ++i) IdleOnce(window, 1'000'000);  // window 0
  IdlePlan plan = PlanIdle(IdlePolicy::kAdaptive, window, /*congested=*/true);
  EXPECT_FALSE(plan.may_halt);
  EXPECT_EQ(plan.poll_ns, window.config().max_ns);
  plan = PlanIdle(IdlePolicy::kAdaptive, window, /*congested=*/false);
  EXPECT_TRUE(plan.may_halt);
  EXPECT_EQ(plan.poll_ns, 0u);
}

TEST(PlanIdleTest, FixedPolicies) {
  HaltPollWindow window;
  IdlePlan poll = PlanIdle(IdlePolicy::kPoll, window, false);
  EXPECT_FALSE(poll.may_halt);
  EXPECT_EQ(poll.poll_ns, UINT64_MAX);
  IdlePlan halt = PlanIdle(IdlePolicy::kHalt, window, true);
  EXPECT_TRUE(halt.may_halt);
  EXPECT_EQ(halt.poll_ns, 0u);
  EXPECT_STREQ(IdlePolicyName(IdlePolicy::kAdaptive), "adaptive");
}

// ---- The policy at boot (ChooseIdlePolicy, ApplyIdlePolicyFlag) ----

// A signature as CPUID returns it: 12 bytes in EBX, ECX, EDX, little-endian.
HypervisorCpuid Hypervisor(const char (&signature)[13], uint32_t max_leaf) {
  HypervisorCpuid cpuid;
  cpuid.leaf1_ecx = kCpuidHypervisorPresent;
  cpuid.max_leaf = max_leaf;
  std::memcpy(cpuid.vendor, signature, 12);
  return cpuid;
}

HypervisorCpuid Kvm(uint32_t hints, uint32_t max_leaf = kCpuidKvmFeatures) {
  HypervisorCpuid cpuid = Hypervisor("KVMKVMKVM\0\0\0", max_leaf);
  cpuid.kvm_features = 1u << 5;  // KVM_FEATURE_STEAL_TIME, as most hosts offer it
  cpuid.kvm_hints = hints;
  return cpuid;
}

TEST(ChooseIdlePolicyTest, KvmSignatureIsTheDocumentedWords) {
  // cpuid.rst: ebx = 0x4b4d564b, ecx = 0x564b4d56, edx = 0x4d.
  HypervisorCpuid cpuid = Kvm(kKvmHintsRealtime);
  EXPECT_EQ(cpuid.vendor[0], 0x4b4d564bu);
  EXPECT_EQ(cpuid.vendor[1], 0x564b4d56u);
  EXPECT_EQ(cpuid.vendor[2], 0x4du);
}

TEST(ChooseIdlePolicyTest, BareMetalPolls) {
  HypervisorCpuid cpuid;
  cpuid.leaf1_ecx = 0x7ffafbff;  // every other bit set: only bit 31 counts
  IdlePolicyChoice choice = ChooseIdlePolicy(cpuid);
  EXPECT_EQ(choice.policy, IdlePolicy::kAdaptive);
  EXPECT_EQ(choice.host, IdleHost::kBareMetal);
  EXPECT_STREQ(choice.reason, "no hypervisor bit in CPUID: bare metal, the CPU is ours");
}

TEST(ChooseIdlePolicyTest, BareMetalIgnoresWhatTheHypervisorLeavesSeemToSay) {
  // Without the hypervisor bit, leaves 0x4000000x are undefined.
  HypervisorCpuid cpuid = Kvm(/*hints=*/0);
  cpuid.leaf1_ecx = 0;
  EXPECT_EQ(ChooseIdlePolicy(cpuid).host, IdleHost::kBareMetal);
}

TEST(ChooseIdlePolicyTest, KvmWithTheRealtimeHintPolls) {
  IdlePolicyChoice choice = ChooseIdlePolicy(Kvm(kKvmHintsRealtime));
  EXPECT_EQ(choice.policy, IdlePolicy::kAdaptive);
  EXPECT_EQ(choice.host, IdleHost::kKvmDedicated);
  EXPECT_STREQ(choice.reason, "KVM with KVM_HINTS_REALTIME: dedicated host CPUs");
}

TEST(ChooseIdlePolicyTest, KvmWithoutTheHintHalts) {
  IdlePolicyChoice choice = ChooseIdlePolicy(Kvm(/*hints=*/0));
  EXPECT_EQ(choice.policy, IdlePolicy::kHalt);
  EXPECT_EQ(choice.host, IdleHost::kKvmShared);
  EXPECT_STREQ(choice.reason, "KVM without KVM_HINTS_REALTIME: host CPUs may be shared");
  // Other hint bits are not the realtime one.
  EXPECT_EQ(ChooseIdlePolicy(Kvm(~kKvmHintsRealtime)).policy, IdlePolicy::kHalt);
  // Steal time offered or not changes nothing (it is not used; docs/sched.md).
  HypervisorCpuid no_steal = Kvm(0);
  no_steal.kvm_features = 0;
  EXPECT_EQ(ChooseIdlePolicy(no_steal).policy, IdlePolicy::kHalt);
}

TEST(ChooseIdlePolicyTest, OldKvmHostsReportHighestLeafZero) {
  // cpuid.rst: "old hosts set eax value to 0x0. This should be interpreted
  // as if the value was 0x40000001."
  EXPECT_EQ(ChooseIdlePolicy(Kvm(kKvmHintsRealtime, /*max_leaf=*/0)).host,
            IdleHost::kKvmDedicated);
  EXPECT_EQ(ChooseIdlePolicy(Kvm(kKvmHintsRealtime, /*max_leaf=*/0x40000010)).host,
            IdleHost::kKvmDedicated);
}

TEST(ChooseIdlePolicyTest, KvmWithoutTheFeaturesLeafHalts) {
  // A highest leaf of 0x40000000: leaf 0x40000001 is not there, whatever
  // reading it returned.
  IdlePolicyChoice choice = ChooseIdlePolicy(Kvm(kKvmHintsRealtime, kCpuidHypervisorBase));
  EXPECT_EQ(choice.policy, IdlePolicy::kHalt);
  EXPECT_EQ(choice.host, IdleHost::kKvmShared);
}

TEST(ChooseIdlePolicyTest, QemuTcgHalts) {
  IdlePolicyChoice choice = ChooseIdlePolicy(Hypervisor("TCGTCGTCGTCG", kCpuidKvmFeatures));
  EXPECT_EQ(choice.policy, IdlePolicy::kHalt);
  EXPECT_EQ(choice.host, IdleHost::kOtherHypervisor);
  EXPECT_STREQ(choice.reason, "hypervisor \"TCGTCGTCGTCG\" without a dedicated-CPU hint: "
                              "host CPUs may be shared");
}

TEST(ChooseIdlePolicyTest, OtherHypervisorsHaltEvenWithBitsThatLookLikeTheHint) {
  // Hyper-V's signature; its leaf 0x40000001 is not KVM's, so bit 0 of EDX
  // means nothing here.
  HypervisorCpuid cpuid = Hypervisor("Microsoft Hv", 0x4000000b);
  cpuid.kvm_hints = kKvmHintsRealtime;
  IdlePolicyChoice choice = ChooseIdlePolicy(cpuid);
  EXPECT_EQ(choice.policy, IdlePolicy::kHalt);
  EXPECT_EQ(choice.host, IdleHost::kOtherHypervisor);
  EXPECT_NE(std::string(choice.reason).find("\"Microsoft Hv\""), std::string::npos);
  // A near miss of KVM's signature is another hypervisor.
  EXPECT_EQ(ChooseIdlePolicy(Hypervisor("KVMKVMKVMKVM", 0)).host, IdleHost::kOtherHypervisor);
}

TEST(ChooseIdlePolicyTest, HypervisorWithoutVendorLeafHalts) {
  // The bit is set but there is no leaf 0x40000000 (its EAX is then not a
  // hypervisor leaf number): no signature to show.
  HypervisorCpuid cpuid;
  cpuid.leaf1_ecx = kCpuidHypervisorPresent;
  cpuid.max_leaf = 0xd;
  IdlePolicyChoice choice = ChooseIdlePolicy(cpuid);
  EXPECT_EQ(choice.policy, IdlePolicy::kHalt);
  EXPECT_STREQ(choice.reason,
               "hypervisor without a dedicated-CPU hint: host CPUs may be shared");
}

TEST(ChooseIdlePolicyTest, UnprintableSignatureBytesStayOnOneLine) {
  IdlePolicyChoice choice = ChooseIdlePolicy(Hypervisor("ab\ncd\x01\0\0\0\0\0\0", 0x40000001));
  EXPECT_NE(std::string(choice.reason).find("\"ab?cd?\""), std::string::npos) << choice.reason;
}

TEST(IdlePolicyFlagTest, AutoKeepsTheChoice) {
  IdlePolicy policy = IdlePolicy::kHalt;
  EXPECT_EQ(ApplyIdlePolicyFlag("auto", &policy), IdlePolicyFlag::kAuto);
  EXPECT_EQ(policy, IdlePolicy::kHalt);
}

TEST(IdlePolicyFlagTest, APolicyNameOverrides) {
  for (IdlePolicy wanted : {IdlePolicy::kAdaptive, IdlePolicy::kPoll, IdlePolicy::kHalt}) {
    IdlePolicy policy = wanted == IdlePolicy::kHalt ? IdlePolicy::kAdaptive : IdlePolicy::kHalt;
    EXPECT_EQ(ApplyIdlePolicyFlag(IdlePolicyName(wanted), &policy), IdlePolicyFlag::kApplied);
    EXPECT_EQ(policy, wanted);
  }
}

TEST(IdlePolicyFlagTest, AnythingElseIsInvalidAndKeepsTheChoice) {
  for (const char* bad : {"", "fast", "Poll", "halt ", "adaptiv", "auto=1"}) {
    IdlePolicy policy = IdlePolicy::kHalt;
    EXPECT_EQ(ApplyIdlePolicyFlag(bad, &policy), IdlePolicyFlag::kInvalid) << bad;
    EXPECT_EQ(policy, IdlePolicy::kHalt) << bad;
  }
}

TEST(IdlePolicyFlagTest, ParseRoundTripsEveryName) {
  for (IdlePolicy p : {IdlePolicy::kAdaptive, IdlePolicy::kPoll, IdlePolicy::kHalt}) {
    IdlePolicy parsed = IdlePolicy::kAdaptive;
    ASSERT_TRUE(ParseIdlePolicy(IdlePolicyName(p), &parsed));
    EXPECT_EQ(parsed, p);
  }
  IdlePolicy unchanged = IdlePolicy::kPoll;
  EXPECT_FALSE(ParseIdlePolicy("?", &unchanged));
  EXPECT_EQ(unchanged, IdlePolicy::kPoll);
}

}  // namespace
}  // namespace uk::sched
