// UDP sockets of the net service (udp_sockets.h): the service on core 1 of a
// host machine over FakeNetDevice, driven by NetClient's Udp* calls from
// core 0, with datagrams from the scripted peer (test_net.h). Each test is
// a scenario in its own process.
//
// Waiting without clocks: a recvfrom is known to be parked in the service
// when a second one on the same socket gets kBusy (one may wait per socket).

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "services/net/net_client.h"
#include "services/net/net_service.h"
#include "services/net/test_frames.h"
#include "services/net/test_net.h"
#include "services/net/udp_protocol.h"
#include "services/net/udp_sockets.h"
#include "services/runtime/call.h"
#include "services/runtime/sched_service.h"

namespace uk::net {
namespace {

using testing::Bytes;
using testing::kPeerIp;
using testing::NetworkOrder;
using testing::RunScenario;
using testing::TestNet;
using testing::UdpFrame;

constexpr uint16_t kPort = 5000;
constexpr uint16_t kPeerPort = 40000;

Bytes Text(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + seed);
  return bytes;
}

uint32_t Bind(TestNet& net, uint16_t port) {
  const Result<UdpSocket> socket = net.client().UdpBind(port);
  EXPECT_TRUE(socket.ok()) << ErrorName(socket.error());
  if (socket.ok()) {
    EXPECT_EQ(socket.value().port, port);
  }
  return socket.ok() ? socket.value().handle : UINT32_MAX;
}

// A request as a client that skipped NetClient's own checks would send it.
template <typename Body>
UdpReply RawCall(TestNet& net, const Body& body) {
  ipc::Message message = ipc::MakeMessage(body, 0, 0);
  UdpReply reply{};
  EXPECT_EQ(svc::Call(net.service().address(), message), svc::SendStatus::kOk);
  EXPECT_TRUE(ipc::Decode(message, &reply));
  return reply;
}

// The first UDP datagram transmitted from our `port`, or nullopt.
std::optional<testing::UdpView> SentFrom(TestNet& net, uint16_t port) {
  const auto frame = net.Transmitted([&](const Bytes& f) {
    const auto udp = testing::ParseUdp(f);
    return udp && udp->src_port == port;
  });
  if (!frame) return std::nullopt;
  return testing::ParseUdp(*frame);
}

// A blocking UdpRecvFrom on a thread of core 0, so the scenario can go on.
struct Receiver {
  NetClient* client;
  uint32_t socket;
  uint8_t buffer[64] = {};
  std::optional<Result<Datagram>> result;

  static void Run(void* arg) {
    auto* self = static_cast<Receiver*>(arg);
    self->result = self->client->UdpRecvFrom(self->socket, self->buffer);
  }
};

// Spawns `receiver` and returns once its recvfrom waits in the service.
svc::RemoteThread StartReceiver(TestNet& net, Receiver& receiver) {
  const svc::RemoteThread thread = svc::SpawnOn(0, &Receiver::Run, &receiver, "udp-recv");
  uint8_t scratch[1];
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const Result<Datagram> probe =
        net.client().UdpRecvFrom(receiver.socket, scratch, Blocking::kNo);
    if (!probe.ok() && probe.error() == Error::kBusy) return thread;
    EXPECT_EQ(probe.error(), Error::kWouldBlock);  // nothing queued, nobody waiting yet
  }
  ADD_FAILURE() << "the blocking recvfrom never reached the service";
  return thread;
}

// ---- Scenarios ----

void BindSendReceiveScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t socket = Bind(net, kPort);

  net.Inject(UdpFrame(kPeerPort, kPort, Text("ping")));
  net.Settle();
  uint8_t in[16] = {};
  const Result<Datagram> got = client.UdpRecvFrom(socket, in, Blocking::kNo);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(got.value().length, 4u);
  EXPECT_EQ(got.value().datagram_length, 4u);
  EXPECT_FALSE(got.value().truncated);
  EXPECT_EQ(got.value().ip, NetworkOrder(kPeerIp));
  EXPECT_EQ(got.value().port, kPeerPort);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(in), 4), "ping");

  const Bytes pong = Text("pong!");
  const Result<size_t> sent = client.UdpSendTo(socket, NetworkOrder(kPeerIp), kPeerPort, pong);
  ASSERT_TRUE(sent.ok()) << ErrorName(sent.error());
  EXPECT_EQ(sent.value(), 5u);
  const auto udp = SentFrom(net, kPort);
  ASSERT_TRUE(udp.has_value()) << "UdpSendTo put nothing on the wire";
  EXPECT_EQ(udp->dst_port, kPeerPort);
  EXPECT_EQ(udp->ip.dst, kPeerIp);
  EXPECT_EQ(udp->ip.src, testing::kOurIp);
  EXPECT_EQ(udp->payload, pong);

  // An empty datagram is a datagram.
  ASSERT_TRUE(client.UdpSendTo(socket, NetworkOrder(kPeerIp), kPeerPort, {}).ok());
  const auto empty = SentFrom(net, kPort);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->payload.empty());

  // The port is taken; a port of 0 gets an ephemeral one that receives.
  EXPECT_EQ(client.UdpBind(kPort).error(), Error::kAddressInUse);
  const Result<UdpSocket> ephemeral = client.UdpBind(0);
  ASSERT_TRUE(ephemeral.ok()) << ErrorName(ephemeral.error());
  EXPECT_GE(ephemeral.value().port, 0xc000);  // lwIP's UDP_LOCAL_PORT_RANGE_START
  net.Inject(UdpFrame(kPeerPort, ephemeral.value().port, Text("eph")));
  net.Settle();
  const Result<Datagram> to_ephemeral =
      client.UdpRecvFrom(ephemeral.value().handle, in, Blocking::kNo);
  ASSERT_TRUE(to_ephemeral.ok()) << ErrorName(to_ephemeral.error());
  EXPECT_EQ(to_ephemeral.value().length, 3u);

  const UdpStats& stats = net.service().stats().udp;
  EXPECT_EQ(stats.datagrams_in.Get(), 2u);
  EXPECT_EQ(stats.datagrams_out.Get(), 2u);
  EXPECT_EQ(stats.sockets_open.Get(), 2u);
  char line[512];
  const size_t n = net.service().FormatStats(line, sizeof(line));
  EXPECT_NE(std::string_view(line, n).find(
                "; udp 2 sockets, datagrams in 2 out 2, dropped: 0 queue full, 0 pool at reserve"),
            std::string_view::npos)
      << line;

  EXPECT_EQ(client.UdpClose(socket), Error::kOk);
  EXPECT_EQ(client.UdpClose(ephemeral.value().handle), Error::kOk);
  EXPECT_EQ(stats.sockets_open.Get(), 0u);
}

void BlockingRecvScenario(TestNet& net) {
  const uint32_t socket = Bind(net, kPort);
  Receiver receiver{&net.client(), socket};
  const svc::RemoteThread thread = StartReceiver(net, receiver);
  EXPECT_FALSE(receiver.result.has_value());  // parked, not answered

  const Bytes payload = Pattern(40, 3);
  net.Inject(UdpFrame(kPeerPort + 1, kPort, payload));
  ASSERT_TRUE(svc::Join(thread));
  ASSERT_TRUE(receiver.result.has_value());
  ASSERT_TRUE(receiver.result->ok()) << ErrorName(receiver.result->error());
  const Datagram& got = receiver.result->value();
  EXPECT_EQ(got.length, 40u);
  EXPECT_FALSE(got.truncated);
  EXPECT_EQ(got.port, kPeerPort + 1);
  EXPECT_EQ(Bytes(receiver.buffer, receiver.buffer + 40), payload);
}

void NonBlockingAndTruncationScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t socket = Bind(net, kPort);
  uint8_t small[10] = {};
  EXPECT_EQ(client.UdpRecvFrom(socket, small, Blocking::kNo).error(), Error::kWouldBlock);

  const Bytes payload = Pattern(100, 9);
  net.Inject(UdpFrame(kPeerPort, kPort, payload));
  net.Inject(UdpFrame(kPeerPort, kPort, Text("next"), 2));
  net.Settle();
  const Result<Datagram> got = client.UdpRecvFrom(socket, small, Blocking::kNo);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(got.value().length, 10u);
  EXPECT_EQ(got.value().datagram_length, 100u);
  EXPECT_TRUE(got.value().truncated);
  EXPECT_EQ(Bytes(small, small + 10), Bytes(payload.begin(), payload.begin() + 10));
  // The rest of the truncated datagram is gone: the next read is the next one.
  const Result<Datagram> next = client.UdpRecvFrom(socket, small, Blocking::kNo);
  ASSERT_TRUE(next.ok()) << ErrorName(next.error());
  EXPECT_EQ(next.value().length, 4u);
  EXPECT_FALSE(next.value().truncated);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(small), 4), "next");
  EXPECT_EQ(client.UdpRecvFrom(socket, small, Blocking::kNo).error(), Error::kWouldBlock);
}

void QueueFullScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t socket = Bind(net, kPort);
  constexpr uint32_t kExtra = 5;
  for (uint32_t i = 0; i < UdpSocketTable::kQueueLimit + kExtra; ++i) {
    net.Inject(UdpFrame(kPeerPort, kPort, Bytes{static_cast<uint8_t>(i)},
                        static_cast<uint16_t>(i + 1)));
  }
  net.Settle();
  const UdpStats& stats = net.service().stats().udp;
  EXPECT_EQ(stats.datagrams_in.Get(), UdpSocketTable::kQueueLimit);
  EXPECT_EQ(stats.dropped_full.Get(), kExtra);
  EXPECT_EQ(stats.dropped_pool.Get(), 0u);
  // The first kQueueLimit arrived, in order; the last kExtra were dropped.
  for (uint32_t i = 0; i < UdpSocketTable::kQueueLimit; ++i) {
    uint8_t in[4] = {};
    const Result<Datagram> got = client.UdpRecvFrom(socket, in, Blocking::kNo);
    ASSERT_TRUE(got.ok()) << i << ": " << ErrorName(got.error());
    EXPECT_EQ(got.value().length, 1u);
    EXPECT_EQ(in[0], i);
  }
  uint8_t in[4];
  EXPECT_EQ(client.UdpRecvFrom(socket, in, Blocking::kNo).error(), Error::kWouldBlock);
  // Room again: the next one is queued.
  net.Inject(UdpFrame(kPeerPort, kPort, Text("x"), 100));
  net.Settle();
  EXPECT_TRUE(client.UdpRecvFrom(socket, in, Blocking::kNo).ok());
  EXPECT_EQ(stats.dropped_full.Get(), kExtra);
}

void CloseWhileRecvWaitsScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t socket = Bind(net, kPort);
  Receiver receiver{&client, socket};
  const svc::RemoteThread thread = StartReceiver(net, receiver);
  EXPECT_EQ(client.UdpClose(socket), Error::kOk);
  ASSERT_TRUE(svc::Join(thread));
  ASSERT_TRUE(receiver.result.has_value());
  EXPECT_EQ(receiver.result->error(), Error::kClosed);
  // The handle is dead, and the slot is reused under a new one.
  uint8_t in[4];
  EXPECT_EQ(client.UdpRecvFrom(socket, in, Blocking::kNo).error(), Error::kBadHandle);
  EXPECT_EQ(client.UdpClose(socket), Error::kBadHandle);
  const uint32_t again = Bind(net, kPort);
  EXPECT_NE(again, socket);
  EXPECT_EQ(client.UdpRecvFrom(socket, in, Blocking::kNo).error(), Error::kBadHandle);
  EXPECT_EQ(client.UdpRecvFrom(again, in, Blocking::kNo).error(), Error::kWouldBlock);
  EXPECT_EQ(net.service().stats().udp.sockets_open.Get(), 1u);
}

void BadRequestsScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t peer = NetworkOrder(kPeerIp);
  uint8_t buffer[8] = {};
  constexpr uint32_t kNeverOpened = 12345;
  EXPECT_EQ(client.UdpRecvFrom(kNeverOpened, buffer, Blocking::kNo).error(), Error::kBadHandle);
  EXPECT_EQ(client.UdpRecvFrom(kNeverOpened, buffer).error(), Error::kBadHandle);
  EXPECT_EQ(client.UdpSendTo(kNeverOpened, peer, kPeerPort, buffer).error(), Error::kBadHandle);
  EXPECT_EQ(client.UdpClose(kNeverOpened), Error::kBadHandle);

  const uint32_t socket = Bind(net, kPort);
  // The next slot's handle: never opened.
  EXPECT_EQ(client.UdpSendTo(socket + 1, peer, kPeerPort, buffer).error(), Error::kBadHandle);
  EXPECT_EQ(RawCall(net, UdpSendToRequest{.handle = socket, .ip = peer, .address = 0,
                                          .length = 5, .port = kPeerPort})
                .error,
            Error::kInvalidArgument);
  EXPECT_EQ(RawCall(net, UdpRecvFromRequest{.handle = socket, .address = 0, .length = 5}).error,
            Error::kInvalidArgument);
  EXPECT_EQ(client.UdpSendTo(socket, 0, kPeerPort, buffer).error(), Error::kInvalidArgument);
  EXPECT_EQ(client.UdpSendTo(socket, peer, 0, buffer).error(), Error::kInvalidArgument);
  // Longer than one datagram holds: refused by the client, and by the
  // service if a client skips the check.
  std::vector<uint8_t> huge(kMaxUdpPayload + 1, 0xab);
  EXPECT_EQ(client.UdpSendTo(socket, peer, kPeerPort, huge).error(), Error::kMessageTooLong);
  EXPECT_EQ(RawCall(net, UdpSendToRequest{.handle = socket, .ip = peer,
                                          .address = reinterpret_cast<uint64_t>(huge.data()),
                                          .length = static_cast<uint32_t>(huge.size()),
                                          .port = kPeerPort})
                .error,
            Error::kMessageTooLong);
  EXPECT_EQ(net.service().stats().udp.datagrams_out.Get(), 0u);
  // Nothing of the above took the service down.
  EXPECT_TRUE(client.UdpSendTo(socket, peer, kPeerPort, buffer).ok());
}

// The largest datagram goes out as IP fragments that reassemble to it.
void LargestDatagramScenario(TestNet& net) {
  NetClient& client = net.client();
  const uint32_t socket = Bind(net, kPort);
  const uint32_t peer = NetworkOrder(kPeerIp);
  // A small one first: the peer's ARP answer is then known.
  ASSERT_TRUE(client.UdpSendTo(socket, peer, kPeerPort, Text("hi")).ok());
  ASSERT_TRUE(SentFrom(net, kPort).has_value());

  const Bytes payload = Pattern(kMaxUdpPayload, 1);
  const Result<size_t> sent = client.UdpSendTo(socket, peer, kPeerPort, payload);
  ASSERT_TRUE(sent.ok()) << ErrorName(sent.error());
  EXPECT_EQ(sent.value(), kMaxUdpPayload);
  // Reassemble: IP payloads by fragment offset.
  Bytes udp(8 + kMaxUdpPayload, 0);
  size_t covered = 0, fragments = 0;
  bool saw_last = false;
  for (const Bytes& frame : net.TakeTransmitted()) {
    const auto ip = testing::ParseIpv4(frame);
    if (!ip || ip->protocol != testing::kProtoUdp) continue;
    const uint16_t word = testing::Load16(frame, 14 + 6);
    const size_t offset = size_t{word & 0x1fffu} * 8;
    ASSERT_LE(offset + ip->payload.size(), udp.size());
    std::copy(ip->payload.begin(), ip->payload.end(), udp.begin() + offset);
    covered += ip->payload.size();
    ++fragments;
    if ((word & 0x2000) == 0) saw_last = true;
  }
  EXPECT_TRUE(saw_last);
  EXPECT_EQ(covered, udp.size());
  EXPECT_EQ(fragments, (udp.size() + 1479) / 1480);  // 1480 bytes of IP payload per frame
  EXPECT_EQ(testing::Load16(udp, 0), kPort);
  EXPECT_EQ(testing::Load16(udp, 2), kPeerPort);
  EXPECT_EQ(testing::Load16(udp, 4), udp.size());
  EXPECT_EQ(Bytes(udp.begin() + 8, udp.end()), payload);
  EXPECT_EQ(net.service().stats().udp.datagrams_out.Get(), 2u);
}

void TooManySocketsScenario(TestNet& net) {
  std::vector<uint32_t> handles;
  for (uint32_t i = 0; i < UdpSocketTable::kMaxSockets; ++i) {
    const Result<UdpSocket> socket = net.client().UdpBind(static_cast<uint16_t>(6000 + i));
    ASSERT_TRUE(socket.ok()) << i << ": " << ErrorName(socket.error());
    handles.push_back(socket.value().handle);
  }
  EXPECT_EQ(net.client().UdpBind(7000).error(), Error::kTooManySockets);
  EXPECT_EQ(net.client().UdpClose(handles[3]), Error::kOk);
  EXPECT_TRUE(net.client().UdpBind(7000).ok());
}

TEST(UdpTest, BindSendReceive) { RunScenario(&BindSendReceiveScenario); }
TEST(UdpTest, BlockingRecvIsWokenByADatagram) { RunScenario(&BlockingRecvScenario); }
TEST(UdpTest, NonBlockingAndTruncation) { RunScenario(&NonBlockingAndTruncationScenario); }
TEST(UdpTest, FullQueueDropsAndCounts) { RunScenario(&QueueFullScenario); }
TEST(UdpTest, CloseAnswersAWaitingRecv) { RunScenario(&CloseWhileRecvWaitsScenario); }
TEST(UdpTest, BadRequestsGetErrors) { RunScenario(&BadRequestsScenario); }
TEST(UdpTest, LargestDatagramIsFragmented) { RunScenario(&LargestDatagramScenario); }
TEST(UdpTest, TableFullGetsTooManySockets) { RunScenario(&TooManySocketsScenario); }

}  // namespace
}  // namespace uk::net
