#include "services/net/test_net.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "services/runtime/host_machine.h"
#include "services/runtime/sched_service.h"

namespace uk::net::testing {
namespace {

void ExpectValidChecksums(const Bytes& frame) {
  const auto ip = ParseIpv4(frame);
  if (!ip) return;
  EXPECT_TRUE(ip->header_checksum_ok);
  if (const auto icmp = ParseIcmp(frame)) {
    EXPECT_TRUE(icmp->checksum_ok);
  }
  if (const auto tcp = ParseTcp(frame)) {
    EXPECT_TRUE(tcp->checksum_ok);
  }
  if (const auto udp = ParseUdp(frame)) {
    EXPECT_TRUE(udp->checksum_ok);
  }
}

}  // namespace

uint32_t NetworkOrder(const Ip4& ip) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t{ip[i]} << (8 * i);
  return value;
}

Bytes IpFrame(uint8_t protocol, const Bytes& payload, uint16_t id) {
  return EthernetFrame(
      kOurMac, kPeerMac, kEtherTypeIpv4,
      Ipv4Packet({.src = kPeerIp, .dst = kOurIp, .protocol = protocol, .id = id}, payload));
}

Bytes TcpFrame(const TcpFields& fields, std::string_view payload, const Bytes& options) {
  const Bytes data(payload.begin(), payload.end());
  return IpFrame(kProtoTcp, TcpSegment(kPeerIp, kOurIp, fields, options, data));
}

Bytes UdpFrame(uint16_t src_port, uint16_t dst_port, const Bytes& payload, uint16_t id) {
  return IpFrame(kProtoUdp, UdpDatagram(kPeerIp, kOurIp, src_port, dst_port, payload), id);
}

void TestNet::Start() {
  ASSERT_TRUE(svc::Join(svc::SpawnOn(kNetCore, &StartOnCore, this, "net-start")));
  client_ = NetClient(service_->address());
}

void TestNet::StartOnCore(void* arg) {
  auto* self = static_cast<TestNet*>(arg);
  // Never freed: a started service lives as long as its machine.
  self->service_ = new NetService(self->device_, self->config_);
  self->service_->BringUp();
  self->service_->Start();
}

void TestNet::Inject(const Bytes& frame) {
  device_.Inject(frame);
  ++injected_;
}

void TestNet::Settle() {
  do {
    ASSERT_TRUE(client_.GetInfo().ok());
  } while (device_.pending() > 0);
  ASSERT_TRUE(client_.GetInfo().ok());
}

bool TestNet::CollectTransmitted() {
  Settle();
  bool answered = false;
  for (Bytes& frame : device_.TakeTransmitted()) {
    ExpectValidChecksums(frame);
    const auto arp = ParseArp(frame);
    if (arp && arp->op == kArpRequest && arp->target_ip == kPeerIp) {
      Inject(EthernetFrame(kOurMac, kPeerMac, kEtherTypeArp,
                           ArpPacket(kArpReply, kPeerMac, kPeerIp, kOurMac, kOurIp)));
      answered = true;
    }
    unmatched_.push_back(std::move(frame));
  }
  return answered;
}

void RunScenario(void (*scenario)(TestNet& net), void (*configure)(NetConfig& config)) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) {
    auto net = std::make_unique<TestNet>();
    net->config().ip = NetworkOrder(kOurIp);
    net->config().netmask = NetworkOrder({255, 255, 255, 0});
    net->config().gateway = NetworkOrder(kPeerIp);
    if (configure != nullptr) configure(net->config());
    svc::testing::Machine machine(2);
    machine.Run([&] {
      net->Start();
      if (!::testing::Test::HasFatalFailure()) scenario(*net);
      std::fflush(nullptr);
      _exit(::testing::Test::HasFailure() ? 1 : 0);  // Run() would not return: see test_net.h
    });
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the scenario's process died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the scenario failed; its messages are above";
}

}  // namespace uk::net::testing
