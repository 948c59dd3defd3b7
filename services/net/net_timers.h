#pragma once
// When to run lwIP's timers, decided here rather than by lwIP's own cyclic
// list (LWIP_TIMERS=0): lwIP would run ARP, reassembly and DHCP timers
// several times a second forever, waking an idle core for nothing. Here a
// timer runs only while it has work:
//
//   tcp  (tcp_fasttmr 250 ms, tcp_slowtmr 500 ms)
//                                    every 250 ms while any connection is
//                                    active (retransmits, delayed ACKs,
//                                    keepalive, closing handshakes); with
//                                    only TIME-WAIT connections left, once,
//                                    when the oldest of them expires
//   arp  (etharp_tmr + ip_reass_tmr, 1 s)
//                                    while there was traffic in the last
//                                    kArpIdleAfterMs; idle, ARP entries stop
//                                    ageing (they stay valid longer)
//   dhcp_fine (500 ms)               while DHCP has no lease
//   dhcp_coarse (60 s)               while DHCP is in use (lease renewal)
//
// So a core whose network is idle with a DHCP lease wakes once a minute,
// and with a static address not at all; a burst of closed connections costs
// one wakeup per distinct TIME-WAIT expiry (500 ms apart at least), not a
// tick for the whole TIME-WAIT.
//
// The TCP timers run on a fixed grid of the service clock: fast runs at
// multiples of 250 ms, slow runs at multiples of 500 ms. lwIP measures
// TIME-WAIT, FIN-WAIT-2, SYN-RCVD and LAST-ACK timeouts in tcp_ticks, which
// it bumps once per tcp_slowtmr() run; TcpClock keeps tcp_ticks equal to the
// slow instants that passed, whether or not the slow timer ran at them, so
// skipping runs does not stretch those timeouts.
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
  bool tcp_active = false;              // tcp_active_pcbs non-empty: the 250 ms tick
  uint64_t tcp_time_wait_ms = kNever;   // else: when the first TIME-WAIT PCB expires
  bool using_dhcp = false;
  bool dhcp_bound = false;
  uint64_t last_traffic_ms = 0;  // a frame in or out
};

class NetTimers {
 public:
  static constexpr uint64_t kTcpIntervalMs = 250;
  static constexpr uint64_t kTcpSlowIntervalMs = 500;
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

// lwIP's tcp_ticks as a clock: one tick per 500 ms instant of the service
// clock (instant k is at k * 500 ms). The service adds Sync()'s result to
// tcp_ticks at the start of every turn, before lwIP sees a frame or a
// request, so PCBs created after a long quiet spell are stamped with the
// current tick. At a TCP timer run, SlowRunDue() says whether tcp_slowtmr()
// runs too (once per instant); as that call bumps tcp_ticks itself, the
// service takes one tick back first.
class TcpClock {
 public:
  explicit TcpClock(uint64_t now_ms = 0)
      : synced_(InstantAt(now_ms)), last_slow_run_(InstantAt(now_ms)) {}

  static uint64_t InstantAt(uint64_t ms) { return ms / NetTimers::kTcpSlowIntervalMs; }
  static uint64_t TimeOf(uint64_t instant) { return instant * NetTimers::kTcpSlowIntervalMs; }

  // The instants that passed since the last call: what tcp_ticks must gain.
  uint32_t Sync(uint64_t now_ms);
  // At a TCP timer run (after Sync): true once per instant.
  bool SlowRunDue(uint64_t now_ms);
  // When the slow run that sees a tick `ticks_left` ticks past the current
  // one happens: never now if the slow timer already ran at this instant.
  uint64_t SlowRunAtMs(uint32_t ticks_left) const;

 private:
  uint64_t synced_;         // the instant tcp_ticks stands for
  uint64_t last_slow_run_;  // the instant tcp_slowtmr() last ran at
};

}  // namespace uk::net
