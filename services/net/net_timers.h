#pragma once
// When to run lwIP's timers, decided here rather than by lwIP's own cyclic
// list (LWIP_TIMERS=0): lwIP would run ARP, reassembly and DHCP timers
// several times a second forever, waking an idle core for nothing. Here a
// timer runs only while it has work:
//
//   tcp  (tcp_tmr, 250 ms)           while any TCP connection is active or in
//                                    TIME-WAIT (retransmits, delayed ACKs,
//                                    keepalive, closing handshakes)
//   arp  (etharp_tmr + ip_reass_tmr, 1 s)
//                                    while there was traffic in the last
//                                    kArpIdleAfterMs; idle, ARP entries stop
//                                    ageing (they stay valid longer)
//   dhcp_fine (500 ms)               while DHCP has no lease
//   dhcp_coarse (60 s)               while DHCP is in use (lease renewal)
//
// So a core whose network is idle with a DHCP lease wakes once a minute,
// and with a static address not at all.
//
// Portable and pure: the service reports activity and calls the timers the
// returned mask names; host tests check the policy with plain numbers.

#include <cstdint>

namespace uk::net {

inline constexpr uint64_t kNever = UINT64_MAX;

enum TimerBit : uint32_t {
  kTcpTimer = 1 << 0,
  kArpTimer = 1 << 1,
  kDhcpFineTimer = 1 << 2,
  kDhcpCoarseTimer = 1 << 3,
};

struct NetActivity {
  bool tcp_active = false;      // tcp_active_pcbs or tcp_tw_pcbs non-empty
  bool using_dhcp = false;
  bool dhcp_bound = false;
  uint64_t last_traffic_ms = 0;  // a frame in or out
};

class NetTimers {
 public:
  static constexpr uint64_t kTcpIntervalMs = 250;
  static constexpr uint64_t kArpIntervalMs = 1000;
  static constexpr uint64_t kDhcpFineIntervalMs = 500;
  static constexpr uint64_t kDhcpCoarseIntervalMs = 60000;
  static constexpr uint64_t kArpIdleAfterMs = 10000;

  // The timers due at `now_ms` (a TimerBit mask); they are rescheduled.
  uint32_t Due(uint64_t now_ms, const NetActivity& activity);
  // When Due() next has something to return, given the same activity;
  // kNever if nothing is needed.
  uint64_t NextDeadline(uint64_t now_ms, const NetActivity& activity);

 private:
  struct Timer {
    uint64_t interval_ms;
    uint64_t next_ms = kNever;  // kNever while not needed
  };
  // Arms or disarms each timer for the current activity.
  void Update(uint64_t now_ms, const NetActivity& activity);

  Timer tcp_{kTcpIntervalMs};
  Timer arp_{kArpIntervalMs};
  Timer dhcp_fine_{kDhcpFineIntervalMs};
  Timer dhcp_coarse_{kDhcpCoarseIntervalMs};
};

}  // namespace uk::net
