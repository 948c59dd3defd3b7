// Hostile peers against the net service and lwIP with this project's
// lwipopts.h (docs/net.md, "Hostile peers"): the scripted peer of test_net.h
// floods the service, and a legitimate connection must still be served.
// Each test is a scenario in its own process (test_net.h says why).

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "lwip/opt.h"
#include "services/net/net_client.h"
#include "services/net/net_service.h"
#include "services/net/overload.h"
#include "services/net/test_frames.h"
#include "services/net/test_net.h"

namespace uk::net {
namespace {

using testing::Bytes;
using testing::Ip4;
using testing::kOurIp;
using testing::kOurMac;
using testing::kPeerIp;
using testing::kPeerMac;
using testing::RunScenario;
using testing::TcpFields;
using testing::TestNet;

constexpr uint16_t kServerPort = 80;
const Bytes kMss1460 = {2, 4, 0x05, 0xb4};

// A TCP segment to us from any source address, sent through the peer (the
// gateway), as a spoofing sender's would arrive.
Bytes TcpFrom(const Ip4& src, const TcpFields& fields, std::string_view payload = {},
              const Bytes& options = {}) {
  const Bytes data(payload.begin(), payload.end());
  return testing::EthernetFrame(
      kOurMac, kPeerMac, testing::kEtherTypeIpv4,
      testing::Ipv4Packet({.src = src, .dst = kOurIp, .protocol = testing::kProtoTcp},
                          testing::TcpSegment(src, kOurIp, fields, options, data)));
}

// The peer tells the stack its address, so nothing waits behind ARP.
void AnnouncePeer(TestNet& net) {
  net.Inject(testing::EthernetFrame(
      testing::kBroadcastMac, kPeerMac, testing::kEtherTypeArp,
      testing::ArpPacket(testing::kArpRequest, kPeerMac, kPeerIp, testing::Mac{}, kOurIp)));
  (void)net.TakeTransmitted();
}

// A connection from the peer, seen from the peer's side.
struct Connection {
  uint16_t port = 0;     // the peer's
  uint32_t seq = 0;      // the peer's next sequence number
  uint32_t our_seq = 0;  // the service's next sequence number
  uint32_t handle = 0;
};

// Handshakes from ports first_port.. (all SYNs in one batch) advertising
// `window`, then accepts them all. Connections that got no SYN-ACK keep
// our_seq == 0 and are not accepted.
std::vector<Connection> Open(TestNet& net, uint32_t listener, uint16_t first_port, uint32_t count,
                             uint16_t window = 65535) {
  std::vector<Connection> connections(count);
  for (uint32_t i = 0; i < count; ++i) {
    connections[i].port = static_cast<uint16_t>(first_port + i);
    connections[i].seq = 7000 + i;
    net.Inject(TcpFrom(kPeerIp,
                       {.src_port = connections[i].port, .dst_port = kServerPort,
                        .seq = connections[i].seq, .flags = testing::kTcpSyn, .window = window},
                       {}, kMss1460));
  }
  for (const Bytes& frame : net.TakeTransmitted()) {
    const auto tcp = testing::ParseTcp(frame);
    if (!tcp || tcp->fields.flags != (testing::kTcpSyn | testing::kTcpAck)) continue;
    const uint32_t i = tcp->fields.dst_port - first_port;
    if (i < count) connections[i].our_seq = tcp->fields.seq + 1;
  }
  uint32_t answered = 0;
  for (Connection& c : connections) {
    if (c.our_seq == 0) continue;
    ++answered;
    c.seq += 1;
    net.Inject(TcpFrom(kPeerIp, {.src_port = c.port, .dst_port = kServerPort, .seq = c.seq,
                                 .ack = c.our_seq, .flags = testing::kTcpAck, .window = window}));
  }
  net.Settle();
  for (uint32_t n = 0; n < answered; ++n) {
    const Result<Peer> peer = net.client().Accept(listener, Blocking::kNo);
    if (!peer.ok()) {
      ADD_FAILURE() << "accept: " << ErrorName(peer.error());
      break;
    }
    connections[peer.value().port - first_port].handle = peer.value().handle;
  }
  return connections;
}

// The legitimate client: it connects, sends a request, is answered.
void ExpectServed(TestNet& net, uint32_t listener, uint16_t port) {
  const std::vector<Connection> one = Open(net, listener, port, 1);
  ASSERT_NE(one[0].our_seq, 0u) << "no SYN-ACK for the legitimate client";
  const Connection& c = one[0];
  ASSERT_NE(c.handle, 0u) << "the legitimate client was not accepted";
  net.Inject(TcpFrom(kPeerIp, {.src_port = c.port, .dst_port = kServerPort, .seq = c.seq,
                               .ack = c.our_seq, .flags = testing::kTcpAck | testing::kTcpPsh},
                     "GET /"));
  uint8_t in[16] = {};
  const Result<size_t> got = net.client().Recv(c.handle, in);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(in), got.value()), "GET /");
  const uint8_t out[] = {'2', '0', '0'};
  const Result<size_t> sent = net.client().Send(c.handle, out);
  ASSERT_TRUE(sent.ok()) << ErrorName(sent.error());
  const auto data = net.Transmitted([&](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.dst_port == c.port && !tcp->payload.empty();
  });
  ASSERT_TRUE(data.has_value()) << "the legitimate client got no answer";
  EXPECT_EQ(testing::ParseTcp(*data)->payload, Bytes(out, out + 3));
  EXPECT_EQ(testing::ParseTcp(*data)->fields.ack, c.seq + 5);
}

// ---- 1. Out-of-order flood ----

void OutOfOrderFloodScenario(TestNet& net) {
  constexpr uint32_t kSegments = 800;  // more than PBUF_POOL_SIZE
  static_assert(kSegments > PBUF_POOL_SIZE);
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  EXPECT_EQ(stats.pool_size.Get(), uint64_t{PBUF_POOL_SIZE});
  EXPECT_GE(stats.heap_size.Get(), uint64_t{MEM_SIZE});
  const uint64_t pool_baseline = stats.pool_used.Get();

  const Connection flooder = Open(net, listener.value(), 40000, 1)[0];
  ASSERT_NE(flooder.handle, 0u);
  // 1-byte segments just above rcv_nxt: the byte at rcv_nxt never comes.
  for (uint32_t i = 0; i < kSegments; ++i) {
    net.Inject(TcpFrom(kPeerIp, {.src_port = flooder.port, .dst_port = kServerPort,
                                 .seq = flooder.seq + 1 + i, .ack = flooder.our_seq,
                                 .flags = testing::kTcpAck},
                       "x"));
    if (i % 100 == 99) (void)net.TakeTransmitted();  // duplicate ACKs
  }
  (void)net.TakeTransmitted();
  std::printf("out-of-order flood of %u segments: pool %llu of %llu in use (max %llu), "
              "%llu frames dropped\n",
              kSegments, static_cast<unsigned long long>(stats.pool_used.Get()),
              static_cast<unsigned long long>(stats.pool_size.Get()),
              static_cast<unsigned long long>(stats.pool_max.Get()),
              static_cast<unsigned long long>(stats.dropped_in.Get()));
  EXPECT_EQ(stats.dropped_in.Get(), 0u) << "frames found no receive buffer";
  EXPECT_LE(stats.pool_used.Get(), pool_baseline + TCP_OOSEQ_MAX_PBUFS);

  // A second client still connects and is served.
  ExpectServed(net, listener.value(), 41000);

  // The flooder's gap filled: its first byte and the 16 it kept arrive.
  net.Inject(TcpFrom(kPeerIp, {.src_port = flooder.port, .dst_port = kServerPort,
                               .seq = flooder.seq, .ack = flooder.our_seq,
                               .flags = testing::kTcpAck},
                     "y"));
  net.Settle();
  uint8_t in[64] = {};
  const Result<size_t> got = net.client().Recv(flooder.handle, in, Blocking::kNo);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(got.value(), 1u + TCP_OOSEQ_MAX_PBUFS);
  EXPECT_EQ(in[0], 'y');
  EXPECT_EQ(in[1], 'x');
}

// Many connections flood at once: the per-connection caps alone would let
// 40 x 16 segments take the pool; the service drops whole out-of-order
// queues to keep kPoolReserve buffers free.
void ManyConnectionsFloodScenario(TestNet& net) {
  constexpr uint32_t kFlooders = 40;
    constexpr uint32_t kSegmentsEach = 16;  // TCP_OOSEQ_MAX_PBUFS
  static_assert(kFlooders * kSegmentsEach > PBUF_POOL_SIZE);
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const std::vector<Connection> flooders = Open(net, listener.value(), 40000, kFlooders);
  for (uint32_t i = 0; i < kSegmentsEach; ++i) {
    for (const Connection& c : flooders) {
      net.Inject(TcpFrom(kPeerIp, {.src_port = c.port, .dst_port = kServerPort,
                                   .seq = c.seq + 1 + i, .ack = c.our_seq,
                                   .flags = testing::kTcpAck},
                         "x"));
    }
    (void)net.TakeTransmitted();
  }
  std::printf("%u connections flooding: pool max %llu of %llu, %llu queues dropped\n",
              kFlooders, static_cast<unsigned long long>(stats.pool_max.Get()),
              static_cast<unsigned long long>(stats.pool_size.Get()),
              static_cast<unsigned long long>(stats.ooseq_dropped.Get()));
  EXPECT_EQ(stats.dropped_in.Get(), 0u);
  EXPECT_GT(stats.ooseq_dropped.Get(), 0u);
  ExpectServed(net, listener.value(), 41000);
}

// ---- 1b. In-order data nobody reads ----

// Clients send whole windows of in-order data that the application never
// reads (a server blocked sending to a client that reads nothing). Each
// frame holds a pool buffer until read, and the window (TCP_WND, 44
// segments) bounds each connection, not the pool: 24 connections x 30
// segments is more than PBUF_POOL_SIZE. Once the pool is down to its
// reserve, the service drops data segments of connections that already hold
// unread data (they are not acknowledged, so their senders retransmit), and
// a new client still connects and is served.
void UnreadDataFloodScenario(TestNet& net) {
  constexpr uint32_t kHoarders = 24;
  constexpr uint32_t kSegmentsEach = 30;  // within TCP_WND / TCP_MSS
  static_assert(kSegmentsEach * TCP_MSS <= TCP_WND);
  static_assert(kHoarders * kSegmentsEach > PBUF_POOL_SIZE);
  const std::string payload(TCP_MSS, 'u');
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const std::vector<Connection> hoarders = Open(net, listener.value(), 40000, kHoarders);
  for (uint32_t i = 0; i < kSegmentsEach; ++i) {
    for (const Connection& c : hoarders) {
      net.Inject(TcpFrom(kPeerIp, {.src_port = c.port, .dst_port = kServerPort,
                                   .seq = c.seq + i * TCP_MSS, .ack = c.our_seq,
                                   .flags = testing::kTcpAck},
                         payload));
    }
    (void)net.TakeTransmitted();  // ACKs
  }
  uint64_t refused = 0;
  net.OnNetCore([&] { refused = UnreadSegmentsRefused(); });
  std::printf("%u connections sending %u unread segments each: pool %llu of %llu in use (max "
              "%llu), %llu frames dropped, %llu data segments refused\n",
              kHoarders, kSegmentsEach, static_cast<unsigned long long>(stats.pool_used.Get()),
              static_cast<unsigned long long>(stats.pool_size.Get()),
              static_cast<unsigned long long>(stats.pool_max.Get()),
              static_cast<unsigned long long>(stats.dropped_in.Get()),
              static_cast<unsigned long long>(refused));
  EXPECT_EQ(stats.dropped_in.Get(), 0u) << "frames found no receive buffer";
  EXPECT_GT(refused, 0u);
  ExpectServed(net, listener.value(), 41000);

  // A hoarder's data is intact: what was taken is in order, and what was
  // refused comes once its sender retransmits after the application read.
  const Connection& first = hoarders[0];
  uint8_t in[TCP_MSS] = {};
  const Result<size_t> got = net.client().Recv(first.handle, in, Blocking::kNo);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_GT(got.value(), 0u);
  EXPECT_EQ(in[0], 'u');
}

// ---- 2. SYN flood from spoofed addresses ----

void SynFloodScenario(TestNet& net) {
  constexpr uint32_t kSyns = 400;  // more than lwIP's backlog of 255
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  for (uint32_t i = 0; i < kSyns; ++i) {
    const Ip4 spoofed = {198, 51, static_cast<uint8_t>(100 + i / 250),
                         static_cast<uint8_t>(1 + i % 250)};
    net.Inject(TcpFrom(spoofed, {.src_port = static_cast<uint16_t>(1024 + i * 7),
                                 .dst_port = kServerPort, .seq = 100000 * i,
                                 .flags = testing::kTcpSyn},
                       {}, kMss1460));
    if (i % 100 == 99) (void)net.TakeTransmitted();  // SYN-ACKs to nowhere
  }
  (void)net.TakeTransmitted();
  std::printf("SYN flood of %u: %llu half-open connections evicted\n", kSyns,
              static_cast<unsigned long long>(stats.syn_evicted.Get()));
  ExpectServed(net, listener.value(), 41000);
  EXPECT_GE(stats.syn_evicted.Get(), kSyns - 255u);
}

// ---- 2b. A client reusing its port while the server holds TIME-WAIT ----

// The server closes first, so it holds the connection's TIME-WAIT for 60 s.
// The client's port is free again at once on its side (Linux and QEMU's
// user networking reuse it), and its next SYN from that port must open a
// new connection, not be answered with an ACK of the old one until the
// TIME-WAIT ends. A SYN older than the old connection's data still is.
void TimeWaitReuseScenario(TestNet& net) {
  constexpr uint16_t kPort = 42000;
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const Connection old = Open(net, listener.value(), kPort, 1)[0];
  ASSERT_NE(old.handle, 0u);
  // The server closes; the client acknowledges the FIN and sends its own.
  ASSERT_EQ(net.client().Close(old.handle), Error::kOk);
  const auto fin = net.Transmitted([&](const Bytes& frame) {
    const auto tcp = testing::ParseTcp(frame);
    return tcp && tcp->fields.dst_port == kPort && (tcp->fields.flags & testing::kTcpFin);
  });
  ASSERT_TRUE(fin.has_value()) << "the server sent no FIN";
  net.Inject(TcpFrom(kPeerIp, {.src_port = kPort, .dst_port = kServerPort, .seq = old.seq,
                               .ack = old.our_seq + 1,
                               .flags = testing::kTcpAck | testing::kTcpFin}));
  net.Settle();
  (void)net.TakeTransmitted();  // the ACK of our FIN
  ASSERT_EQ(stats.tcp_time_wait.Get(), 1u) << "the server is not in TIME-WAIT";

  const auto syn_answer = [&](uint32_t seq) -> std::optional<TcpFields> {
    net.Inject(TcpFrom(kPeerIp, {.src_port = kPort, .dst_port = kServerPort, .seq = seq,
                                 .flags = testing::kTcpSyn},
                       {}, kMss1460));
    net.Settle();
    std::optional<TcpFields> answer;
    for (const Bytes& frame : net.TakeTransmitted()) {
      const auto tcp = testing::ParseTcp(frame);
      if (tcp && tcp->fields.dst_port == kPort) answer = tcp->fields;
    }
    return answer;
  };
  // An old duplicate SYN (below the old connection's next byte, old.seq + 1):
  // the TIME-WAIT stays and acknowledges it, as RFC 793 asks.
  const std::optional<TcpFields> to_old = syn_answer(old.seq - 1000);
  ASSERT_TRUE(to_old.has_value()) << "no answer to an old SYN";
  EXPECT_EQ(to_old->flags, testing::kTcpAck);
  EXPECT_EQ(to_old->ack, old.seq + 1);
  EXPECT_EQ(stats.time_wait_reopened.Get(), 0u);

  // A new connection from the same port: answered with a SYN-ACK, accepted
  // and served.
  const uint32_t new_seq = old.seq + 100000;
  const std::optional<TcpFields> to_new = syn_answer(new_seq);
  ASSERT_TRUE(to_new.has_value()) << "no answer to the new SYN";
  ASSERT_EQ(to_new->flags, testing::kTcpSyn | testing::kTcpAck);
  EXPECT_EQ(to_new->ack, new_seq + 1);
  EXPECT_EQ(stats.time_wait_reopened.Get(), 1u);
  // Our side starts above the old connection too (tcp_isn.h: the clock
  // part of the ISN), so its stray segments cannot land in the new one.
  EXPECT_GT(static_cast<int32_t>(to_new->seq - (old.our_seq + 1)), 0);
  net.Inject(TcpFrom(kPeerIp, {.src_port = kPort, .dst_port = kServerPort, .seq = new_seq + 1,
                               .ack = to_new->seq + 1, .flags = testing::kTcpAck | testing::kTcpPsh},
                     "GET /"));
  net.Settle();
  const Result<Peer> peer = net.client().Accept(listener.value(), Blocking::kNo);
  ASSERT_TRUE(peer.ok()) << ErrorName(peer.error());
  EXPECT_EQ(peer.value().port, kPort);
  uint8_t in[16] = {};
  const Result<size_t> got = net.client().Recv(peer.value().handle, in, Blocking::kNo);
  ASSERT_TRUE(got.ok()) << ErrorName(got.error());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(in), got.value()), "GET /");
}

// ---- 2c. Sequence numbers an off-path peer cannot predict ----

// Connections from consecutive ports, opened together: lwIP's own ISNs
// would step by the TCP tick count (a few hundred at most here); RFC 6528's
// (tcp_isn.h) are a keyed hash apart.
void UnpredictableIsnScenario(TestNet& net) {
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const std::vector<Connection> connections = Open(net, listener.value(), 43000, 8);
  uint32_t far_apart = 0;
  for (size_t i = 0; i + 1 < connections.size(); ++i) {
    ASSERT_NE(connections[i].our_seq, 0u);
    const uint32_t step = connections[i + 1].our_seq - connections[i].our_seq;
    if (step > (1u << 20) && step < 0u - (1u << 20)) ++far_apart;
  }
  EXPECT_GE(far_apart, 5u) << "the ISNs look like a counter";
}

// ---- 3. Zero-window readers and a parked Send ----

// A blocking Send on its own thread of core 0.
struct PendingSend {
  NetClient* client;
  uint32_t handle;
  uint8_t data[600];
  bool done = false;
  Result<size_t> result{Error::kBusy};

  static void Run(void* arg) {
    auto* self = static_cast<PendingSend*>(arg);
    self->result = self->client->Send(self->handle, self->data);
    self->done = true;
  }
};

// Moves the service clock forward by `ms` and waits until the service ran
// what became due (as net_service_test's AdvanceClockTo).
void AdvanceClock(TestNet& net, uint64_t ms) {
  net.OnNetCore([&] { net.service().AdvanceClockForTest(ms); });
  for (int i = 0; i < 10000; ++i) {
    bool settled = false;
    net.OnNetCore([&] {
      settled = !net.service().Ready() && net.service().timer_deadline_ms() > net.service().NowMs();
    });
    if (settled) return;
    sched::Scheduler::Current().SleepFor(100000);
  }
  ADD_FAILURE() << "the timer deadline stayed in the past";
}

uint8_t g_fill[TCP_SND_BUF];  // what the zero-window readers are sent

void ZeroWindowScenario(TestNet& net, CloseMode close_mode) {
  constexpr uint32_t kReaders = 200;  // enough to fill MEM_SIZE with send buffers
  const NetStats& stats = net.service().stats();
  NetClient& client = net.client();
  const Result<uint32_t> listener = client.Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const Connection normal = Open(net, listener.value(), 30000, 1)[0];
  ASSERT_NE(normal.handle, 0u);
  const std::vector<Connection> readers =
      Open(net, listener.value(), 31000, kReaders, /*window=*/0);
  const uint64_t heap_baseline = stats.heap_used.Get();

  // Fill the send buffers of the zero-window readers until lwIP's heap
  // refuses a whole buffer, then to the last byte with ever smaller Sends
  // (tcp_write takes all of a write or nothing), each to a fresh reader.
  uint32_t filled = 0;
  bool heap_full = false;
  size_t chunk = sizeof(g_fill);
  while (filled < readers.size() && chunk > 0) {
    const Connection& c = readers[filled++];
    ASSERT_NE(c.handle, 0u);
    const Result<size_t> sent =
        client.Send(c.handle, std::span<const uint8_t>(g_fill, chunk), Blocking::kNo);
    if (!sent.ok() || sent.value() < chunk) {
      heap_full = true;
      chunk /= 2;
    }
  }
  (void)net.TakeTransmitted();
  std::printf("%u zero-window readers: heap %llu of %llu bytes in use (max %llu)\n", filled,
              static_cast<unsigned long long>(stats.heap_used.Get()),
              static_cast<unsigned long long>(stats.heap_size.Get()),
              static_cast<unsigned long long>(stats.heap_max.Get()));
  ASSERT_TRUE(heap_full) << "the send buffers did not fill lwIP's heap";

  // The application's answer to the normal client parks: no memory.
  PendingSend pending{&client, normal.handle, {}};
  for (size_t i = 0; i < sizeof(pending.data); ++i) pending.data[i] = static_cast<uint8_t>(i);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  sched::Thread* sender = scheduler.Spawn(&PendingSend::Run, &pending, "send");
  net.Settle();
  EXPECT_FALSE(pending.done) << "the Send found memory: the test filled nothing";

  // The application gives up on the readers. Nothing comes from any peer
  // from now on, the normal client included.
  for (uint32_t i = 0; i < filled; ++i) {
    EXPECT_EQ(client.Close(readers[i].handle, close_mode), Error::kOk);
  }
  // What the normal client receives meanwhile; the rest is probes and
  // RSTs to the readers.
  Bytes received;
  const auto collect = [&] {
    for (const Bytes& frame : net.TakeTransmitted()) {
      const auto tcp = testing::ParseTcp(frame);
      if (tcp && tcp->fields.dst_port == normal.port) {
        received.insert(received.end(), tcp->payload.begin(), tcp->payload.end());
      }
    }
  };
  uint64_t waited_ms = 0;
  while (!pending.done && waited_ms < 40000) {
    AdvanceClock(net, 500);
    waited_ms += 500;
    collect();
  }
  std::printf("close (%s): the parked Send finished after %llu ms of service time, "
              "%llu retries; heap %llu\n",
              close_mode == CloseMode::kAbort ? "abortive" : "graceful",
              static_cast<unsigned long long>(waited_ms),
              static_cast<unsigned long long>(net.service().socket_stats().send_retries),
              static_cast<unsigned long long>(stats.heap_used.Get()));
  ASSERT_TRUE(pending.done) << "the parked Send never finished";
  scheduler.Join(sender);
  ASSERT_TRUE(pending.result.ok()) << ErrorName(pending.result.error());
  EXPECT_EQ(pending.result.value(), sizeof(pending.data));
  if (close_mode == CloseMode::kAbort) EXPECT_LE(waited_ms, 1500u);
  else EXPECT_LE(waited_ms, 20000u + 2000u);
  // The data went out to the normal client, which sent nothing.
  collect();
  EXPECT_EQ(received, Bytes(pending.data, pending.data + sizeof(pending.data)));
  EXPECT_LE(stats.heap_used.Get(), heap_baseline + 16 * 1024) << "the readers' data is still held";
}

// With memory to spare (lwIP's zero-window probes go out), a closed
// connection to a zero-window reader keeps its data for
// kClosedSendLimitTicks (20 s), then is reset and its data freed. Left to
// lwIP, it would keep probing for minutes.
void ClosedSendLimitScenario(TestNet& net) {
  constexpr uint32_t kReaders = 4;
  const NetStats& stats = net.service().stats();
  const Result<uint32_t> listener = net.client().Listen(kServerPort, 512);
  ASSERT_TRUE(listener.ok());
  AnnouncePeer(net);
  const std::vector<Connection> readers =
      Open(net, listener.value(), 31000, kReaders, /*window=*/0);
  const uint64_t heap_baseline = stats.heap_used.Get();
  for (const Connection& c : readers) {
    ASSERT_NE(c.handle, 0u);
    const Result<size_t> sent = net.client().Send(c.handle, g_fill, Blocking::kNo);
    ASSERT_TRUE(sent.ok() && sent.value() == sizeof(g_fill));
    EXPECT_EQ(net.client().Close(c.handle), Error::kOk);
  }
  const uint64_t held = kReaders * sizeof(g_fill);
  uint64_t waited_ms = 0;
  for (; waited_ms < 19000; waited_ms += 500) AdvanceClock(net, 500);
  (void)net.TakeTransmitted();
  EXPECT_GE(stats.heap_used.Get(), heap_baseline + held) << "the data went before 20 s";
  for (; waited_ms < 30000 && stats.heap_used.Get() > heap_baseline + 16 * 1024;
       waited_ms += 500) {
    AdvanceClock(net, 500);
  }
  (void)net.TakeTransmitted();
  std::printf("closed zero-window connections: data held for %llu ms; heap %llu\n",
              static_cast<unsigned long long>(waited_ms),
              static_cast<unsigned long long>(stats.heap_used.Get()));
  EXPECT_LE(stats.heap_used.Get(), heap_baseline + 16 * 1024) << "the data is still held";
}

void ZeroWindowGracefulScenario(TestNet& net) { ZeroWindowScenario(net, CloseMode::kGraceful); }
void ZeroWindowAbortScenario(TestNet& net) { ZeroWindowScenario(net, CloseMode::kAbort); }

TEST(HostilePeersTest, OutOfOrderFloodLeavesBuffersForOthers) {
  RunScenario(&OutOfOrderFloodScenario);
}
TEST(HostilePeersTest, OutOfOrderFloodFromManyConnections) {
  RunScenario(&ManyConnectionsFloodScenario);
}
TEST(HostilePeersTest, UnreadDataFromManyConnectionsLeavesBuffersForOthers) {
  RunScenario(&UnreadDataFloodScenario);
}
TEST(HostilePeersTest, SynFloodLeavesThePortOpen) { RunScenario(&SynFloodScenario); }
TEST(HostilePeersTest, ANewSynReopensATimeWait) { RunScenario(&TimeWaitReuseScenario); }
TEST(HostilePeersTest, IsnsAreNotACounter) { RunScenario(&UnpredictableIsnScenario); }
TEST(HostilePeersTest, ClosedConnectionKeepsUnsentDataAtMost20s) {
  RunScenario(&ClosedSendLimitScenario);
}
TEST(HostilePeersTest, ParkedSendResumesAfterZeroWindowReadersAreClosed) {
  RunScenario(&ZeroWindowGracefulScenario);
}
TEST(HostilePeersTest, ParkedSendResumesAfterZeroWindowReadersAreKilled) {
  RunScenario(&ZeroWindowAbortScenario);
}

}  // namespace
}  // namespace uk::net
