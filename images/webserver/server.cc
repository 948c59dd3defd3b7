#include "images/webserver/server.h"

#include "images/webserver/connection.h"
#include "kernel/core/log.h"
#include "kernel/sched/scheduler.h"

namespace uk::web {

uint64_t NowMs() { return sched::Scheduler::Current().NowNs() / 1000000; }

Server::Server(const ServerConfig& config)
    : config_(config), net_(config.net), fs_(config.fs) {}

bool Server::Listen() {
  // DHCP takes a few round trips; listening works before it is done, but
  // the address is worth printing.
  const uint32_t ip = net_.WaitForAddress(10000);
  const net::Result<uint32_t> listener = net_.Listen(config_.port, 512);
  if (!listener.ok()) {
    Print("webserver: cannot listen on port %u: %s\n", config_.port,
          net::ErrorName(listener.error()));
    return false;
  }
  listener_ = listener.value();
  char text[16];
  Print("webserver: listening on http://%s:%u/ (%s; net on core %u, fs on core %u, http on core "
        "%u)\n",
        ip != 0 ? net::FormatIp(ip, text) : "(no address yet)", config_.port,
        config_.has_site ? "serving the disk" : "built-in status site", config_.net_core,
        config_.fs_core, config_.http_core);
  return true;
}

void Server::Run(void* arg) {
  auto& self = *static_cast<Server*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  self.watchdog_ = scheduler.Spawn(&Watchdog, &self, "http-watchdog", sched::Joinable::kNo);
  for (;;) {
    const net::Result<net::Peer> peer = self.net_.Accept(self.listener_);
    if (!peer.ok()) {
      Log(LogLevel::kWarn, "webserver: accept failed: %s", net::ErrorName(peer.error()));
      scheduler.SleepFor(10 * 1000000);
      continue;
    }
    auto* connection = new Connection{&self, peer.value().handle};
    scheduler.Spawn(&ServeThread, connection, "http-conn", sched::Joinable::kNo);
  }
}

void Server::ServeThread(void* arg) {
  auto* connection = static_cast<Connection*>(arg);
  Server& server = *connection->server;
  server.Register(connection);
  if (server.open_ > server.config_.max_connections) {
    RefuseBusy(server, *connection);  // 503, then close
  } else {
    Serve(server, *connection);
  }
  (void)server.net_.Close(connection->socket);
  server.Unregister(connection);
  delete connection;
}

void Server::Register(Connection* c) {
  c->last_activity_ms = NowMs();
  c->next = connections_;
  if (connections_ != nullptr) connections_->prev = c;
  connections_ = c;
  ++open_;
  // The watchdog parks while there is nothing to watch.
  if (open_ == 1) sched::Scheduler::Current().Unpark(watchdog_);
}

void Server::Unregister(Connection* c) {
  if (c->prev != nullptr) c->prev->next = c->next;
  else connections_ = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  --open_;
}

// Once a second while connections are open: a connection idle past the
// keep-alive timeout, or whose request has been arriving for too long (a
// slowloris client), is shut down; its thread's blocked read then returns
// end-of-stream and the thread closes it. With no connection the watchdog
// parks, so an idle server arms no timer.
void Server::Watchdog(void* arg) {
  auto& self = *static_cast<Server*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  for (;;) {
    if (self.open_ == 0) {
      scheduler.Park();
      continue;
    }
    scheduler.SleepFor(1000 * 1000000ull);
    // Pick first, then shut down: each Shutdown is a call that lets the
    // connection threads run, and they may leave the list meanwhile. A
    // stale handle is refused by the net service (kBadHandle), harmlessly.
    constexpr int kBatch = 64;
    uint32_t expired[kBatch];
    int count = 0;
    const uint64_t now = NowMs();
    for (Connection* c = self.connections_; c != nullptr && count < kBatch; c = c->next) {
      if (c->timed_out) continue;
      const bool slow = c->request_started_ms != 0 &&
                        now > c->request_started_ms + self.config_.request_timeout_ms;
      const bool idle = c->request_started_ms == 0 &&
                        now > c->last_activity_ms + self.config_.idle_timeout_ms;
      if (!slow && !idle) continue;
      c->timed_out = true;
      expired[count++] = c->socket;
    }
    for (int i = 0; i < count; ++i) {
      (void)self.net_.Shutdown(expired[i], net::kShutdownRead | net::kShutdownWrite);
    }
  }
}

}  // namespace uk::web
