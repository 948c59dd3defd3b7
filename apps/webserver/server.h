#pragma once
// The web server application: an accept loop and one thread per connection
// on the HTTP core, all parked in blocking socket and file calls while they
// wait, plus a watchdog that ends idle and slow connections.
//
// Each connection thread reads requests into its buffer, answers them in
// order (pipelined requests included) and keeps the connection open while
// the client asks for it. File bytes are lent by the fs service (cache
// pages, 64 KiB per lease) and sent from there by reference: the net service
// queues pointers, and the bytes are copied once, into the NIC's transmit
// slot. Only the response head is written here. A response's last pieces go
// out with the receive of the next request (NetClient::SendRecv), and the
// lease the net service gives back is ended by the next Lend: four ring
// messages per keep-alive GET of a small or 64 KiB file.
//
// Limits (ServerConfig) bound the request line, headers, connections and
// time: past them a client gets 4xx/503 and is closed, and others go on.
// The watchdog that enforces the time limits sleeps until the earliest
// connection's deadline, and with no connection arms no timer at all.
// docs/webserver.md lists every limit and what a client sees at it.

#include <cstdint>

#include "apps/webserver/access_log.h"
#include "ipc/stat_counter.h"
#include "services/fs/fs_client.h"
#include "services/net/net_client.h"
#include "services/net/tcp_server.h"
#include "services/runtime/service.h"

namespace uk::web {

uint64_t NowMs();  // the scheduler clock, in ms since boot

struct ServerConfig {
  uint32_t net_core = 1, fs_core = 1, http_core = 1;
  svc::Address net, fs;
  bool has_site = false;  // false: the built-in status site
  uint16_t port = 80;
  uint32_t max_connections = 512;
  // Connections one address may hold at once; more get 503. Not applied to
  // the network's gateway: under QEMU's user networking (and behind a NAT)
  // every client arrives from that one address.
  uint32_t max_connections_per_client = 128;
  uint64_t idle_timeout_ms = 30000;     // keep-alive with no request under way
  // From a request's first byte to its end (slowloris), and from the
  // connection's opening to its first byte.
  uint64_t request_timeout_ms = 10000;
  uint64_t send_timeout_ms = 20000;  // a response's send that makes no progress
  uint64_t linger_ms = 2000;         // reading and discarding after an error answer
  uint64_t unix_time_at_boot = 0;       // for Date; 0 = no clock (no Date sent)
};

class Server {
 public:
  explicit Server(const ServerConfig& config);

  // Waits (briefly) for an address, listens and says where. False if it
  // cannot listen.
  bool Listen();
  // The HTTP core's main thread: starts the watchdog, accepts forever.
  static void Run(void* self);
  // A graceful shutdown (kernel/top/shutdown.h), on the HTTP core: stops
  // accepting, ends idle keep-alive connections, gives responses in flight
  // kDrainMs to finish, then cuts the rest and waits (at most kDrainMs
  // more) for their threads to close them.
  static constexpr uint64_t kDrainMs = 2000;
  void Drain();

  const ServerConfig& config() const { return config_; }
  // Wall-clock seconds, or 0 without a clock.
  uint64_t now() const {
    return config_.unix_time_at_boot == 0 ? 0 : config_.unix_time_at_boot + NowMs() / 1000;
  }
  net::NetClient& net() { return net_; }
  fs::FsClient& fs() { return fs_; }
  AccessLog& log() { return log_; }

  // What a connection is doing, which decides its deadline (Deadline()).
  enum class Phase : uint8_t {
    kIdle,       // waiting for a request's first byte: keep-alive (or first-byte) limit
    kRequest,    // a request is arriving: the request limit from its first byte
    kSending,    // answering: the send limit from the last send that completed
    kLingering,  // write side shut after an error answer: reading what still comes
  };

  // Connections register while open, so the watchdog can see them.
  struct Connection {
    Server* server = nullptr;
    uint32_t socket = 0;
    uint32_t peer_ip = 0;  // network byte order
    void* state = nullptr;  // the connection's buffers (connection.cc), allocated on accept
    Phase phase = Phase::kIdle;
    uint64_t phase_started_ms = 0;  // kSending: the last send that completed
    uint64_t last_activity_ms = 0;
    bool any_request = false;  // a byte has arrived: the keep-alive limit applies when idle
    bool timed_out = false;
    // How its thread closes it: kAbort once it was cut for misbehaving or
    // evicted (KillMode), so lwIP frees its queued data at once.
    net::CloseMode close_mode = net::CloseMode::kGraceful;
    Connection* prev = nullptr;
    Connection* next = nullptr;
  };
  void Register(Connection* connection);
  void Unregister(Connection* connection);
  // `connection` enters `phase` now (a request's first bytes, or a
  // pipelined one already buffered: the 10 s limit starts; a response; ...).
  void EnterPhase(Connection* connection, Phase phase);
  // A send completed: a response's send limit starts again.
  void SendProgressed(Connection* connection);
  uint32_t open_connections() const { return static_cast<uint32_t>(open_.Get()); }
  uint64_t served() const { return served_; }
  void CountRequest() { ++served_; }
  uint64_t refused_busy() const { return refused_busy_; }
  uint64_t refused_memory() const { return refused_memory_; }
  uint64_t evicted_idle() const { return evicted_idle_; }
  uint64_t refused_per_client() const { return refused_per_client_; }
  // File bytes of responses: sent from the fs cache by reference (no copy
  // before the NIC's buffers), or read into the connection's buffer first
  // (the fallback when lending is at its limits: two copies before them).
  void CountFileBytes(uint64_t by_reference, uint64_t copied) {
    file_bytes_by_reference_ += by_reference;
    file_bytes_copied_ += copied;
  }
  uint64_t file_bytes_by_reference() const { return file_bytes_by_reference_; }
  uint64_t file_bytes_copied() const { return file_bytes_copied_; }

 private:
  static void Watchdog(void* self);
  // TcpServer's handler: a thread for the connection, or a 503 if memory is short.
  static void Accepted(void* self, const net::Peer& peer);
  static void ServeThread(void* connection);
  // When `connection` times out (ms since boot): its request's limit while
  // one arrives, else the keep-alive limit.
  uint64_t Deadline(const Connection& connection) const;
  // How a connection the watchdog cuts in its current phase is closed.
  static net::CloseMode KillMode(const Connection& connection);
  // A deadline may now come before the watchdog's: wake it to look again.
  void DeadlineMayBeEarlier(const Connection& connection);
  // All slots are taken: cut the idle connection that has waited longest
  // (not `except`). False if none is idle.
  bool EvictIdle(const Connection* except);
  // `connection`'s address holds more than its share (the gateway aside).
  bool OverClientLimit(const Connection& connection);
  // Shuts down the open connections (only the idle ones if `idle_only`)
  // that nobody is closing yet; returns how many.
  uint32_t CutConnections(bool idle_only);
  // Out of memory for a connection: a 503 if it fits in the send buffer at
  // once, then close.
  void RefuseForMemory(uint32_t socket);

  const ServerConfig config_;
  net::NetClient net_;
  fs::FsClient fs_;
  AccessLog log_;
  net::TcpServer tcp_;  // the listener and its accept loop
  // Touched only by threads of the HTTP core (cooperative: no lock needed).
  Connection* connections_ = nullptr;
  // Written only by the http core, read by core 0 (the console's `s` key)
  // and the status page: StatCounters, so those reads are not data races.
  ipc::StatCounter open_;
  ipc::StatCounter served_;
  ipc::StatCounter refused_busy_, refused_memory_, evicted_idle_, refused_per_client_;
  ipc::StatCounter file_bytes_by_reference_, file_bytes_copied_;
  uint32_t gateway_ = 0;  // network byte order; 0 until the address is configured
  sched::Thread* watchdog_ = nullptr;
  uint64_t watchdog_deadline_ms_ = 0;  // what it sleeps until; UINT64_MAX: none; 0: awake
};

}  // namespace uk::web
