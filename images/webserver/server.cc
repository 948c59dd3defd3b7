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
  DeadlineMayBeEarlier(*c);  // always, if the watchdog is parked with nothing to watch
}

void Server::RequestStarted(Connection* c) {
  c->request_started_ms = NowMs();
  DeadlineMayBeEarlier(*c);  // 10 s from now may come before an idle 30 s
}

uint64_t Server::Deadline(const Connection& c) const {
  return c.request_started_ms != 0 ? c.request_started_ms + config_.request_timeout_ms
                                   : c.last_activity_ms + config_.idle_timeout_ms;
}

void Server::DeadlineMayBeEarlier(const Connection& c) {
  // Deadlines that move later (activity on a connection) need nothing: the
  // watchdog wakes at the old one, finds it not due and sleeps on.
  if (Deadline(c) < watchdog_deadline_ms_) sched::Scheduler::Current().Unpark(watchdog_);
}

void Server::Unregister(Connection* c) {
  if (c->prev != nullptr) c->prev->next = c->next;
  else connections_ = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  --open_;
  // The last one gone: the watchdog re-parks with no deadline, rather than
  // wake for a connection that is no more. (With others open it may still
  // wake once for a deadline that moved or left: at most one per deadline.)
  if (open_ == 0 && watchdog_deadline_ms_ != 0 && watchdog_deadline_ms_ != UINT64_MAX) {
    sched::Scheduler::Current().Unpark(watchdog_);
  }
}

// Sleeps until the earliest deadline of the open connections: a connection
// idle past the keep-alive timeout, or whose request has been arriving for
// too long (a slowloris client), is shut down; its thread's blocked read
// then returns end-of-stream and the thread closes it. With no connection
// the watchdog parks with no deadline, so an idle server arms no timer; a
// connection that opens, or starts a request, unparks it if its deadline
// comes first (DeadlineMayBeEarlier).
void Server::Watchdog(void* arg) {
  auto& self = *static_cast<Server*>(arg);
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  for (;;) {
    // Pick first, then shut down: each Shutdown is a call that lets the
    // connection threads run, and they may leave the list meanwhile. A
    // stale handle is refused by the net service (kBadHandle), harmlessly.
    constexpr int kBatch = 64;
    uint32_t expired[kBatch];
    int count = 0;
    uint64_t next = UINT64_MAX;
    const uint64_t now = NowMs();
    for (Connection* c = self.connections_; c != nullptr && count < kBatch; c = c->next) {
      if (c->timed_out) continue;  // its thread is closing it
      const uint64_t deadline = self.Deadline(*c);
      if (now < deadline) {
        next = deadline < next ? deadline : next;
        continue;
      }
      c->timed_out = true;
      expired[count++] = c->socket;
    }
    if (count > 0) {
      for (int i = 0; i < count; ++i) {
        (void)self.net_.Shutdown(expired[i], net::kShutdownRead | net::kShutdownWrite);
      }
      continue;  // the list may have changed meanwhile: look again
    }
    // Nothing runs between the scan and the park (cooperative threads), so
    // a deadline set after the scan sees watchdog_deadline_ms_ and unparks.
    self.watchdog_deadline_ms_ = next;
    scheduler.Park(next == UINT64_MAX ? sched::SleepQueue::kNever : next * 1000000);
    self.watchdog_deadline_ms_ = 0;  // awake: it scans before sleeping again
  }
}

}  // namespace uk::web
