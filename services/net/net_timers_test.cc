#include "services/net/net_timers.h"

#include "gtest/gtest.h"

namespace uk::net {
namespace {

TEST(NetTimersTest, NothingRunsOnAQuietStaticNetwork) {
  NetTimers timers;
  const NetActivity quiet{};  // static address, no connections, no traffic ever
  EXPECT_EQ(timers.NextDeadline(100000, quiet), kNever);
  EXPECT_EQ(timers.Due(100000, quiet), 0u);
}

TEST(NetTimersTest, TcpTimerEvery250MsWhileConnectionsExist) {
  NetTimers timers;
  NetActivity active{.tcp_active = true, .last_traffic_ms = 0};
  EXPECT_EQ(timers.NextDeadline(1000, active), 1250u);
  EXPECT_EQ(timers.Due(1249, active) & kTcpTimer, 0u);
  EXPECT_NE(timers.Due(1250, active) & kTcpTimer, 0u);
  EXPECT_EQ(timers.NextDeadline(1250, active), 1500u);
  // A late run keeps the schedule, and never runs twice for one late call.
  EXPECT_NE(timers.Due(1740, active) & kTcpTimer, 0u);
  EXPECT_EQ(timers.Due(1740, active) & kTcpTimer, 0u);
  EXPECT_NE(timers.Due(1750, active) & kTcpTimer, 0u);
  // Connections gone: the timer stops.
  active.tcp_active = false;
  EXPECT_EQ(timers.Due(5000, active) & kTcpTimer, 0u);
}

TEST(NetTimersTest, ArpTimerStopsOnceTrafficIsOld) {
  NetTimers timers;
  const NetActivity recent{.last_traffic_ms = 1000};
  EXPECT_EQ(timers.NextDeadline(1000, recent), 2000u);
  uint64_t now = 1000;
  int runs = 0;
  for (; now < 30000; now += 100) {
    if (timers.Due(now, recent) & kArpTimer) ++runs;
  }
  EXPECT_GE(runs, 9);
  EXPECT_LE(runs, 11);
  EXPECT_EQ(timers.NextDeadline(now, recent), kNever);
}

TEST(NetTimersTest, DhcpFineUntilBoundThenOnlyCoarse) {
  NetTimers timers;
  NetActivity dhcp{.using_dhcp = true, .dhcp_bound = false, .last_traffic_ms = 0};
  EXPECT_EQ(timers.NextDeadline(20000, dhcp), 20500u);
  EXPECT_NE(timers.Due(20500, dhcp) & kDhcpFineTimer, 0u);
  dhcp.dhcp_bound = true;
  EXPECT_EQ(timers.Due(21000, dhcp) & kDhcpFineTimer, 0u);
  // Bound and quiet: one wake a minute, for the lease.
  EXPECT_EQ(timers.NextDeadline(21000, dhcp), 80000u);
  EXPECT_EQ(timers.Due(80000, dhcp), static_cast<uint32_t>(kDhcpCoarseTimer));
  EXPECT_EQ(timers.NextDeadline(80000, dhcp), 140000u);
}

TEST(NetTimersTest, OnlyTimeWaitLeftMeansOneRunAtItsExpiry) {
  NetTimers timers;
  NetActivity activity{.tcp_active = true, .last_traffic_ms = 0};
  EXPECT_EQ(timers.NextDeadline(100000, activity), 100250u);
  EXPECT_NE(timers.Due(100250, activity) & kTcpTimer, 0u);
  // The last active connection closed; TIME-WAIT PCBs expire at 160.5 s.
  activity = {.tcp_time_wait_ms = 160500, .last_traffic_ms = 100300};
  EXPECT_EQ(timers.Due(100500, activity) & kTcpTimer, 0u);  // no tick
  EXPECT_EQ(timers.NextDeadline(100500, activity), 101000u);  // ARP: traffic is recent
  // ARP goes quiet 10 s after the traffic (its wakeup at 111 s finds that);
  // then nothing until the expiry.
  for (uint64_t now = 101000; now <= 110000; now += 1000) {
    EXPECT_EQ(timers.Due(now, activity), static_cast<uint32_t>(kArpTimer)) << now;
  }
  EXPECT_EQ(timers.NextDeadline(110000, activity), 111000u);
  EXPECT_EQ(timers.Due(111000, activity), 0u);
  EXPECT_EQ(timers.NextDeadline(111000, activity), 160500u);
  EXPECT_EQ(timers.Due(160499, activity), 0u);
  EXPECT_EQ(timers.Due(160500, activity), static_cast<uint32_t>(kTcpTimer));
  // That run freed the oldest; the next expiry is a second later.
  activity.tcp_time_wait_ms = 161500;
  EXPECT_EQ(timers.NextDeadline(160500, activity), 161500u);
  // A late wakeup still runs it once.
  EXPECT_EQ(timers.Due(161700, activity), static_cast<uint32_t>(kTcpTimer));
  activity.tcp_time_wait_ms = kNever;
  EXPECT_EQ(timers.NextDeadline(161700, activity), kNever);
}

TEST(NetTimersTest, TickResumesOnTheGridWhenAConnectionOpens) {
  NetTimers timers;
  NetActivity activity{.tcp_time_wait_ms = 90000};
  EXPECT_EQ(timers.NextDeadline(30000, activity), 90000u);
  activity.tcp_active = true;  // a new connection, with TIME-WAITs still around
  activity.last_traffic_ms = 30010;
  EXPECT_EQ(timers.NextDeadline(30010, activity), 30250u);
  EXPECT_NE(timers.Due(30250, activity) & kTcpTimer, 0u);
  EXPECT_EQ(timers.NextDeadline(30250, activity), 30500u);
}

TEST(TcpClockTest, TicksFollowTheClockWhetherOrNotTheSlowTimerRuns) {
  TcpClock clock(1200);  // instant 2
  EXPECT_EQ(clock.Sync(1200), 0u);
  EXPECT_EQ(clock.Sync(1499), 0u);
  EXPECT_EQ(clock.Sync(1500), 1u);
  EXPECT_FALSE(clock.SlowRunDue(1400));  // instant 2: ran at boot's instant
  EXPECT_TRUE(clock.SlowRunDue(1500));
  EXPECT_FALSE(clock.SlowRunDue(1750));  // a fast-only run
  // A minute with no TCP timer: 120 instants.
  EXPECT_EQ(clock.Sync(61500), 120u);
  EXPECT_TRUE(clock.SlowRunDue(61500));
  // A PCB 3 ticks from expiry expires at the slow run 3 instants on; one
  // already due waits for the next instant, as this one had its run.
  EXPECT_EQ(clock.SlowRunAtMs(3), 63000u);
  EXPECT_EQ(clock.SlowRunAtMs(0), 62000u);
  EXPECT_EQ(clock.Sync(62100), 1u);
  EXPECT_EQ(clock.SlowRunAtMs(0), 62000u);  // instant 124 has not run yet
}

}  // namespace
}  // namespace uk::net
