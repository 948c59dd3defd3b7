#include "services/net/net_timers.h"

#include <algorithm>

namespace uk::net {
namespace {

// A needed timer that was off starts one interval from now; an unneeded one
// is switched off.
template <typename Timer>
void Arm(Timer& timer, bool needed, uint64_t now_ms) {
  if (!needed) {
    timer.next_ms = kNever;
  } else if (timer.next_ms == kNever) {
    timer.next_ms = now_ms + timer.interval_ms;
  }
}

// The first multiple of `interval_ms` after `now_ms`.
uint64_t NextOnGrid(uint64_t now_ms, uint64_t interval_ms) {
  return (now_ms / interval_ms + 1) * interval_ms;
}

}  // namespace

void NetTimers::Update(uint64_t now_ms, const NetActivity& activity) {
  if (activity.tcp_active) {
    // The tick, on the 250 ms grid. Coming from nothing, or from a
    // TIME-WAIT expiry further away, it starts at the next grid point.
    if (tcp_.next_ms > NextOnGrid(now_ms, kTcpIntervalMs)) {
      tcp_.next_ms = NextOnGrid(now_ms, kTcpIntervalMs);
    }
  } else {
    // No tick: only the oldest TIME-WAIT PCB's expiry, if any.
    tcp_.next_ms = activity.tcp_time_wait_ms;
  }
  const bool recent = now_ms < activity.last_traffic_ms + kArpIdleAfterMs;
  Arm(arp_, recent || activity.tcp_active, now_ms);
  Arm(dhcp_fine_, activity.using_dhcp && !activity.dhcp_bound, now_ms);
  Arm(dhcp_coarse_, activity.using_dhcp, now_ms);
}

uint32_t NetTimers::Due(uint64_t now_ms, const NetActivity& activity) {
  Update(now_ms, activity);
  uint32_t due = 0;
  const auto check = [&](Timer& timer, TimerBit bit) {
    if (timer.next_ms > now_ms) return;
    due |= bit;
    // The next run is one interval on, not "now + interval": a late run
    // does not shift the schedule, but a very late one does not run twice.
    timer.next_ms = std::max(timer.next_ms + timer.interval_ms, now_ms + 1);
  };
  if (tcp_.next_ms <= now_ms) {
    due |= kTcpTimer;
    // The next grid point (a late run does not run twice). Without the tick
    // the next Update() puts the next expiry here.
    tcp_.next_ms = NextOnGrid(now_ms, kTcpIntervalMs);
  }
  check(arp_, kArpTimer);
  check(dhcp_fine_, kDhcpFineTimer);
  check(dhcp_coarse_, kDhcpCoarseTimer);
  return due;
}

uint64_t NetTimers::NextDeadline(uint64_t now_ms, const NetActivity& activity) {
  Update(now_ms, activity);
  // The ARP timer switches itself off at its first run after traffic went
  // quiet, so waking for it is enough to notice.
  return std::min({tcp_.next_ms, arp_.next_ms, dhcp_fine_.next_ms, dhcp_coarse_.next_ms});
}

uint32_t TcpClock::Sync(uint64_t now_ms) {
  const uint64_t instant = InstantAt(now_ms);
  if (instant <= synced_) return 0;
  const uint64_t passed = instant - synced_;
  synced_ = instant;
  return static_cast<uint32_t>(passed);  // tcp_ticks is 32 bits and wraps: so may this
}

bool TcpClock::SlowRunDue(uint64_t now_ms) {
  const uint64_t instant = InstantAt(now_ms);
  if (instant <= last_slow_run_) return false;
  last_slow_run_ = instant;
  return true;
}

uint64_t TcpClock::SlowRunAtMs(uint32_t ticks_left) const {
  return TimeOf(std::max(synced_ + ticks_left, last_slow_run_ + 1));
}

}  // namespace uk::net
