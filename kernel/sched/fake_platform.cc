#include "kernel/sched/fake_platform.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "gtest/gtest.h"

namespace uk::sched {
void FakePlatform::ArmDeadline(uint64_t deadline_ns) { armed_deadline_ = deadline_ns; }

void FakePlatform::At(uint64_t at_ns, std::function<void()> event) {
  events_.emplace(at_ns, std::move(event));
}

void FakePlatform::Advance(uint64_t ns) {
  now_ns_ += ns;
  RunDueEvents();
}

void FakePlatform::RunDueEvents() {
  while (!events_.empty() && events_.begin()->first <= now_ns_) {
    auto event = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    event();
  }
}

bool FakePlatform::SleepUntilWoken(ipc::WakeWord& word) {
  if (word.state.load() != ipc::kHaltAnnounced) return false;
  ++halts_;
  uint64_t until = armed_deadline_;
  if (!events_.empty() && events_.begin()->first < until) until = events_.begin()->first;
  if (until == SleepQueue::kNever) {
    ++halts_forever_;
    ADD_FAILURE() << "the core halted with no deadline and no event pending";
    return true;
  }
  if (until > now_ns_) now_ns_ = until;
  RunDueEvents();
  if (armed_deadline_ <= now_ns_) armed_deadline_ = SleepQueue::kNever;  // fired
  return true;
}

}  // namespace uk::sched
