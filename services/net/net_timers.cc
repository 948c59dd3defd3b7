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

}  // namespace

void NetTimers::Update(uint64_t now_ms, const NetActivity& activity) {
  Arm(tcp_, activity.tcp_active, now_ms);
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
  check(tcp_, kTcpTimer);
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

}  // namespace uk::net
