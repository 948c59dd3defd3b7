#include "apps/webserver/server.h"

#include <new>

#include "apps/webserver/connection.h"
#include "kernel/lib/log.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/scheduler.h"

namespace uk::web {

uint64_t NowMs() { return sched::Scheduler::Current().NowNs() / 1000000; }

namespace {

// Memory that must still be free, as one block, after a connection's
// buffers are allocated, checked just before its thread is spawned. Not
// for the thread's stack (TrySpawn refuses when it cannot get one, and
// the stack may come out of this block); what it covers is
// what other code allocates with operator new, which panics when the heap
// is empty: the net and fs services' queued replies (services/runtime/call.cc,
// when a ring to this core is full) and the heap's refills, a page per
// size class on each of the HTTP, net and fs cores (8 classes x 3 cores x
// 4 KiB = 96 KiB). Short of it, the connection is refused.
constexpr size_t kServiceReserveBytes = 128 * 1024;

}  // namespace

Server::Server(const ServerConfig& config)
    : config_(config),
      net_(config.net),
      fs_(config.fs),
      tcp_(net::NetClient(config.net), "webserver") {}

bool Server::Listen() {
  // DHCP takes a few round trips; listening works before it is done, but
  // the address is worth printing.
  const uint32_t ip = net_.WaitForAddress(10000);
  if (!tcp_.Listen(config_.port, 512)) return false;  // it said why
  char text[16];
  Print("webserver: listening on http://%s:%u/ (%s; net on core %u, fs on core %u, http on core "
        "%u; %lu ms after boot)\n",
        ip != 0 ? net::FormatIp(ip, text) : "(no address yet)", config_.port,
        config_.has_site ? "serving the disk" : "built-in status site", config_.net_core,
        config_.fs_core, config_.http_core, NowMs());
  return true;
}

void Server::Run(void* arg) {
  auto& self = *static_cast<Server*>(arg);
  // Once, at start: without a watchdog the server cannot run (Spawn panics).
  self.watchdog_ =
      sched::Scheduler::Current().Spawn(&Watchdog, &self, "http-watchdog", sched::Joinable::kNo);
  self.tcp_.AcceptForever(&Accepted, &self);
  // Drain() stopped it: the shutdown thread powers the VM off once the
  // drain is done. Returning would end AppMain, which powers off at once.
  for (;;) sched::Scheduler::Current().Park();
}

void Server::Accepted(void* arg, const net::Peer& peer) {
  auto& self = *static_cast<Server*>(arg);
  // Nothing here may panic when memory runs out (operator new would):
  // every allocation is uk::Allocate, which answers nullptr, and a
  // connection that cannot get its memory is refused.
  const uint32_t socket = peer.handle;
  void* block = Allocate(sizeof(Connection));
  auto* connection = block != nullptr ? new (block) Connection{&self, socket, peer.ip} : nullptr;
  void* state = connection != nullptr ? NewConnectionState() : nullptr;
  void* reserve = state != nullptr ? Allocate(kServiceReserveBytes) : nullptr;
  if (reserve != nullptr) Free(reserve);
  if (connection != nullptr) connection->state = state;
  if (reserve == nullptr ||
      sched::Scheduler::Current().TrySpawn(&ServeThread, connection, "http-conn",
                                           sched::Joinable::kNo) == nullptr) {
    DeleteConnectionState(state);
    delete connection;
    self.RefuseForMemory(socket);
  }
}

void Server::ServeThread(void* arg) {
  auto* connection = static_cast<Connection*>(arg);
  Server& server = *connection->server;
  server.Register(connection);
  // All slots taken: an idle connection (one that sent nothing, or waits
  // between requests) makes room; if none is idle, 503.
  if (server.open_ > server.config_.max_connections && !server.EvictIdle(connection)) {
    ++server.refused_busy_;
    RefuseBusy(server, *connection);  // 503, then a lingering close
  } else if (server.OverClientLimit(*connection)) {
    ++server.refused_per_client_;
    RefuseBusy(server, *connection);
  } else {
    Serve(server, *connection);
  }
  (void)server.net_.Close(connection->socket, connection->close_mode);
  server.Unregister(connection);
  DeleteConnectionState(connection->state);
  delete connection;
}

void Server::Drain() {
  tcp_.Stop();
  const uint64_t open_at_start = open_;
  sched::Scheduler& scheduler = sched::Scheduler::Current();
  uint64_t deadline = NowMs() + kDrainMs;
  uint32_t cut = 0;
  while (open_ > 0 && NowMs() < deadline) {
    (void)CutConnections(/*idle_only=*/true);  // including those that just finished
    scheduler.SleepFor(10 * 1000000);
  }
  if (open_ > 0) {
    cut = CutConnections(/*idle_only=*/false);
    deadline = NowMs() + kDrainMs;
    while (open_ > 0 && NowMs() < deadline) scheduler.SleepFor(10 * 1000000);
  }
  Print("webserver: stopped accepting; %lu connections were open, %u cut mid-request or "
        "response, %lu still open\n",
        open_at_start, cut, open_.Get());
}

uint32_t Server::CutConnections(bool idle_only) {
  uint32_t total = 0;
  for (;;) {
    // Pick first, then shut down: each Shutdown is a call that lets the
    // connection threads run (as in Watchdog).
    constexpr int kBatch = 64;
    uint32_t picked[kBatch];
    int count = 0;
    for (Connection* c = connections_; c != nullptr && count < kBatch; c = c->next) {
      if (c->timed_out || (idle_only && c->phase != Phase::kIdle)) continue;
      c->timed_out = true;
      c->close_mode = idle_only ? net::CloseMode::kGraceful : net::CloseMode::kAbort;
      picked[count++] = c->socket;
    }
    if (count == 0) return total;
    for (int i = 0; i < count; ++i) {
      (void)net_.Shutdown(picked[i], net::kShutdownRead | net::kShutdownWrite);
    }
    total += static_cast<uint32_t>(count);
  }
}

bool Server::EvictIdle(const Connection* except) {
  Connection* victim = nullptr;
  for (Connection* c = connections_; c != nullptr; c = c->next) {
    if (c == except || c->timed_out || c->phase != Phase::kIdle) continue;
    if (victim == nullptr || c->last_activity_ms < victim->last_activity_ms) victim = c;
  }
  if (victim == nullptr) return false;
  // Its thread's blocked read returns end-of-stream and it closes, as when
  // the watchdog cuts it.
  victim->timed_out = true;
  victim->close_mode = net::CloseMode::kAbort;  // room is needed now, not after a FIN exchange
  ++evicted_idle_;
  (void)net_.Shutdown(victim->socket, net::kShutdownRead | net::kShutdownWrite);
  return true;
}

bool Server::OverClientLimit(const Connection& connection) {
  const uint32_t limit = config_.max_connections_per_client;
  if (open_ <= limit) return false;  // no address can hold more than there are
  if (gateway_ == 0) {
    const net::Result<net::Info> info = net_.GetInfo();
    if (info.ok()) gateway_ = info.value().gateway;
  }
  if (connection.peer_ip == gateway_) return false;
  uint32_t same = 0;  // `connection` included; a walk only while many are open
  for (const Connection* c = connections_; c != nullptr; c = c->next) {
    if (c->peer_ip == connection.peer_ip && ++same > limit) return true;
  }
  return false;
}

void Server::RefuseForMemory(uint32_t socket) {
  ++refused_memory_;
  char head[http::kGeneratedResponseBytes];
  const http::WriteResult<size_t> written = WriteBusyResponse(*this, head);
  if (written.ok()) {
    (void)net_.Send(socket, {reinterpret_cast<uint8_t*>(head), written.value()},
                    net::Blocking::kNo);
  }
  (void)net_.Shutdown(socket, net::kShutdownWrite);
  (void)net_.Close(socket);
  log_.Request("-", "-", 503, 0);
}

void Server::Register(Connection* c) {
  c->last_activity_ms = NowMs();
  c->next = connections_;
  if (connections_ != nullptr) connections_->prev = c;
  connections_ = c;
  ++open_;
  DeadlineMayBeEarlier(*c);  // always, if the watchdog is parked with nothing to watch
}

void Server::EnterPhase(Connection* c, Phase phase) {
  c->phase = phase;
  c->phase_started_ms = NowMs();
  if (phase == Phase::kIdle) c->last_activity_ms = c->phase_started_ms;
  DeadlineMayBeEarlier(*c);  // e.g. 10 s from now may come before an idle 30 s
}

void Server::SendProgressed(Connection* c) {
  c->phase_started_ms = NowMs();
  c->last_activity_ms = c->phase_started_ms;
  // Later than before: the watchdog finds it not due when it wakes.
}

// A connection cut while a response is stuck (send timeout) or while its
// request dribbles in (slowloris, or no first byte) is aborted: a graceful
// close would leave up to TCP_SND_BUF of queued data in lwIP's heap for as
// long as 20 s (services/net/sockets.h, kClosedSendLimitTicks) per cut
// connection, which is what a client that stops reading aims at. A
// keep-alive connection that idled out ended normally (its last response
// may still be on its way to a slow reader), and a lingering one has had
// its error answer and its FIN queued: both close gracefully.
net::CloseMode Server::KillMode(const Connection& c) {
  switch (c.phase) {
    case Phase::kSending:
    case Phase::kRequest:
      return net::CloseMode::kAbort;
    case Phase::kIdle:
      return c.any_request ? net::CloseMode::kGraceful : net::CloseMode::kAbort;
    case Phase::kLingering:
      return net::CloseMode::kGraceful;
  }
  return net::CloseMode::kGraceful;
}

uint64_t Server::Deadline(const Connection& c) const {
  switch (c.phase) {
    case Phase::kIdle:
      // A connection that never sent a byte gets the request limit, not
      // the keep-alive one: a client cannot park a slot for 30 s for free.
      return c.last_activity_ms +
             (c.any_request ? config_.idle_timeout_ms : config_.request_timeout_ms);
    case Phase::kRequest:
      return c.phase_started_ms + config_.request_timeout_ms;
    case Phase::kSending:
      return c.phase_started_ms + config_.send_timeout_ms;
    case Phase::kLingering:
      return c.phase_started_ms + config_.linger_ms;
  }
  return c.last_activity_ms;
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
  open_.Set(open_.Get() - 1);
  // The last one gone: the watchdog re-parks with no deadline, rather than
  // wake for a connection that is no more. (With others open it may still
  // wake once for a deadline that moved or left: at most one per deadline.)
  if (open_ == 0 && watchdog_deadline_ms_ != 0 && watchdog_deadline_ms_ != UINT64_MAX) {
    sched::Scheduler::Current().Unpark(watchdog_);
  }
}

// Sleeps until the earliest deadline of the open connections: a connection
// idle past the keep-alive timeout, whose request has been arriving for
// too long (a slowloris client), whose response makes no progress (a client
// that stopped reading) or that has lingered long enough, is shut down; its thread's blocked read
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
      c->close_mode = KillMode(*c);
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
