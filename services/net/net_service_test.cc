// The net service on core 1 of a host machine (cores as threads), fed raw
// Ethernet frames through FakeNetDevice and driven by NetClient from core 0;
// each test is a scenario in its own process (test_net.h says why).

#include "services/net/net_service.h"

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "services/net/malformed_frames.h"
#include "services/net/net_client.h"
#include "services/net/test_frames.h"
#include "services/net/test_net.h"
#include "services/runtime/call.h"
#include "services/runtime/request_service.h"

namespace uk::net {
namespace {

using testing::ArpPacket;
using testing::Bytes;
using testing::EthernetFrame;
using testing::Ip4;
using testing::IpFrame;
using testing::kOurIp;
using testing::kOurMac;
using testing::kPeerIp;
using testing::kPeerMac;
using testing::Mac;
using testing::NetworkOrder;
using testing::RunScenario;
using testing::TcpFields;
using testing::TcpFrame;
using testing::TestNet;

// An echo request from the peer gets the matching reply.
void ExpectEchoReply(TestNet& net, uint16_t sequence) {
  const Bytes payload = {'u', 'k', '-', 'p', 'i', 'n', 'g', 0, 1, 2, 3, 0xfe, 0xff,
                         static_cast<uint8_t>(sequence)};
  net.Inject(IpFrame(testing::kProtoIcmp, testing::IcmpEcho(8, 0xbeef, sequence, payload),
                     sequence));
  const auto reply = net.Transmitted([&](const Bytes& frame) {
    const auto icmp = testing::ParseIcmp(frame);
    return icmp && icmp->type == 0 && icmp->sequence == sequence;
  });
  ASSERT_TRUE(reply.has_value()) << "no echo reply to sequence " << sequence;
  const auto icmp = testing::ParseIcmp(*reply);
  EXPECT_EQ(icmp->code, 0);
  EXPECT_EQ(icmp->id, 0xbeef);
  EXPECT_EQ(icmp->payload, payload);
  EXPECT_EQ(icmp->ip.src, kOurIp);
  EXPECT_EQ(icmp->ip.dst, kPeerIp);
  EXPECT_EQ(icmp->ip.src_mac, kOurMac);
  EXPECT_EQ(icmp->ip.dst_mac, kPeerMac);
}

// ---- Scenarios ----

// The peer asks who has our address and gets the answer (which also puts
// the peer in the stack's ARP table).
void ExpectArpReply(TestNet& net) {
  const Bytes who_has_us = ArpPacket(testing::kArpRequest, kPeerMac, kPeerIp, Mac{}, kOurIp);
  net.Inject(EthernetFrame(testing::kBroadcastMac, kPeerMac, testing::kEtherTypeArp, who_has_us));
  const auto reply = net.Transmitted([](const Bytes& frame) {
    const auto arp = testing::ParseArp(frame);
    return arp && arp->op == testing::kArpReply;
  });
  ASSERT_TRUE(reply.has_value());
  const Mac eth_dst = {(*reply)[0], (*reply)[1], (*reply)[2], (*reply)[3], (*reply)[4],
                       (*reply)[5]};
  EXPECT_EQ(eth_dst, kPeerMac);
  const auto arp = testing::ParseArp(*reply);
  EXPECT_EQ(arp->sender_mac, kOurMac);
  EXPECT_EQ(arp->sender_ip, kOurIp);
  EXPECT_EQ(arp->target_mac, kPeerMac);
  EXPECT_EQ(arp->target_ip, kPeerIp);
}

void ArpScenario(TestNet& net) {
  ExpectArpReply(net);

  // Somebody else's address: no answer.
  const Bytes who_has_other =
      ArpPacket(testing::kArpRequest, kPeerMac, kPeerIp, Mac{}, Ip4{10, 0, 2, 99});
  net.Inject(
      EthernetFrame(testing::kBroadcastMac, kPeerMac, testing::kEtherTypeArp, who_has_other));
  EXPECT_FALSE(net.Transmitted([](const Bytes& frame) {
    const auto arp = testing::ParseArp(frame);
    return arp && arp->op == testing::kArpReply;
  }));
}

void IcmpScenario(TestNet& net) {
  ExpectEchoReply(net, 1);
  ExpectEchoReply(net, 2);  // now with the peer in the ARP table
}

void TcpScenario(TestNet& net) {
  NetClient& client = net.client();
  const Result<uint32_t> listener = client.Listen(80);
  ASSERT_TRUE(listener.ok()) << ErrorName(listener.error());

  const Bytes mss = {2, 4, 0x05, 0xb4};
  net.Inject(TcpFrame({.src_port = 40000, .dst_port = 80, .seq = 1000, .flags = testing::kTcpSyn},
                      {}, mss));
  const auto syn_ack = net.Transmitted([](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.src_port == 80 && tcp->fields.dst_port == 40000;
  });
  ASSERT_TRUE(syn_ack.has_value()) << "no answer to a SYN to a listening port";
  const TcpFields answer = testing::ParseTcp(*syn_ack)->fields;
  EXPECT_EQ(answer.flags, testing::kTcpSyn | testing::kTcpAck);
  EXPECT_EQ(answer.ack, 1001u);

  // Complete the handshake: the connection is accepted, with the peer's
  // address.
  const uint32_t our_seq = answer.seq + 1;
  net.Inject(TcpFrame(
      {.src_port = 40000, .dst_port = 80, .seq = 1001, .ack = our_seq, .flags = testing::kTcpAck}));
  net.Settle();
  const Result<Peer> peer = client.Accept(listener.value(), Blocking::kNo);
  ASSERT_TRUE(peer.ok()) << ErrorName(peer.error());
  EXPECT_EQ(peer.value().ip, NetworkOrder(kPeerIp));
  EXPECT_EQ(peer.value().port, 40000);

  // Data both ways.
  net.Inject(TcpFrame({.src_port = 40000, .dst_port = 80, .seq = 1001, .ack = our_seq,
                       .flags = testing::kTcpAck | testing::kTcpPsh},
                      "hello"));
  uint8_t in[16] = {};
  const Result<size_t> got = client.Recv(peer.value().handle, in);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(in), got.value()), "hello");
  const uint8_t out[] = {'w', 'o', 'r', 'l', 'd'};
  const Result<size_t> sent = client.Send(peer.value().handle, out);
  ASSERT_TRUE(sent.ok()) << ErrorName(sent.error());
  EXPECT_EQ(sent.value(), 5u);
  const auto data = net.Transmitted([](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.src_port == 80 && !tcp->payload.empty();
  });
  ASSERT_TRUE(data.has_value()) << "Send() put nothing on the wire";
  const auto segment = testing::ParseTcp(*data);
  EXPECT_EQ(segment->payload, Bytes(out, out + 5));
  EXPECT_EQ(segment->fields.seq, our_seq);
  EXPECT_EQ(segment->fields.ack, 1006u);  // "hello" acknowledged

  // An exchange: a response out and the next request in, one round trip.
  // The request is already there, so the receive half answers at once.
  net.Inject(TcpFrame({.src_port = 40000, .dst_port = 80, .seq = 1006, .ack = our_seq + 5,
                       .flags = testing::kTcpAck | testing::kTcpPsh},
                      "again"));
  net.Settle();
  const uint8_t response[] = {'r', 'e', 's', 'p'};
  uint8_t next[16] = {};
  const NetClient::Exchanged exchanged = client.SendRecv(peer.value().handle, response, next);
  EXPECT_EQ(exchanged.error, Error::kOk) << ErrorName(exchanged.error);
  EXPECT_EQ(exchanged.sent, 4u);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(next), exchanged.received), "again");
  const auto exchanged_data = net.Transmitted([&](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.src_port == 80 && tcp->fields.seq == our_seq + 5 &&
           !tcp->payload.empty();
  });
  ASSERT_TRUE(exchanged_data.has_value()) << "SendRecv() put nothing on the wire";
  EXPECT_EQ(testing::ParseTcp(*exchanged_data)->payload, Bytes(response, response + 4));

  // An exchange whose receive has to wait: its send goes out at once, and
  // the reply comes when the next request does.
  struct Waiter {
    NetClient* client;
    uint32_t socket;
    NetClient::Exchanged result{};
    uint8_t next[16] = {};
  } waiter{&client, peer.value().handle};
  sched::Thread* thread = sched::Scheduler::Current().Spawn(
      [](void* arg) {
        auto* w = static_cast<Waiter*>(arg);
        const uint8_t second[] = {'r', '2'};
        w->result = w->client->SendRecv(w->socket, second, w->next);
      },
      &waiter, "exchange");
  sched::Scheduler::Current().Yield();  // the waiter sends its request and parks
  net.Settle();
  EXPECT_EQ(waiter.result.sent, 0u);  // not answered yet: the receive waits
  const auto second_data = net.Transmitted([&](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.src_port == 80 && tcp->fields.seq == our_seq + 9 &&
           !tcp->payload.empty();
  });
  ASSERT_TRUE(second_data.has_value()) << "the waiting exchange did not send first";
  EXPECT_EQ(testing::ParseTcp(*second_data)->payload, Bytes({'r', '2'}));
  net.Inject(TcpFrame({.src_port = 40000, .dst_port = 80, .seq = 1011, .ack = our_seq + 11,
                       .flags = testing::kTcpAck | testing::kTcpPsh},
                      "later"));
  sched::Scheduler::Current().Join(thread);
  EXPECT_EQ(waiter.result.error, Error::kOk) << ErrorName(waiter.result.error);
  EXPECT_EQ(waiter.result.sent, 2u);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(waiter.next), waiter.result.received),
            "later");

  // A reset from the peer ends the connection: the next read says so, and
  // so does an exchange, without sending.
  net.Inject(TcpFrame({.src_port = 40000, .dst_port = 80, .seq = 1016, .flags = testing::kTcpRst}));
  net.Settle();
  EXPECT_EQ(client.Recv(peer.value().handle, in).error(), Error::kReset);
  EXPECT_EQ(client.SendRecv(peer.value().handle, response, next).error, Error::kReset);
  EXPECT_EQ(client.Close(peer.value().handle), Error::kOk);

  // A SYN to a closed port is refused with RST|ACK acknowledging the SYN.
  net.Inject(TcpFrame({.src_port = 40001, .dst_port = 81, .seq = 5000, .flags = testing::kTcpSyn}));
  const auto rst = net.Transmitted([](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.src_port == 81;
  });
  ASSERT_TRUE(rst.has_value()) << "no answer to a SYN to a closed port";
  const TcpFields refusal = testing::ParseTcp(*rst)->fields;
  EXPECT_TRUE(refusal.flags & testing::kTcpRst);
  EXPECT_FALSE(refusal.flags & testing::kTcpSyn);
  EXPECT_TRUE(refusal.flags & testing::kTcpAck);
  EXPECT_EQ(refusal.ack, 5001u);
}

void MalformedFramesScenario(TestNet& net) {
  constexpr uint32_t kFrames = 5000;
  constexpr uint32_t kBatch = 100;
  NetClient& client = net.client();
  ASSERT_TRUE(client.Listen(80).ok());
  // On the heap: the generator is 5 KiB and this thread's stack is 32 KiB.
  auto frames = std::make_unique<testing::MalformedFrames>(
      testing::MalformedTarget{.mac = kOurMac, .ip = kOurIp, .tcp_port = 80,
                               .peer_mac = {0x02, 0, 0, 0, 0, 0x77},
                               .peer_ip = {10, 0, 2, 77}},
      20240611);
  const uint64_t frames_before = net.service().stats().frames_in.Get();
  const uint64_t injected_before = net.injected();
  uint32_t tcp_answers = 0, icmp_answers = 0;
  for (uint32_t sent = 0; sent < kFrames; sent += kBatch) {
    for (uint32_t i = 0; i < kBatch; ++i) net.Inject(frames->Next());
    net.Settle();
    if (::testing::Test::HasFatalFailure()) return;
    // RSTs, SYN-ACKs, ICMP replies and errors, ARP queries: only counted.
    // But a query for the peer must be answered, or lwIP queues the next
    // packet to it until its ARP timer asks again, a second later.
    for (const Bytes& frame : net.TakeTransmitted()) {
      if (testing::ParseTcp(frame)) ++tcp_answers;
      if (testing::ParseIcmp(frame)) ++icmp_answers;
    }
  }
  // Every frame reached lwIP (the pbuf pool never ran dry), including the
  // ARP replies the peer sent meanwhile.
  EXPECT_EQ(net.service().stats().frames_in.Get() - frames_before,
            net.injected() - injected_before);
  EXPECT_GE(net.injected() - injected_before, kFrames);
  // Some frames got past the checksums and the parsing: the fuzz reached
  // TCP and ICMP.
  EXPECT_GT(tcp_answers, 0u);
  EXPECT_GT(icmp_answers, 0u);
  std::printf("malformed frames: %u TCP and %u ICMP frames in answer\n", tcp_answers,
              icmp_answers);
  EXPECT_EQ(net.service().stats().dropped_in.Get(), 0u);

  // The stack still answers, and so does the service. The peer announces
  // itself first: a fuzzed ARP packet may have claimed its address.
  ExpectArpReply(net);
  ExpectEchoReply(net, 100);
  const Result<Info> info = client.GetInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().ip, NetworkOrder(kOurIp));
  const Result<uint32_t> listener = client.Listen(8080);
  ASSERT_TRUE(listener.ok()) << ErrorName(listener.error());
  EXPECT_EQ(client.Close(listener.value()), Error::kOk);
}

// A blocking Accept on its own thread of core 0.
struct PendingAccept {
  NetClient* client;
  uint32_t listener;
  Result<Peer> result{Error::kBusy};

  static void Run(void* arg) {
    auto* self = static_cast<PendingAccept*>(arg);
    self->result = self->client->Accept(self->listener);
  }
};

void SocketErrorsScenario(TestNet& net) {
  NetClient& client = net.client();
  const Result<Info> info = client.GetInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().ip, NetworkOrder(kOurIp));
  EXPECT_EQ(info.value().netmask, NetworkOrder({255, 255, 255, 0}));
  EXPECT_EQ(info.value().gateway, NetworkOrder(kPeerIp));

  const Result<uint32_t> listener = client.Listen(8080);
  ASSERT_TRUE(listener.ok()) << ErrorName(listener.error());
  const uint32_t handle = listener.value();
  EXPECT_EQ(client.Listen(8080).error(), Error::kAddressInUse);
  EXPECT_EQ(client.Listen(0).error(), Error::kInvalidArgument);
  EXPECT_EQ(client.Accept(handle, Blocking::kNo).error(), Error::kWouldBlock);
  uint8_t buffer[8];
  EXPECT_EQ(client.Recv(handle, buffer).error(), Error::kInvalidArgument);
  EXPECT_EQ(client.Recv(handle, buffer, Blocking::kNo).error(), Error::kInvalidArgument);
  // net_protocol.h lists "on a listener" under kNotConnected, but only
  // Shutdown says so; a Send is a plain kInvalidArgument, like a Recv.
  EXPECT_NE(client.Send(handle, buffer).error(), Error::kOk);
  EXPECT_EQ(client.Shutdown(handle, kShutdownWrite), Error::kNotConnected);
  EXPECT_EQ(client.Connect(0, 80).error(), Error::kInvalidArgument);
  EXPECT_EQ(client.Connect(NetworkOrder(kPeerIp), 0).error(), Error::kInvalidArgument);

  // Handles that were never opened: a free slot, and a live slot's index
  // with another generation.
  constexpr uint32_t kNeverOpened = 1000 | 7u << 10;
  EXPECT_EQ(client.Recv(kNeverOpened, buffer).error(), Error::kBadHandle);
  EXPECT_EQ(client.Close(kNeverOpened), Error::kBadHandle);
  EXPECT_EQ(client.Accept(handle + (1u << 10), Blocking::kNo).error(), Error::kBadHandle);

  // A blocking Accept waits; closing the listener answers it with kClosed.
  // The accepting thread runs as soon as this one parks in the GetInfo
  // call, so its request is in the ring before the Close.
  PendingAccept pending{&client, handle};
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  sched::Thread* acceptor = scheduler.Spawn(&PendingAccept::Run, &pending, "accept");
  ASSERT_TRUE(client.GetInfo().ok());
  EXPECT_EQ(client.Close(handle), Error::kOk);
  scheduler.Join(acceptor);
  EXPECT_EQ(pending.result.error(), Error::kClosed);

  // A closed handle stays dead, even once its slot is reused; its port is
  // free again.
  EXPECT_EQ(client.Accept(handle, Blocking::kNo).error(), Error::kBadHandle);
  EXPECT_EQ(client.Close(handle), Error::kBadHandle);
  const Result<uint32_t> again = client.Listen(8080);
  ASSERT_TRUE(again.ok()) << ErrorName(again.error());
  EXPECT_NE(again.value(), handle);
  EXPECT_EQ(client.Recv(handle, buffer).error(), Error::kBadHandle);

  // A kind from net's range that nothing serves (a reply's, here) is
  // answered with the runtime's RejectedBody, counted, and the service goes on.
  const uint64_t rejected_before = net.service().rejected();
  ipc::Message message = ipc::MakeMessage(StatusReply{Error::kOk}, 0, 0);
  ASSERT_EQ(svc::Call(client.server(), message), svc::SendStatus::kOk);
  svc::RejectedBody rejected{};
  ASSERT_TRUE(ipc::Decode(message, &rejected));
  EXPECT_EQ(rejected.kind, static_cast<uint16_t>(StatusReply::kKind));
  EXPECT_EQ(net.service().rejected(), rejected_before + 1);
  EXPECT_TRUE(client.GetInfo().ok());
  EXPECT_EQ(client.Accept(again.value(), Blocking::kNo).error(), Error::kWouldBlock);
}

// ---- Timers after closes: TIME-WAIT costs one wakeup per expiry ----

// A connection from the peer, seen from the peer's side.
struct PeerConnection {
  uint16_t port = 0;     // the peer's
  uint32_t seq = 0;      // the peer's next sequence number
  uint32_t our_seq = 0;  // the service's next sequence number
  uint32_t handle = 0;
};

constexpr uint16_t kServerPort = 80;

// Opens `count` connections to kServerPort from ports first_port.., all
// handshakes in one batch, and accepts them.
std::vector<PeerConnection> OpenConnections(TestNet& net, uint32_t listener, uint16_t first_port,
                                            uint32_t count) {
  std::vector<PeerConnection> connections(count);
  const Bytes mss = {2, 4, 0x05, 0xb4};
  for (uint32_t i = 0; i < count; ++i) {
    connections[i].port = static_cast<uint16_t>(first_port + i);
    connections[i].seq = 1000 + i;
    net.Inject(TcpFrame({.src_port = connections[i].port, .dst_port = kServerPort,
                         .seq = connections[i].seq, .flags = testing::kTcpSyn},
                        {}, mss));
  }
  for (const Bytes& frame : net.TakeTransmitted()) {
    const auto tcp = testing::ParseTcp(frame);

    if (!tcp || tcp->fields.flags != (testing::kTcpSyn | testing::kTcpAck)) continue;
    const uint32_t i = tcp->fields.dst_port - first_port;
    if (i < count) connections[i].our_seq = tcp->fields.seq + 1;
  }
  for (PeerConnection& c : connections) {
    EXPECT_NE(c.our_seq, 0u) << "no SYN-ACK to port " << c.port;
    c.seq += 1;
    net.Inject(TcpFrame({.src_port = c.port, .dst_port = kServerPort, .seq = c.seq,
                         .ack = c.our_seq, .flags = testing::kTcpAck}));
  }
  net.Settle();
  for (uint32_t i = 0; i < count; ++i) {
    const Result<Peer> peer = net.client().Accept(listener, Blocking::kNo);
    if (!peer.ok()) {
      ADD_FAILURE() << ErrorName(peer.error());
      break;
    }
    connections[peer.value().port - first_port].handle = peer.value().handle;
  }
  return connections;
}

// The service's FIN for connection `c`, after the application closed it.
bool TakeFin(TestNet& net, const PeerConnection& c) {
  return net
      .Transmitted([&](const Bytes& frame) {
        const auto tcp = testing::ParseTcp(frame);
        return tcp && tcp->fields.dst_port == c.port && (tcp->fields.flags & testing::kTcpFin);
      })
      .has_value();
}

// The server closes first: FIN-WAIT-1, then the peer's FIN with the ACK of
// ours takes it to TIME-WAIT.
void ServerCloses(TestNet& net, PeerConnection& c) {
  EXPECT_EQ(net.client().Close(c.handle), Error::kOk);
  EXPECT_TRUE(TakeFin(net, c)) << "no FIN to port " << c.port;
  net.Inject(TcpFrame({.src_port = c.port, .dst_port = kServerPort, .seq = c.seq,
                       .ack = c.our_seq + 1, .flags = testing::kTcpFin | testing::kTcpAck}));
}

// The peer closes first: CLOSE-WAIT, the application reads the end and
// closes, LAST-ACK, and the peer's ACK frees the PCB at once.
void PeerCloses(TestNet& net, PeerConnection& c) {
  net.Inject(TcpFrame({.src_port = c.port, .dst_port = kServerPort, .seq = c.seq,
                       .ack = c.our_seq, .flags = testing::kTcpFin | testing::kTcpAck}));
  uint8_t buffer[8];
  const Result<size_t> end = net.client().Recv(c.handle, buffer);
  EXPECT_TRUE(end.ok() && end.value() == 0) << "port " << c.port;
  EXPECT_EQ(net.client().Close(c.handle), Error::kOk);
  EXPECT_TRUE(TakeFin(net, c)) << "no FIN to port " << c.port;
  net.Inject(TcpFrame({.src_port = c.port, .dst_port = kServerPort, .seq = c.seq + 1,
                       .ack = c.our_seq + 1, .flags = testing::kTcpAck}));
}

struct TcpState {
  uint32_t active = 0, time_wait = 0;
  uint64_t now_ms = 0, deadline_ms = 0, wakeups = 0;
  bool service_ready = false;  // it has a turn to take (a timer went off, say)
};

TcpState ReadTcpState(TestNet& net) {
  TcpState state;
  net.OnNetCore([&] {
    for (const tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) ++state.active;
    for (const tcp_pcb* pcb = tcp_tw_pcbs; pcb != nullptr; pcb = pcb->next) ++state.time_wait;
    state.now_ms = net.service().NowMs();
    state.deadline_ms = net.service().timer_deadline_ms();
    state.wakeups = net.service().stats().timer_wakeups.Get();
    state.service_ready = net.service().Ready();
  });
  return state;
}

// Moves the service clock to `to_ms` (if ahead) and waits until the service
// has run what became due: it has no turn pending, and the timer thread's
// deadline is in the future.
TcpState AdvanceClockTo(TestNet& net, uint64_t to_ms) {
  net.OnNetCore([&] {
    const uint64_t now = net.service().NowMs();
    if (to_ms > now) net.service().AdvanceClockForTest(to_ms - now);
  });
  for (int i = 0; i < 10000; ++i) {
    const TcpState state = ReadTcpState(net);
    if (!state.service_ready && state.deadline_ms > state.now_ms) return state;
    sched::Scheduler::Current().SleepFor(100000);  // 0.1 ms: the net core's turn
  }
  ADD_FAILURE() << "the timer deadline stayed in the past";
  return ReadTcpState(net);
}

void TimeWaitScenario(TestNet& net) {
  constexpr uint32_t kPerGroup = 100;  // of each kind, in each of two groups
  constexpr uint64_t kTimeWaitMs = 2 * TCP_MSL;
  NetClient& client = net.client();
  const Result<uint32_t> listener = client.Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok()) << ErrorName(listener.error());
  // The peer in the ARP table first: lwIP queues only 3 packets behind an
  // unanswered ARP query, and the SYN-ACKs of a batch would be lost.
  ExpectArpReply(net);

  // Two groups of closes more than a slow tick apart, so their TIME-WAITs
  // end at different instants. Half of each group is closed by the server
  // (TIME-WAIT), half by the peer (freed at the last ACK).
  uint64_t group_started_ms[2];
  uint16_t port = 20000;
  for (int group = 0; group < 2; ++group) {
    if (group == 1) {
      // Real time with only TIME-WAIT left: no 250 ms tick. The ARP timer
      // runs (once a second, 10 s after traffic), and nothing else.
      const TcpState before = ReadTcpState(net);
      EXPECT_EQ(before.active, 0u);
      sched::Scheduler::Current().SleepFor(1100 * 1000000ull);
      EXPECT_LE(ReadTcpState(net).wakeups - before.wakeups, 2u);
    }
    group_started_ms[group] = ReadTcpState(net).now_ms;
    std::vector<PeerConnection> connections =
        OpenConnections(net, listener.value(), port, 2 * kPerGroup);
    port = static_cast<uint16_t>(port + 2 * kPerGroup);
    if (::testing::Test::HasFailure()) return;
    for (uint32_t i = 0; i < connections.size(); ++i) {
      if (i % 2 == 0) ServerCloses(net, connections[i]);
      else PeerCloses(net, connections[i]);
    }
    net.Settle();
    (void)net.TakeTransmitted();
  }
  TcpState state = ReadTcpState(net);
  EXPECT_EQ(state.active, 0u);
  EXPECT_EQ(state.time_wait, 2 * kPerGroup);

  // Past the ARP timer's 10 s after the traffic: from then on the only
  // deadline is the first TIME-WAIT expiry, not the next 250 ms tick.
  state = AdvanceClockTo(net, state.now_ms + NetTimers::kArpIdleAfterMs + 1000);
  EXPECT_EQ(state.time_wait, 2 * kPerGroup) << "a TIME-WAIT ended early";
  EXPECT_GE(state.deadline_ms, group_started_ms[0] + kTimeWaitMs);
  EXPECT_LE(state.deadline_ms, group_started_ms[0] + kTimeWaitMs + 1000);

  // Each expiry is one wakeup, and lwIP frees the PCBs then: tcp_ticks
  // caught up with the minute that passed without a tick. The first group
  // goes (its closes may straddle a slow tick: one or two deadlines), then
  // the second, over at most four deadlines in all.
  int deadlines = 0;
  bool saw_second_group_alone = false;
  while (state.time_wait > 0 && deadlines < 10) {
    const uint64_t wakeups = state.wakeups;
    const uint64_t deadline = state.deadline_ms;
    ASSERT_NE(deadline, kNever) << state.time_wait << " TIME-WAIT PCBs and no deadline";
    state = AdvanceClockTo(net, deadline);
    ++deadlines;
    EXPECT_EQ(state.wakeups, wakeups + 1) << "deadline " << deadline;
    EXPECT_GT(state.deadline_ms, deadline);
    if (state.time_wait == kPerGroup) saw_second_group_alone = true;
  }
  EXPECT_EQ(state.time_wait, 0u);
  EXPECT_TRUE(saw_second_group_alone);
  EXPECT_GE(deadlines, 2);
  EXPECT_LE(deadlines, 4);
  // A static address, no connections, no traffic: no timer at all.
  EXPECT_EQ(state.deadline_ms, kNever);
  EXPECT_EQ(state.active, 0u);
}

// ---- Waiting for an address: one request, answered when it is bound ----

// ---- Sending by reference: return notices ----

// Receives return notices on core 0 (the test's core): their tokens, in
// the order they came.
class NoticeSink final : public svc::Service {
 public:
  static constexpr ipc::MessageKind kKind = svc::Kind(svc::Registered("image"), 1);
  NoticeSink() : Service("notice-sink", svc::kFirstImageServiceId) {}
  std::vector<uint32_t> tokens;

 private:
  void Handle(uint32_t, const ipc::Message& m) override {
    EXPECT_EQ(m.header.kind, kKind);
    EXPECT_EQ(m.header.flags & ipc::kFlagWantsReply, 0) << "a notice wants no reply";
    uint32_t token = 0;
    __builtin_memcpy(&token, m.payload.data(), sizeof(token));
    tokens.push_back(token);
  }
};

// Lets the net core and the sink run until the sink holds `count` tokens,
// or for `rounds` rounds (then it is taken that none is coming).
const std::vector<uint32_t>& NoticesAfter(TestNet& net, NoticeSink& sink, size_t count,
                                          int rounds = 10000) {
  for (int i = 0; i < rounds && sink.tokens.size() < count; ++i) {
    net.Settle();
    sched::Scheduler::Current().SleepFor(100000);  // 0.1 ms
  }
  return sink.tokens;
}

// Everything transmitted to the peer's `port` with a payload, concatenated.
std::string TakePayload(TestNet& net, uint16_t port) {
  std::string payload;
  for (const Bytes& frame : net.TakeTransmitted()) {
    const auto tcp = testing::ParseTcp(frame);
    if (tcp && tcp->fields.dst_port == port) payload.append(tcp->payload.begin(), tcp->payload.end());
  }
  return payload;
}

// The peer acknowledges everything up to `our_seq`.
void Ack(TestNet& net, const PeerConnection& c, uint32_t our_seq) {
  net.Inject(TcpFrame({.src_port = c.port, .dst_port = kServerPort, .seq = c.seq, .ack = our_seq,
                       .flags = testing::kTcpAck}));
  net.Settle();
}

constexpr char kHead[] = "HEAD:";
constexpr char kBody[] = "0123456789";  // stands for lent file bytes

// A head copied and a body by reference, and no receive.
NetClient::Exchanged SendHeadAndBody(TestNet& net, uint32_t socket, NoticeSink& sink,
                                     uint32_t token) {
  const SendPiece pieces[] = {
      {reinterpret_cast<uint64_t>(kHead), 5, 0},
      {reinterpret_cast<uint64_t>(kBody), 10, SendPiece::kByReference},
  };
  return net.client().SendRecv(socket, pieces, {},
                               {sink.address(), NoticeSink::kKind, token});
}

void SendByReferenceScenario(TestNet& net) {
  auto* sink = new NoticeSink;  // a started service lives as long as the machine
  sink->Start();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 8);
  ASSERT_TRUE(listener.ok());
  ExpectArpReply(net);  // so no SYN-ACK waits behind an ARP query
  std::vector<PeerConnection> c = OpenConnections(net, listener.value(), 41000, 4);
  ASSERT_EQ(c.size(), 4u);
  const uint64_t referenced_before = net.service().socket_stats().bytes_by_reference;

  // Sent, not yet acknowledged: held, and no notice until the ACK.
  NetClient::Exchanged sent = SendHeadAndBody(net, c[0].handle, *sink, 7);
  EXPECT_EQ(sent.error, Error::kOk) << ErrorName(sent.error);
  EXPECT_EQ(sent.sent, 15u);
  EXPECT_EQ(sent.received, 0u);
  EXPECT_TRUE(sent.held);
  EXPECT_EQ(TakePayload(net, c[0].port), "HEAD:0123456789");
  EXPECT_EQ(net.service().socket_stats().bytes_by_reference - referenced_before, 10u);
  EXPECT_TRUE(NoticesAfter(net, *sink, 1, 20).empty()) << "a notice before the ACK";
  Ack(net, c[0], c[0].our_seq + 15);
  EXPECT_EQ(NoticesAfter(net, *sink, 1), std::vector<uint32_t>{7});
  c[0].our_seq += 15;

  // Acknowledged before the reply (the next request carries the ACK): not
  // held, and no notice ever.
  struct Waiter {
    TestNet* net;
    NoticeSink* sink;
    uint32_t socket;
    NetClient::Exchanged result{};
    uint8_t next[16] = {};
  } waiter{&net, sink, c[0].handle};
  sched::Thread* thread = sched::Scheduler::Current().Spawn(
      [](void* arg) {
        auto* w = static_cast<Waiter*>(arg);
        const SendPiece body{reinterpret_cast<uint64_t>(kBody), 10, SendPiece::kByReference};
        w->result = w->net->client().SendRecv(w->socket, {&body, 1}, w->next,
                                              {w->sink->address(), NoticeSink::kKind, 8});
      },
      &waiter, "exchange");
  sched::Scheduler::Current().Yield();
  EXPECT_EQ(TakePayload(net, c[0].port), "0123456789");
  net.Inject(TcpFrame({.src_port = c[0].port, .dst_port = kServerPort, .seq = c[0].seq,
                       .ack = c[0].our_seq + 10, .flags = testing::kTcpAck | testing::kTcpPsh},
                      "next"));
  sched::Scheduler::Current().Join(thread);
  EXPECT_EQ(waiter.result.error, Error::kOk) << ErrorName(waiter.result.error);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(waiter.next), waiter.result.received),
            "next");
  EXPECT_FALSE(waiter.result.held);
  c[0].seq += 4;
  c[0].our_seq += 10;

  // Closed with referenced bytes unacknowledged: the slot lingers and the
  // notice comes with the ACK.
  sent = SendHeadAndBody(net, c[0].handle, *sink, 9);
  EXPECT_TRUE(sent.held);
  EXPECT_EQ(net.client().Close(c[0].handle), Error::kOk);
  (void)net.TakeTransmitted();
  EXPECT_EQ(NoticesAfter(net, *sink, 2, 20).size(), 1u) << "a notice before the ACK";
  Ack(net, c[0], c[0].our_seq + 15);
  EXPECT_EQ(NoticesAfter(net, *sink, 2), (std::vector<uint32_t>{7, 9}));

  // A reset drops the segments: the notice comes at once.
  sent = SendHeadAndBody(net, c[1].handle, *sink, 10);
  EXPECT_TRUE(sent.held);
  net.Inject(TcpFrame({.src_port = c[1].port, .dst_port = kServerPort, .seq = c[1].seq,
                       .flags = testing::kTcpRst}));
  EXPECT_EQ(NoticesAfter(net, *sink, 3).back(), 10u);
  EXPECT_EQ(net.client().Close(c[1].handle), Error::kOk);

  // kMaxReturns notices pending: the next send copies instead (not held, no
  // bytes by reference). An abortive close then drops them all.
  for (uint32_t token = 20; token < 20 + TcpSendRecvRequest::kMaxReturns; ++token) {
    EXPECT_TRUE(SendHeadAndBody(net, c[2].handle, *sink, token).held) << token;
  }
  const uint64_t referenced = net.service().socket_stats().bytes_by_reference;
  sent = SendHeadAndBody(net, c[2].handle, *sink, 99);
  EXPECT_EQ(sent.sent, 15u);
  EXPECT_FALSE(sent.held);
  EXPECT_EQ(net.service().socket_stats().bytes_by_reference, referenced);
  std::string expected;
  for (uint32_t i = 0; i <= TcpSendRecvRequest::kMaxReturns; ++i) expected += "HEAD:0123456789";
  EXPECT_EQ(TakePayload(net, c[2].port), expected);
  EXPECT_EQ(net.client().Close(c[2].handle, CloseMode::kAbort), Error::kOk);
  EXPECT_EQ(NoticesAfter(net, *sink, 7),
            (std::vector<uint32_t>{7, 9, 10, 20, 21, 22, 23}));

  // Bad pieces are refused before anything is sent.
  const SendPiece null_piece{0, 4, SendPiece::kByReference};
  EXPECT_EQ(net.client().SendRecv(c[3].handle, {&null_piece, 1}, {}, {}).error,
            Error::kInvalidArgument);
  EXPECT_EQ(net.client().SendRecv(c[3].handle, std::span<const SendPiece>{}, {}, {}).error,
            Error::kInvalidArgument);
  std::vector<SendPiece> too_many(TcpSendRecvRequest::kMaxPieces + 1,
                                  SendPiece{reinterpret_cast<uint64_t>(kHead), 1, 0});
  EXPECT_EQ(net.client().SendRecv(c[3].handle, too_many, {}, {}).error, Error::kInvalidArgument);
  EXPECT_EQ(TakePayload(net, c[3].port), "");
  EXPECT_EQ(NoticesAfter(net, *sink, 8, 20).size(), 7u) << "a notice for nothing sent";
}

void StaticAddressScenario(TestNet& net) {
  const uint64_t handled = net.service().handled();
  EXPECT_EQ(net.client().WaitForAddress(5000), NetworkOrder(kOurIp));
  EXPECT_EQ(net.service().handled(), handled + 1);
}

void DhcpFallbackScenario(TestNet& net) {
  // Nobody answers DHCP here: after 300 ms the service takes the fallback,
  // and the waiting request is answered then, without being asked again.
  const uint64_t handled = net.service().handled();
  EXPECT_EQ(net.client().WaitForAddress(60000), NetworkOrder(kOurIp));
  EXPECT_EQ(net.service().handled(), handled + 1);
  const Result<Info> info = net.client().GetInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().ip, NetworkOrder(kOurIp));
}

void DhcpTimeoutScenario(TestNet& net) {
  // No lease and no fallback: the wait ends at its timeout, with no address.
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  const uint64_t handled = net.service().handled();
  const uint64_t start = scheduler.NowNs();
  EXPECT_EQ(net.client().WaitForAddress(300), 0u);
  EXPECT_GE(scheduler.NowNs() - start, 300 * 1000000ull);
  EXPECT_EQ(net.service().handled(), handled + 1);
}

void UseDhcpWithFallback(NetConfig& config) {
  config.fallback_ip = config.ip;
  config.fallback_netmask = config.netmask;
  config.fallback_gateway = config.gateway;
  config.ip = 0;
  config.dhcp_timeout_ms = 300;
}

void UseDhcpWithoutFallback(NetConfig& config) {
  config.ip = 0;
  config.dhcp_timeout_ms = 300;
}

TEST(NetServiceTest, TimeWaitCostsOneWakeupPerExpiry) { RunScenario(&TimeWaitScenario); }
TEST(NetServiceTest, WaitForAddressWithAStaticAddress) { RunScenario(&StaticAddressScenario); }
TEST(NetServiceTest, WaitForAddressIsAnsweredWhenTheAddressComes) {
  RunScenario(&DhcpFallbackScenario, &UseDhcpWithFallback);
}
TEST(NetServiceTest, WaitForAddressTimesOut) {
  RunScenario(&DhcpTimeoutScenario, &UseDhcpWithoutFallback);
}

TEST(NetServiceTest, AnswersArpForItsAddressOnly) { RunScenario(&ArpScenario); }
TEST(NetServiceTest, AnswersEchoRequests) { RunScenario(&IcmpScenario); }
TEST(NetServiceTest, TcpHandshakeDataResetAndRefusal) { RunScenario(&TcpScenario); }
TEST(NetServiceTest, SurvivesMalformedFrames) { RunScenario(&MalformedFramesScenario); }
TEST(NetServiceTest, SocketErrorsWithoutAPeer) { RunScenario(&SocketErrorsScenario); }
TEST(NetServiceTest, SendByReferenceReturnsNotices) { RunScenario(&SendByReferenceScenario); }

}  // namespace
}  // namespace uk::net
