// //images:udp_echo: a UDP echo server (RFC 862) on guest port 7. The
// network service runs on core 1, the echo thread on core 2 (with fewer
// cores, they share what there is); core 0 only starts them. The echo
// thread parks in a blocking recvfrom between datagrams, so an idle server
// halts every core.
//
//   bazel run //images:udp_echo      # then: nc -u 127.0.0.1 8007
//
// Prints "udp_echo: serving UDP on <ip> port 7" once it is bound; the
// runner prints the host port that QEMU forwards to it.

#include <cstdint>

#include "kernel/lib/log.h"
#include "kernel/top/app.h"
#include "services/net/net_client.h"
#include "services/net/start.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

constexpr uint16_t kEchoPort = 7;

struct Server {
  net::NetClient client;
  uint32_t socket;
  // Room for the largest datagram, so nothing is echoed truncated.
  uint8_t buffer[net::kMaxUdpPayload];
};

void EchoLoop(void* arg) {
  auto* server = static_cast<Server*>(arg);
  net::NetClient& client = server->client;
  for (;;) {
    const net::Result<net::Datagram> got = client.UdpRecvFrom(server->socket, server->buffer);
    if (!got.ok()) {
      // Only a closed socket or a lost service ends a blocking recvfrom.
      Log(LogLevel::kWarn, "udp_echo: recvfrom failed: %s", net::ErrorName(got.error()));
      return;
    }
    const net::Datagram& datagram = got.value();
    const net::Result<size_t> sent = client.UdpSendTo(
        server->socket, datagram.ip, datagram.port, {server->buffer, datagram.length});
    if (!sent.ok()) {
      // Out of memory for this one: UDP may lose it, the next goes on.
      Log(LogLevel::kWarn, "udp_echo: sendto failed: %s", net::ErrorName(sent.error()));
    }
  }
}

}  // namespace

int AppMain() {
  const net::AppPlacement placed = net::StartNetForApp("udp_echo");
  if (!placed.net.has_device) return 2;
  auto* server = new Server{net::NetClient(placed.net.address), 0, {}};
  const uint32_t ip = server->client.WaitForAddress(10000);
  const net::Result<net::UdpSocket> socket = server->client.UdpBind(kEchoPort);
  if (!socket.ok()) {
    Print("udp_echo: cannot bind UDP port %u: %s\n", kEchoPort, net::ErrorName(socket.error()));
    return 1;
  }
  server->socket = socket.value().handle;
  char text[16];
  Print("udp_echo: serving UDP on %s port %u (net service on core %u, echo on core %u)\n",
        ip != 0 ? net::FormatIp(ip, text) : "(no address yet)", kEchoPort, placed.net_core,
        placed.app_core);
  // The server runs until the VM is stopped.
  svc::RunOn(placed.app_core, [&] { EchoLoop(server); }, "udp-echo");
  return 1;  // the echo loop ended: its warning says why
}

}  // namespace uk
