// lwIP's DHCP client against a minimal DHCP server on the other end of a
// back-to-back link: DISCOVER, OFFER, REQUEST, ACK, then the address is
// bound and the netif status callback reports it.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "lwip/def.h"
#include "lwip/dhcp.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"
#include "lwip/udp.h"
#include "third_party/lwip/test_link.h"

namespace uk::lwip_test {
namespace {

constexpr uint16_t kServerPort = 67;
constexpr uint16_t kClientPort = 68;
constexpr uint8_t kBootRequest = 1;

// Answers DISCOVER with OFFER and REQUEST with ACK, always for kOffered,
// and counts what it saw. Just enough of RFC 2131 for lwIP's client.
class TinyDhcpServer {
 public:
  static constexpr const char* kOffered = "10.0.0.100";
  static constexpr const char* kServer = "10.0.0.2";

  explicit TinyDhcpServer(netif* nif) : netif_(nif) {
    pcb_ = udp_new();
    EXPECT_EQ(udp_bind(pcb_, IP4_ADDR_ANY, kServerPort), ERR_OK);
    udp_bind_netif(pcb_, nif);
    udp_recv(pcb_, &TinyDhcpServer::Receive, this);
  }
  ~TinyDhcpServer() { udp_remove(pcb_); }

  int discovers() const { return discovers_; }
  int requests() const { return requests_; }

 private:
  static void Receive(void* arg, udp_pcb*, pbuf* p, const ip_addr_t*, u16_t) {
    auto* self = static_cast<TinyDhcpServer*>(arg);
    dhcp_msg request;
    std::memset(&request, 0, sizeof(request));
    pbuf_copy_partial(p, &request,
                      static_cast<u16_t>(std::min<size_t>(p->tot_len, sizeof(request))), 0);
    pbuf_free(p);
    if (request.op != kBootRequest || request.cookie != PP_HTONL(DHCP_MAGIC_COOKIE)) return;
    switch (MessageType(request)) {
      case DHCP_DISCOVER:
        ++self->discovers_;
        self->Reply(request, DHCP_OFFER);
        break;
      case DHCP_REQUEST:
        ++self->requests_;
        self->Reply(request, DHCP_ACK);
        break;
      default:
        break;
    }
  }

  static int MessageType(const dhcp_msg& message) {
    const uint8_t* option = message.options;
    const uint8_t* end = message.options + sizeof(message.options);
    while (option < end && *option != DHCP_OPTION_END) {
      if (*option == DHCP_OPTION_PAD) {
        ++option;
        continue;
      }
      if (option + 2 >= end) break;
      if (option[0] == DHCP_OPTION_MESSAGE_TYPE && option[1] == 1) return option[2];
      option += 2 + option[1];
    }
    return -1;
  }

  void Reply(const dhcp_msg& request, uint8_t type) {
    dhcp_msg reply;
    std::memset(&reply, 0, sizeof(reply));
    reply.op = DHCP_BOOTREPLY;
    reply.htype = request.htype;
    reply.hlen = request.hlen;
    reply.xid = request.xid;
    reply.flags = request.flags;
    ip4_addr_t offered;
    ip4_addr_t server;
    ip4addr_aton(kOffered, &offered);
    ip4addr_aton(kServer, &server);
    std::memcpy(&reply.yiaddr, &offered, sizeof(offered));
    std::memcpy(reply.chaddr, request.chaddr, sizeof(reply.chaddr));
    reply.cookie = PP_HTONL(DHCP_MAGIC_COOKIE);

    uint8_t* option = reply.options;
    auto put = [&option](uint8_t code, const void* value, uint8_t length) {
      *option++ = code;
      *option++ = length;
      std::memcpy(option, value, length);
      option += length;
    };
    const uint32_t lease_seconds = PP_HTONL(3600);
    const uint8_t netmask[4] = {255, 255, 255, 0};
    put(DHCP_OPTION_MESSAGE_TYPE, &type, 1);
    put(DHCP_OPTION_SERVER_ID, &server, 4);
    put(DHCP_OPTION_LEASE_TIME, &lease_seconds, 4);
    put(DHCP_OPTION_SUBNET_MASK, netmask, 4);
    put(DHCP_OPTION_ROUTER, &server, 4);
    *option = DHCP_OPTION_END;

    pbuf* p = pbuf_alloc(PBUF_TRANSPORT, sizeof(reply), PBUF_RAM);
    ASSERT_NE(p, nullptr);
    pbuf_take(p, &reply, sizeof(reply));
    // The client has no address yet: broadcast, out of this end explicitly.
    EXPECT_EQ(udp_sendto_if(pcb_, p, IP4_ADDR_BROADCAST, kClientPort, netif_), ERR_OK);
    pbuf_free(p);
  }

  netif* netif_;
  udp_pcb* pcb_ = nullptr;
  int discovers_ = 0;
  int requests_ = 0;
};

TEST(LwipDhcp, ClientBindsOfferedAddressAndReportsIt) {
  BackToBackLink link("0.0.0.0", TinyDhcpServer::kServer);
  TinyDhcpServer server(link.b());
  static int status_calls;
  status_calls = 0;
  netif_set_status_callback(link.a(), [](netif*) { ++status_calls; });

  ASSERT_EQ(dhcp_start(link.a()), ERR_OK);
  EXPECT_TRUE(link.RunUntil([&] { return dhcp_supplied_address(link.a()) != 0; }, 10 * 1000));

  EXPECT_EQ(server.discovers(), 1);
  EXPECT_EQ(server.requests(), 1);
  EXPECT_STREQ(ip4addr_ntoa(netif_ip4_addr(link.a())), TinyDhcpServer::kOffered);
  EXPECT_STREQ(ip4addr_ntoa(netif_ip4_netmask(link.a())), "255.255.255.0");
  EXPECT_STREQ(ip4addr_ntoa(netif_ip4_gw(link.a())), TinyDhcpServer::kServer);
  EXPECT_GE(status_calls, 1);

  dhcp_release_and_stop(link.a());
  link.Deliver();
  dhcp_cleanup(link.a());
}

}  // namespace
}  // namespace uk::lwip_test
