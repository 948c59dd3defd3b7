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

}  // namespace
}  // namespace uk::net
