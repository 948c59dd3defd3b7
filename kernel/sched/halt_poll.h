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
// Portable: no kernel dependencies; tested with a fake clock on the host.

#include <cstdint>

namespace uk::sched {

// Chosen per core by the image's configuration (or a benchmark). It picks a
// strategy; it never says whether the core has work (the rings say that).
enum class IdlePolicy : uint8_t {
  kAdaptive,  // poll for the adaptive window, then halt
  kPoll,      // never halt (benchmarks: the pure polling baseline)
  kHalt,      // halt at once (benchmarks: the pure IPI-wake baseline)
};

const char* IdlePolicyName(IdlePolicy policy);

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

}  // namespace uk::sched
