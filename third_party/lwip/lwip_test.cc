// lwIP on the host: two netifs wired back to back (test_link.h) on a fake
// clock, exercising ARP, UDP, TCP with a 1 MiB echo, and the netif
// callbacks, with the configuration the kernel uses (port/lwipopts.h).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lwip/etharp.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "third_party/lwip/test_link.h"
#include "third_party/lwip/test_support.h"

namespace uk::lwip_test {
namespace {

constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;

ip4_addr_t Ip4(const char* text) {
  ip4_addr_t address;
  EXPECT_TRUE(ip4addr_aton(text, &address)) << text;
  return address;
}

TEST(LwipArp, RequestResolvesPeerAndEntryAgesOut) {
  BackToBackLink link("10.0.0.1", "10.0.0.2");
  const ip4_addr_t a_ip = Ip4("10.0.0.1");
  const ip4_addr_t b_ip = Ip4("10.0.0.2");

  ASSERT_EQ(etharp_request(link.a(), &b_ip), ERR_OK);
  link.Deliver();

  ASSERT_EQ(link.sent(0).size(), 1u);
  EXPECT_EQ(BackToBackLink::EtherType(link.sent(0)[0]), kEtherTypeArp);
  ASSERT_EQ(link.sent(1).size(), 1u);
  EXPECT_EQ(BackToBackLink::EtherType(link.sent(1)[0]), kEtherTypeArp);

  eth_addr* mac = nullptr;
  const ip4_addr_t* found = nullptr;
  ASSERT_GE(etharp_find_addr(link.a(), &b_ip, &mac, &found), 0);
  EXPECT_EQ(std::memcmp(mac->addr, link.b()->hwaddr, ETH_HWADDR_LEN), 0);
  // The request was for b, so b learned a's address from it.
  ASSERT_GE(etharp_find_addr(link.b(), &a_ip, &mac, &found), 0);
  EXPECT_EQ(std::memcmp(mac->addr, link.a()->hwaddr, ETH_HWADDR_LEN), 0);

  // Entries live ARP_MAXAGE ARP timer ticks (one per second); nothing
  // refreshes them on an idle link.
  for (int second = 0; second < ARP_MAXAGE + 2; ++second) AdvanceClock(1000);
  EXPECT_LT(etharp_find_addr(link.a(), &b_ip, &mac, &found), 0);
}

// Echoes each datagram back to its sender.
void UdpEcho(void* arg, udp_pcb* pcb, pbuf* p, const ip_addr_t* address, u16_t port) {
  udp_sendto(pcb, p, address, port);
  pbuf_free(p);
}

void UdpCollect(void* arg, udp_pcb* pcb, pbuf* p, const ip_addr_t* address, u16_t port) {
  std::string text(p->tot_len, '\0');
  pbuf_copy_partial(p, text.data(), p->tot_len, 0);
  static_cast<std::vector<std::string>*>(arg)->push_back(text);
  pbuf_free(p);
}

TEST(LwipUdp, DatagramIsEchoedAfterArp) {
  BackToBackLink link("10.0.0.1", "10.0.0.2");
  udp_pcb* server = udp_new();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(udp_bind(server, IP4_ADDR_ANY, 7000), ERR_OK);
  udp_bind_netif(server, link.b());
  udp_recv(server, UdpEcho, nullptr);

  std::vector<std::string> replies;
  udp_pcb* client = udp_new();
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(udp_bind(client, IP4_ADDR_ANY, 7001), ERR_OK);
  udp_bind_netif(client, link.a());
  udp_recv(client, UdpCollect, &replies);

  const std::string message = "hello over a back-to-back link";
  pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(message.size()), PBUF_RAM);
  ASSERT_NE(p, nullptr);
  pbuf_take(p, message.data(), static_cast<u16_t>(message.size()));
  ip_addr_t server_address;
  ip_addr_copy_from_ip4(server_address, Ip4("10.0.0.2"));
  ASSERT_EQ(udp_sendto(client, p, &server_address, 7000), ERR_OK);
  pbuf_free(p);

  ASSERT_TRUE(link.RunUntil([&] { return !replies.empty(); }, 1000));
  EXPECT_EQ(replies[0], message);
  // The datagram waited in the ARP queue while a resolved b.
  EXPECT_EQ(BackToBackLink::EtherType(link.sent(0).front()), kEtherTypeArp);
  EXPECT_EQ(BackToBackLink::EtherType(link.sent(0).back()), kEtherTypeIpv4);

  udp_remove(client);
  udp_remove(server);
}

TEST(LwipNetif, StatusAndLinkCallbacksFire) {
  BackToBackLink link("10.0.0.1", "10.0.0.2");
  static int status_calls;
  static int link_calls;
  status_calls = 0;
  link_calls = 0;
  netif_set_status_callback(link.a(), [](netif*) { ++status_calls; });
  netif_set_link_callback(link.a(), [](netif*) { ++link_calls; });

  netif_set_link_down(link.a());
  netif_set_link_up(link.a());
  EXPECT_EQ(link_calls, 2);

  netif_set_down(link.a());
  netif_set_up(link.a());
  EXPECT_EQ(status_calls, 2);

  const ip4_addr_t new_address = Ip4("10.0.0.9");
  netif_set_ipaddr(link.a(), &new_address);
  EXPECT_EQ(status_calls, 3);
}

// ---- TCP: a 1 MiB echo through the raw API ----

constexpr uint16_t kEchoPort = 7;
constexpr size_t kTransferBytes = size_t{1} << 20;
constexpr size_t kChunkBytes = 16 * 1024;

// Not periodic at any power of two, so a lost, repeated or reordered segment
// shows up as a mismatch.
uint8_t PatternByte(size_t offset) {
  return static_cast<uint8_t>(offset * 7 ^ offset >> 9 ^ offset >> 17);
}

// Accepts one connection and sends back what it receives. It acknowledges
// (tcp_recved) only what it has queued for sending, so a full send buffer
// closes the client's window: flow control in both directions.
class EchoServer {
 public:
  EchoServer(netif* nif, uint16_t port) {
    tcp_pcb* pcb = tcp_new();
    tcp_bind_netif(pcb, nif);  // accepted connections inherit it
    EXPECT_EQ(tcp_bind(pcb, IP4_ADDR_ANY, port), ERR_OK);
    listener_ = tcp_listen(pcb);
    tcp_arg(listener_, this);
    tcp_accept(listener_, &EchoServer::Accept);
  }
  ~EchoServer() { tcp_close(listener_); }

  size_t echoed() const { return echoed_; }
  bool closed() const { return closed_; }
  bool failed() const { return failed_; }

 private:
  static err_t Accept(void* arg, tcp_pcb* pcb, err_t err) {
    auto* self = static_cast<EchoServer*>(arg);
    self->connection_ = pcb;
    tcp_arg(pcb, self);
    tcp_recv(pcb, &EchoServer::Receive);
    tcp_sent(pcb, [](void* arg, tcp_pcb*, u16_t) -> err_t {
      static_cast<EchoServer*>(arg)->Flush();
      return ERR_OK;
    });
    tcp_err(pcb, [](void* arg, err_t) { static_cast<EchoServer*>(arg)->failed_ = true; });
    return ERR_OK;
  }

  static err_t Receive(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
    auto* self = static_cast<EchoServer*>(arg);
    if (p == nullptr) {
      self->peer_closed_ = true;
    } else {
      for (pbuf* q = p; q != nullptr; q = q->next) {
        auto* bytes = static_cast<const uint8_t*>(q->payload);
        self->backlog_.insert(self->backlog_.end(), bytes, bytes + q->len);
      }
      pbuf_free(p);
    }
    self->Flush();
    return ERR_OK;
  }

  void Flush() {
    if (closed_) return;
    uint8_t chunk[kChunkBytes];
    while (!backlog_.empty()) {
      size_t n = std::min({backlog_.size(), size_t{tcp_sndbuf(connection_)}, kChunkBytes});
      if (n == 0) break;
      std::copy_n(backlog_.begin(), n, chunk);
      if (tcp_write(connection_, chunk, static_cast<u16_t>(n), TCP_WRITE_FLAG_COPY) != ERR_OK) {
        break;  // send queue full: Flush runs again when data is acknowledged
      }
      backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<ptrdiff_t>(n));
      tcp_recved(connection_, static_cast<u16_t>(n));
      echoed_ += n;
    }
    tcp_output(connection_);
    if (peer_closed_ && backlog_.empty()) {
      EXPECT_EQ(tcp_close(connection_), ERR_OK);
      closed_ = true;
    }
  }

  tcp_pcb* listener_ = nullptr;
  tcp_pcb* connection_ = nullptr;
  std::deque<uint8_t> backlog_;  // received, not yet queued for sending
  size_t echoed_ = 0;
  bool peer_closed_ = false;
  bool closed_ = false;
  bool failed_ = false;
};

// Sends `total` pattern bytes and checks that the same bytes come back, then
// closes.
class EchoClient {
 public:
  EchoClient(netif* nif, const ip4_addr_t& server, uint16_t port, size_t total) : total_(total) {
    pcb_ = tcp_new();
    tcp_bind_netif(pcb_, nif);
    tcp_arg(pcb_, this);
    tcp_recv(pcb_, &EchoClient::Receive);
    tcp_sent(pcb_, [](void* arg, tcp_pcb*, u16_t) -> err_t {
      static_cast<EchoClient*>(arg)->Send();
      return ERR_OK;
    });
    tcp_err(pcb_, [](void* arg, err_t) { static_cast<EchoClient*>(arg)->failed_ = true; });
    ip_addr_t address;
    ip_addr_copy_from_ip4(address, server);
    EXPECT_EQ(tcp_connect(pcb_, &address, port,
                          [](void* arg, tcp_pcb*, err_t) -> err_t {
                            static_cast<EchoClient*>(arg)->Send();
                            return ERR_OK;
                          }),
              ERR_OK);
  }

  size_t received() const { return received_; }
  size_t first_mismatch() const { return first_mismatch_; }
  bool done() const { return received_ == total_ && server_closed_; }
  bool failed() const { return failed_; }

 private:
  void Send() {
    if (closed_) return;
    uint8_t chunk[kChunkBytes];
    while (sent_ < total_) {
      size_t n = std::min({total_ - sent_, size_t{tcp_sndbuf(pcb_)}, kChunkBytes});
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i) chunk[i] = PatternByte(sent_ + i);
      if (tcp_write(pcb_, chunk, static_cast<u16_t>(n), TCP_WRITE_FLAG_COPY) != ERR_OK) break;
      sent_ += n;
    }
    tcp_output(pcb_);
  }

  static err_t Receive(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
    auto* self = static_cast<EchoClient*>(arg);
    if (p == nullptr) {
      self->server_closed_ = true;
      return ERR_OK;
    }
    for (pbuf* q = p; q != nullptr; q = q->next) {
      auto* bytes = static_cast<const uint8_t*>(q->payload);
      for (size_t i = 0; i < q->len; ++i, ++self->received_) {
        if (bytes[i] != PatternByte(self->received_) && self->first_mismatch_ == SIZE_MAX) {
          self->first_mismatch_ = self->received_;
        }
      }
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    if (self->received_ == self->total_ && !self->closed_) {
      EXPECT_EQ(tcp_close(pcb), ERR_OK);
      self->closed_ = true;
    }
    return ERR_OK;
  }

  tcp_pcb* pcb_ = nullptr;
  const size_t total_;
  size_t sent_ = 0;
  size_t received_ = 0;
  size_t first_mismatch_ = SIZE_MAX;
  bool server_closed_ = false;
  bool closed_ = false;
  bool failed_ = false;
};

TEST(LwipTcp, EchoesOneMebibyteIntact) {
  BackToBackLink link("10.0.0.1", "10.0.0.2");
  EchoServer server(link.b(), kEchoPort);
  EchoClient client(link.a(), Ip4("10.0.0.2"), kEchoPort, kTransferBytes);

  ASSERT_TRUE(link.RunUntil([&] { return client.done() || client.failed(); }, 60 * 1000))
      << "received " << client.received() << " of " << kTransferBytes;
  EXPECT_FALSE(client.failed());
  EXPECT_FALSE(server.failed());
  EXPECT_EQ(client.received(), kTransferBytes);
  EXPECT_EQ(server.echoed(), kTransferBytes);
  EXPECT_EQ(client.first_mismatch(), SIZE_MAX) << "first wrong byte at offset";
  EXPECT_TRUE(server.closed());
}

TEST(LwipTcp, EchoesOneMebibyteIntactOverLossyLink) {
  BackToBackLink link("10.0.0.1", "10.0.0.2");
  link.set_drop_every(97);  // about 1%, in both directions, SYNs included
  EchoServer server(link.b(), kEchoPort);
  EchoClient client(link.a(), Ip4("10.0.0.2"), kEchoPort, kTransferBytes);

  // Retransmission timeouts start at 1-3 s of fake time; give it minutes.
  ASSERT_TRUE(link.RunUntil([&] { return client.done() || client.failed(); }, 10 * 60 * 1000))
      << "received " << client.received() << " of " << kTransferBytes;
  EXPECT_FALSE(client.failed());
  EXPECT_FALSE(server.failed());
  EXPECT_EQ(client.received(), kTransferBytes);
  EXPECT_EQ(client.first_mismatch(), SIZE_MAX) << "first wrong byte at offset";
}

}  // namespace
}  // namespace uk::lwip_test
