#include "kernel/sched/halt_poll.h"

namespace uk::sched {

const char* IdlePolicyName(IdlePolicy policy) {
  switch (policy) {
    case IdlePolicy::kAdaptive: return "adaptive";
    case IdlePolicy::kPoll: return "poll";
    case IdlePolicy::kHalt: return "halt";
  }
  return "?";
}

bool ParseIdlePolicy(std::string_view name, IdlePolicy* policy) {
  for (IdlePolicy p : {IdlePolicy::kAdaptive, IdlePolicy::kPoll, IdlePolicy::kHalt}) {
    if (name == IdlePolicyName(p)) {
      *policy = p;
      return true;
    }
  }
  return false;
}

void HaltPollWindow::Update(uint64_t waited_ns, bool halted) {
  if (!halted) return;  // caught while polling: the window was long enough
  if (waited_ns > config_.max_ns) {
    if (window_ns_ != 0) Shrink();
  } else if (window_ns_ < config_.max_ns) {
    Grow();
  }
}

void HaltPollWindow::Grow() {
  uint64_t next = window_ns_ * config_.grow;
  if (next < config_.start_ns) next = config_.start_ns;
  if (next > config_.max_ns) next = config_.max_ns;
  window_ns_ = next;
  ++grows_;
}

void HaltPollWindow::Shrink() {
  uint64_t next = config_.shrink == 0 ? 0 : window_ns_ / config_.shrink;
  if (next < config_.start_ns) next = 0;
  window_ns_ = next;
  ++shrinks_;
}

IdlePlan PlanIdle(IdlePolicy policy, const HaltPollWindow& window,
                  bool congested) {
  switch (policy) {
    case IdlePolicy::kPoll: return {UINT64_MAX, false};
    case IdlePolicy::kHalt: return {0, true};
    case IdlePolicy::kAdaptive: break;
  }
  if (congested) return {window.config().max_ns, false};
  return {window.window_ns(), true};
}

namespace {

// Appends to a NUL-terminated buffer, truncating.
template <size_t N>
void Append(char (&out)[N], std::string_view text) {
  size_t n = 0;
  while (n < N && out[n] != '\0') ++n;
  for (char c : text) {
    if (n + 1 >= N) break;
    out[n++] = c;
  }
  out[n] = '\0';
}

// The 12-byte signature of EBX, ECX, EDX, trailing NULs dropped and anything
// unprintable shown as '?', so the log line stays one readable line.
template <size_t N>
void AppendVendor(char (&out)[N], const uint32_t (&vendor)[3]) {
  char text[12];
  size_t length = 0;
  for (size_t i = 0; i < 12; ++i) {
    const char c = static_cast<char>(vendor[i / 4] >> (8 * (i % 4)));
    text[i] = (c >= ' ' && c <= '~') ? c : '?';
    if (c != '\0') length = i + 1;
  }
  Append(out, std::string_view(text, length));
}

bool IsKvm(const uint32_t (&vendor)[3]) {
  // "KVMKVMKVM\0\0\0" read as three little-endian words.
  return vendor[0] == 0x4b4d564b && vendor[1] == 0x564b4d56 && vendor[2] == 0x0000004d;
}

}  // namespace

IdlePolicyChoice ChooseIdlePolicy(const HypervisorCpuid& cpuid) {
  IdlePolicyChoice choice{IdlePolicy::kHalt, IdleHost::kOtherHypervisor, {}};
  if ((cpuid.leaf1_ecx & kCpuidHypervisorPresent) == 0) {
    choice.policy = IdlePolicy::kAdaptive;
    choice.host = IdleHost::kBareMetal;
    Append(choice.reason, "no hypervisor bit in CPUID: bare metal, the CPU is ours");
    return choice;
  }
  if (IsKvm(cpuid.vendor)) {
    // Old KVM hosts report a highest leaf of 0, meaning 0x40000001.
    const bool has_features = cpuid.max_leaf == 0 || cpuid.max_leaf >= kCpuidKvmFeatures;
    if (has_features && (cpuid.kvm_hints & kKvmHintsRealtime) != 0) {
      choice.policy = IdlePolicy::kAdaptive;
      choice.host = IdleHost::kKvmDedicated;
      Append(choice.reason, "KVM with KVM_HINTS_REALTIME: dedicated host CPUs");
    } else {
      choice.host = IdleHost::kKvmShared;
      Append(choice.reason, "KVM without KVM_HINTS_REALTIME: host CPUs may be shared");
    }
    return choice;
  }
  Append(choice.reason, "hypervisor");
  if (cpuid.max_leaf >= kCpuidHypervisorBase) {
    Append(choice.reason, " \"");
    AppendVendor(choice.reason, cpuid.vendor);
    Append(choice.reason, "\"");
  }
  Append(choice.reason, " without a dedicated-CPU hint: host CPUs may be shared");
  return choice;
}

IdlePolicyFlag ApplyIdlePolicyFlag(std::string_view value, IdlePolicy* policy) {
  if (value == "auto") return IdlePolicyFlag::kAuto;
  return ParseIdlePolicy(value, policy) ? IdlePolicyFlag::kApplied : IdlePolicyFlag::kInvalid;
}

}  // namespace uk::sched
