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

}  // namespace uk::sched
