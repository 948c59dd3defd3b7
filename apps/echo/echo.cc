// //images:echo: a TCP echo server. The network service runs on core 1, the
// echo application on core 2 (with fewer cores, they share what there is);
// core 0 only starts them. Each connection is a thread on the echo core that
// reads what arrives and writes it back, parked in the net service's
// blocking calls in between, so an idle server halts every core.
//
//   bazel run //images:echo          # then: tcp_rr, nc 127.0.0.1 8007, ...
//
// Prints "echo: listening on <ip> port 7" once the address is configured.
// A graceful shutdown (the power button or `q`, kernel/top/shutdown.h)
// closes the listener on the echo core and prints "echo: stopped
// accepting"; open connections end with the power-off.

#include <cstdint>
#include <new>

#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"
#include "kernel/top/app.h"
#include "kernel/top/shutdown.h"
#include "services/net/net_client.h"
#include "services/net/start.h"
#include "services/net/tcp_server.h"
#include "services/runtime/sched_service.h"

namespace uk {
namespace {

constexpr uint16_t kEchoPort = 7;
constexpr size_t kBufferSize = 16 * 1024;

struct Connection {
  net::NetClient* client;
  uint32_t socket;
};

void ServeConnection(void* arg) {
  auto* connection = static_cast<Connection*>(arg);
  net::NetClient& client = *connection->client;
  auto* buffer = new (std::nothrow) uint8_t[kBufferSize];
  for (;;) {
    if (buffer == nullptr) break;  // out of memory: the connection is closed
    const net::Result<size_t> n = client.Recv(connection->socket, {buffer, kBufferSize});
    if (!n.ok() || n.value() == 0) break;  // reset, or the peer finished
    if (!client.Send(connection->socket, {buffer, n.value()}).ok()) break;
  }
  (void)client.Close(connection->socket);
  delete[] buffer;
  delete connection;
}

// Each accepted connection gets a thread on the echo core.
void StartConnection(void* arg, const net::Peer& peer) {
  auto* server = static_cast<net::TcpServer*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  // Out of memory for the connection or its thread: it is closed.
  auto* connection = new (std::nothrow) Connection{&server->client(), peer.handle};
  if (connection == nullptr || scheduler.TrySpawn(&ServeConnection, connection, "echo-conn",
                                                  sched::Joinable::kNo) == nullptr) {
    (void)server->client().Close(peer.handle);
    delete connection;
  }
}

void AcceptLoop(void* arg) {
  static_cast<net::TcpServer*>(arg)->AcceptForever(&StartConnection, arg);
  // Stopped by the shutdown handler: the shutdown thread powers off once
  // the services have stopped. Returning would end AppMain, which powers
  // off at once.
  for (;;) sched::Scheduler::Current().Park();
}

// The shutdown handler: the listener belongs to the echo core's accept loop.
uint32_t echo_core = 0;
void StopAccepting(void* arg) {
  auto* server = static_cast<net::TcpServer*>(arg);
  svc::RunOn(echo_core, [server] { server->Stop(); }, "echo-stop");
  Print("echo: stopped accepting\n");
}

}  // namespace

int AppMain() {
  const net::AppPlacement placed = net::StartNetForApp("echo");
  if (!placed.net.has_device) return 2;
  auto* server = new net::TcpServer(net::NetClient(placed.net.address), "echo");

  // DHCP takes a few round trips; the listener works before it is done,
  // but the address is worth printing.
  const uint32_t ip = server->client().WaitForAddress(10000);
  if (!server->Listen(kEchoPort, 256)) return 1;  // it said why
  char text[16];
  Print("echo: listening on %s port %u (net service on core %u, echo on core %u)\n",
        ip != 0 ? net::FormatIp(ip, text) : "(no address yet)", kEchoPort, placed.net_core,
        placed.app_core);
  echo_core = placed.app_core;
  SetShutdownHandler(&StopAccepting, server);
  // The server runs until the VM is stopped.
  svc::RunOn(placed.app_core, [&] { AcceptLoop(server); }, "echo-accept");
  return 0;
}

}  // namespace uk
