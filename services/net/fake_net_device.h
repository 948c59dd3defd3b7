#pragma once
// Host-test support: a NetDevice backed by two queues in memory. The test
// injects frames (any length, even empty or longer than a real NIC would
// deliver) and reads back what the stack transmitted.
//
// Threads: the net service calls the NetDevice interface on its core's OS
// thread; the test calls Inject/TakeTransmitted/pending on another core's.
// One mutex guards both queues; it is never held across a context switch
// (no call below yields), so it is safe under the cooperative scheduler.
//
// Waking the service: the scheduler polls Ready() while the net core is
// busy or polling, but a halted host core sleeps on a futex until someone
// wakes it. Inject() is a producer like a ring's: after queueing, it runs
// the producer half of the wake handshake (ipc/wake.h) for the net core,
// whose halt re-check calls Ready(). So Inject() must be called from a
// thread of a host-machine core.

#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "kernel/drivers/net_device.h"

namespace uk::net::testing {

class FakeNetDevice final : public NetDevice {
 public:
  FakeNetDevice(MacAddress mac, uint32_t net_core) : mac_(mac), net_core_(net_core) {}

  // ---- The test's side ----
  void Inject(std::span<const uint8_t> frame);
  // Frames not yet released by the service (including one it is reading).
  size_t pending() const;
  // Everything transmitted since the last call, oldest first.
  std::vector<std::vector<uint8_t>> TakeTransmitted();

  // ---- NetDevice, for the service's thread ----
  MacAddress mac() const override { return mac_; }
  uint16_t mtu() const override { return 1500; }
  bool LinkUp() override { return true; }
  bool Receive(std::span<const uint8_t>* frame) override;
  void ReleaseReceived() override;
  bool Transmit(const std::span<const uint8_t>* parts, size_t count) override;
  void Flush() override {}
  bool Ready() override { return pending() > 0; }
  bool ArmInterrupts() override { return pending() > 0; }

 private:
  const MacAddress mac_;
  const uint32_t net_core_;
  mutable std::mutex mutex_;
  std::deque<std::vector<uint8_t>> received_;  // front: the oldest, maybe being read
  std::vector<std::vector<uint8_t>> transmitted_;
  // The device-owned buffer a Receive()d frame is lent from (service thread only).
  std::vector<uint8_t> lent_;
};

}  // namespace uk::net::testing
