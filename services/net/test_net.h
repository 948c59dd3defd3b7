#pragma once
// Host-test support: the net service on core 1 of a two-core host machine
// (services/runtime/host_machine.h) over a FakeNetDevice, a NetClient for it, and a
// scripted peer (10.0.2.2, also the gateway) that answers ARP. Scenarios run
// on core 0 and talk to the service in raw Ethernet frames and client calls.
//
// One process per scenario: RunScenario() forks, and the child builds the
// machine, runs the scenario and exits without returning. Two reasons:
//   - lwIP keeps its state in globals that lwip_init() (called by every
//     NetService::BringUp) does not reset: netif_list still holds the old
//     netif and the TCP PCB lists still point into the re-initialized
//     pools, so a second service in one process would corrupt memory;
//   - NetService's timer thread never exits, so core 1 never gets down to
//     the "one thread per service" that Machine::Run waits for to return.
// The parent has no threads when it forks (gtest starts none).
//
// Waiting without clocks: a scenario injects frames, then Settle() makes
// NetClient round trips until the device has no frame left, plus one more:
// the service answers a request before it runs Poll() for that turn, so the
// reply to the last request means the turn that read the last frame (and
// transmitted what it caused) is over.

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/net/fake_net_device.h"
#include "services/net/net_client.h"
#include "services/net/net_service.h"
#include "services/net/test_frames.h"
#include "services/runtime/sched_service.h"

namespace uk::net::testing {

inline constexpr uint32_t kNetCore = 1;
inline constexpr Mac kOurMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr Ip4 kOurIp = {10, 0, 2, 15};
inline constexpr Ip4 kPeerIp = {10, 0, 2, 2};  // also the gateway
inline constexpr Mac kPeerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

// Network byte order as NetConfig and NetClient keep it: the first octet in
// the lowest-addressed byte.
uint32_t NetworkOrder(const Ip4& ip);

// Frames from the peer to us.
Bytes IpFrame(uint8_t protocol, const Bytes& payload, uint16_t id = 1);
Bytes TcpFrame(const TcpFields& fields, std::string_view payload = {}, const Bytes& options = {});
Bytes UdpFrame(uint16_t src_port, uint16_t dst_port, const Bytes& payload, uint16_t id = 1);

// The service, its device and a client, as a scenario on core 0 sees them.
class TestNet {
 public:
  FakeNetDevice& device() { return device_; }
  NetService& service() { return *service_; }
  NetClient& client() { return client_; }

  // The service's configuration; by default the static address kOurIp/24
  // via kPeerIp. RunScenario's `configure` may change it before Start().
  NetConfig& config() { return config_; }

  // On core 0, once the machine runs: the service up on core 1.
  void Start();

  // Runs `fn` on a thread of the net core and waits for it. The service
  // thread is between turns meanwhile (the core's threads are cooperative),
  // so `fn` may read lwIP's state and call the service's core-only methods.
  template <typename Fn>
  void OnNetCore(Fn fn) {
    ASSERT_TRUE(svc::Join(svc::SpawnOn(
        kNetCore, [](void* arg) { (*static_cast<Fn*>(arg))(); }, &fn, "net-test")));
  }

  void Inject(const Bytes& frame);
  uint64_t injected() const { return injected_; }

  // Returns once the service has read every injected frame and finished the
  // turn that read the last one (see the file comment).
  void Settle();

  // The first frame the stack transmitted that `match` accepts, or nullopt.
  // Settles first, and plays the peer's part in ARP: a request for the
  // peer's address gets a reply (which releases the packets lwIP queued
  // behind it), and then it settles again. Every IPv4 frame transmitted must
  // carry valid checksums.
  template <typename Match>
  std::optional<Bytes> Transmitted(Match match) {
    for (int round = 0; round < 3; ++round) {
      const bool answered_arp = CollectTransmitted();
      for (auto it = unmatched_.begin(); it != unmatched_.end(); ++it) {
        if (match(*it)) {
          Bytes frame = std::move(*it);
          unmatched_.erase(it);
          return frame;
        }
      }
      if (!answered_arp) break;  // nothing more will come
    }
    return std::nullopt;
  }

  // Settles, answers ARP for the peer as Transmitted() does, and hands over
  // everything transmitted that no Transmitted() call took.
  std::vector<Bytes> TakeTransmitted() {
    (void)Transmitted([](const Bytes&) { return false; });
    return std::exchange(unmatched_, {});
  }

 private:
  static void StartOnCore(void* arg);
  // Settles and moves what was transmitted to unmatched_, answering ARP.
  // True if it answered (so more may be transmitted once that is read).
  bool CollectTransmitted();

  FakeNetDevice device_{MacAddress{{kOurMac[0], kOurMac[1], kOurMac[2], kOurMac[3], kOurMac[4],
                                    kOurMac[5]}},
                        kNetCore};
  NetConfig config_;
  NetService* service_ = nullptr;
  NetClient client_{svc::Address{}};
  std::vector<Bytes> unmatched_;
  uint64_t injected_ = 0;
};

// Runs `scenario` on core 0 of a fresh 2-core machine with the service on
// core 1, in a child process (see the file comment); the calling test fails
// if the scenario failed or its process died. `configure`, if given, edits
// the service's configuration first.
void RunScenario(void (*scenario)(TestNet& net), void (*configure)(NetConfig& config) = nullptr);

}  // namespace uk::net::testing
