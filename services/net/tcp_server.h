#pragma once
// A TCP server's listen-and-accept loop, for applications (apps/echo,
// apps/webserver): listen on a port, then accept forever on the calling
// thread and hand each connection to the application's handler, which
// decides what serves it (usually a thread of its own).
//
// A failed accept (the net service out of memory or sockets, say) is
// logged and retried after kRetryDelayNs: the error may last, and retrying at
// once would keep the core busy logging it. The loop ends only after Stop()
// (a graceful shutdown, kernel/top/shutdown.h).
//
// Kernel-only: it logs through kernel/lib's Log, which kernel/top defines.

#include <cstdint>

#include "services/net/net_client.h"

namespace uk::net {

// Called on the accepting thread for each accepted connection. From then on
// the handler owns `peer.handle` and must close it, now or later; the next
// accept is asked for once the handler returns.
using ConnectionHandler = void (*)(void* context, const Peer& peer);

class TcpServer {
 public:
  static constexpr uint64_t kRetryDelayNs = 10 * 1000000;  // after a failed accept

  // `name` begins the server's console lines ("echo: accept failed: ...").
  TcpServer(NetClient client, const char* name) : client_(client), name_(name) {}

  // Listens on `port`, with up to `backlog` connections waiting to be
  // accepted. If it cannot, prints "<name>: cannot listen on port <port>:
  // <error>" and returns false.
  bool Listen(uint16_t port, uint16_t backlog);

  // After Listen: accepts on the calling thread, calling handler(context,
  // peer) for each connection, until Stop().
  void AcceptForever(ConnectionHandler handler, void* context);
  // Closes the listener: no new connections; AcceptForever returns. From a
  // thread of the accepting thread's core.
  void Stop();

  NetClient& client() { return client_; }

 private:
  NetClient client_;
  const char* const name_;
  uint32_t listener_ = 0;
  bool stopped_ = false;
};

}  // namespace uk::net
