#pragma once
// The net service's socket table: lwIP raw-API TCP connections and
// listeners behind handles, and the requests (net_protocol.h) waiting on
// them.
//
// Handles are index + generation, kept here rather than in svc::HandleTable:
// a closed socket's handle is dead at once, but its slot stays taken until
// Complete() has answered what waited on it (the slot still holds the
// waiting messages); the dirty list, the listeners' backlog FIFOs and lwIP's
// callbacks reach sockets by index; and a freed slot keeps its dirty flag
// while it is still listed.
//
// lwIP's callbacks (accept, recv, sent, err) only record what happened on
// the socket and mark it dirty; Complete() later answers whatever waiting
// requests can now finish. So replies are sent from one place, after lwIP
// has returned, never from inside its input path.
//
// Flow control: received data stays in lwIP's pbufs until an application
// reads it, and only then is the TCP window reopened (tcp_recved): a slow
// reader slows its sender instead of filling memory.
//
// Sending: a Send that found no room (send buffer full, or lwIP's heap out
// of memory: ERR_MEM) waits; lwIP's sent callback and a poll callback every
// second (kPollTicks) retry it, so it goes on once memory is free even if
// its peer sends nothing. A closed connection keeps its unsent and unacked
// data for at most kClosedSendLimitTicks (a zero-window peer would
// otherwise hold it for minutes); a Close marked kAbortive drops it at once.
//
// Sending by reference (net_protocol.h, TcpSendRecvRequest): a socket counts
// the bytes it gave lwIP (`queued`) and those the peer acknowledged
// (`acked`, from the sent callback), and keeps each exchange's return
// notice with the `queued` count just past its last referenced byte. A
// notice is due once `acked` reaches it, or at once when lwIP drops the
// connection (reset, abort): then no segment points at the bytes any more.
// Due notices wait in one list for the service to send (TakeReturns). A
// socket closed with notices pending is not freed: its slot lingers, still
// receiving lwIP's sent and error callbacks (its handle is dead already),
// until the last notice is due, and the closed-send limit aborts it like any
// closed connection.
//
// Single-threaded: only the net service thread calls anything here.

#include <algorithm>
#include <cstdint>

#include "ipc/message.h"
#include "services/net/net_protocol.h"

struct tcp_pcb;
struct pbuf;

namespace uk::net {

struct SocketStats {
  uint64_t accepted = 0;
  uint64_t refused_full = 0;  // connections aborted: table or backlog full
  uint64_t resets = 0;        // connections lost to RST or abort
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t send_retries = 0;  // parked Sends retried by the poll callback
  uint64_t bytes_by_reference = 0;  // bytes queued by pointer, without a copy
  uint64_t returns = 0;             // return notices sent
};

// A return notice (net_protocol.h): `token` to the service at `to`, as a
// message of kind `kind`.
struct ReturnNotice {
  uint32_t to = 0;  // svc::Address, packed
  uint16_t kind = 0;
  uint16_t reserved = 0;
  uint32_t token = 0;
};

class SocketTable {
 public:
  static constexpr uint32_t kMaxSockets = 1024;
  // Connections lwIP accepted that the application has not taken yet, per
  // listener (the listen request's backlog, up to this).
  static constexpr uint32_t kMaxBacklog = 512;
  // lwIP's poll interval for connections, in its 500 ms slow-timer runs.
  static constexpr uint8_t kPollTicks = 2;
  // How long (slow-timer ticks: 20 s) a connection the application closed
  // may keep unsent or unacknowledged data before it is aborted (RST).
  static constexpr uint32_t kClosedSendLimitTicks = 40;
  // The smallest segment sent on an accepted connection, whatever MSS the
  // peer announced: 536, the size every IPv4 host must take (RFC 1122; IP
  // fragments it on a smaller path). An MSS of 1 would otherwise cost a
  // frame per byte, and a segment per byte overflows lwIP's per-connection
  // segment queue (TCP_SND_QUEUELEN) before one send buffer is queued, so
  // nothing was ever sent. Linux has the same floor idea (tcp_min_snd_mss).
  static constexpr uint16_t kMinSendMss = 536;

  SocketTable();
  SocketTable(const SocketTable&) = delete;
  SocketTable& operator=(const SocketTable&) = delete;

  // One handler per request (net_protocol.h), called by NetService's
  // routes. The bool ones return true if `reply` is the answer now; false if
  // the request waits (`message` is kept and answered by a later Complete()).
  HandleReply Listen(const TcpListenRequest& request);
  bool Accept(const TcpAcceptRequest& request, const ipc::Message& message, PeerReply* reply);
  bool Connect(const TcpConnectRequest& request, const ipc::Message& message, HandleReply* reply);
  bool Send(const TcpSendRequest& request, const ipc::Message& message, CountReply* reply);
  bool Recv(const TcpRecvRequest& request, const ipc::Message& message, CountReply* reply);
  bool SendRecv(const TcpSendRecvRequest& request, const ipc::Message& message,
                ExchangeReply* reply);
  StatusReply Shutdown(const TcpShutdownRequest& request);
  StatusReply Close(const TcpCloseRequest& request);

  // Answers the waiting requests that can finish:
  // reply_fn(waiting request, encoded reply), e.g. with svc::Reply.
  template <typename ReplyFn>
  void Complete(ReplyFn&& reply_fn) {
    while (dirty_count_ > 0) {
      const uint32_t index = dirty_[--dirty_count_];
      Socket& s = sockets_[index];
      s.dirty = false;
      ipc::Message waiting, reply;
      while (Progress(index, &waiting, &reply)) reply_fn(waiting, reply);
      if (s.closing) Free(index);
    }
  }

  // Offers each due return notice, oldest first, to send_fn(notice), which
  // returns false if it could not be sent now (a full ring); that one and
  // the rest wait for the next call.
  template <typename SendFn>
  void TakeReturns(SendFn&& send_fn) {
    uint32_t sent = 0;
    while (sent < due_count_ && send_fn(due_[sent])) ++sent;
    std::copy(due_ + sent, due_ + due_count_, due_);
    due_count_ -= sent;
    stats_.returns += sent;
  }
  bool returns_due() const { return due_count_ > 0; }

  const SocketStats& stats() const { return stats_; }
  uint32_t open_sockets() const { return open_; }

 private:
  // kLingering: closed, freed but for lwIP's callbacks, which still come
  // while segments point at bytes sent by reference.
  enum class Kind : uint8_t { kFree, kListener, kConnection, kLingering };
  static constexpr uint32_t kMaxReturns = TcpSendRecvRequest::kMaxReturns;
  static constexpr uint32_t kNoSocket = UINT32_MAX;

  // A request that waits, with the message it came in (to reply to it) and,
  // for a send or a receive, the caller's buffer. An exchange
  // (TcpSendRecvRequest) waits first as a send, then as a receive.
  struct Waiting {
    bool active = false;
    bool exchange = false;
    bool copy_all = false;  // an exchange with no room for its notice: copy every piece
    ipc::Message message;
    uint64_t address = 0;   // a send's bytes, or an exchange's SendPiece list
    uint32_t length = 0;    // bytes to send, over all pieces
    uint32_t done = 0;      // send: bytes already taken; an exchange's receive: bytes it sent
    uint16_t piece_count = 0;  // an exchange's send: its pieces; 0 for a plain send
    uint16_t piece = 0;        // the piece `done` is in, and bytes of it already taken
    uint32_t piece_done = 0;
    ReturnNotice notice = {};
    uint64_t then_address = 0;  // an exchange's send: the receive that follows
    uint32_t then_length = 0;
  };
  struct PendingReturn {
    uint64_t end = 0;  // due when the socket's `acked` reaches this
    ReturnNotice notice = {};
  };

  struct Socket {
    SocketTable* table = nullptr;  // for lwIP's callbacks, whose arg is the socket
    uint32_t index = 0;
    Kind kind = Kind::kFree;
    uint16_t generation = 0;
    bool dirty = false;
    bool connecting = false;
    bool peer_closed = false;     // FIN received: reads end after the data
    bool write_shut = false;
    bool read_shut = false;
    bool closing = false;         // the application closed it; freed once answered
    Error error = Error::kOk;     // set when lwIP dropped the connection
    tcp_pcb* pcb = nullptr;       // null once lwIP has freed it
    pbuf* received = nullptr;     // unread data, oldest first
    // Listener: connections accepted by lwIP, not yet by the application, a
    // FIFO chained through the connections' backlog_next.
    uint32_t backlog_head = kNoSocket, backlog_tail = kNoSocket;
    uint32_t backlog_count = 0, backlog_limit = 0;
    uint32_t backlog_next = kNoSocket;  // connection: the next one in its listener's FIFO
    Waiting accept, recv, send, connect;
    // Sending by reference (see the top).
    uint64_t queued = 0, acked = 0;
    PendingReturn returns[kMaxReturns];
    uint32_t return_count = 0;
    bool exchange_return = false;      // the last of `returns` is the running exchange's
    bool lingering = false;            // closed, lwIP still holds referenced bytes
    tcp_pcb* lingering_pcb = nullptr;  // the PCB it watches meanwhile
    uint32_t closed_at = 0;            // tcp_ticks of the close
  };

  // lwIP callbacks (C function pointers); `arg` is the Socket.
  static int8_t OnAccept(void* arg, tcp_pcb* pcb, int8_t err);
  static int8_t OnConnected(void* arg, tcp_pcb* pcb, int8_t err);
  static int8_t OnReceive(void* arg, tcp_pcb* pcb, pbuf* p, int8_t err);
  static int8_t OnSent(void* arg, tcp_pcb* pcb, uint16_t length);
  static void OnError(void* arg, int8_t err);
  static int8_t OnPoll(void* arg, tcp_pcb* pcb);
  // The poll callback of a closed connection that still had data queued;
  // `arg` is the tcp_ticks of the close, not a socket.
  static int8_t OnClosedPoll(void* arg, tcp_pcb* pcb);

  // The socket behind a handle, or nullptr.
  Socket* Find(uint32_t handle, uint32_t* index);
  uint32_t HandleOf(uint32_t index) const;
  int32_t Allocate(Kind kind);
  void Attach(uint32_t index, tcp_pcb* pcb);
  void Free(uint32_t index);
  void MarkDirty(uint32_t index);
  // Ends the connection on the lwIP side (close, or abort if that fails).
  void Detach(Socket& s, bool abort);

  // One step of the waiting requests of socket `index`: true with the
  // message and the encoded reply of a request that finished.
  bool Progress(uint32_t index, ipc::Message* message, ipc::Message* reply);
  // Try to finish a receive / send / accept now. False: it must wait.
  bool TryRecv(Socket& s, const Waiting& recv, CountReply* reply);
  // An exchange whose send finished (`sent` is its CountReply): its reply
  // now (true), or it waits as a receive (false).
  bool ContinueExchange(Socket& s, const Waiting& send, const CountReply& sent,
                        ExchangeReply* reply);
  bool TrySend(Socket& s, Waiting& send, bool nonblocking, CountReply* reply);
  // The piece of an exchange's send that `send.done` is in.
  static SendPiece PieceOf(const Waiting& send);
  // The exchange is answered now: its return notice stays pending if bytes
  // it sent by reference are still queued and unacknowledged (true: the
  // reply's `held`); otherwise it is dropped unsent and the caller owns the
  // bytes again.
  bool ResolveExchange(Socket& s);
  // Notices whose bytes are acknowledged become due; all of them when lwIP
  // has dropped the connection's segments (`dropped`).
  void SettleReturns(Socket& s, bool dropped);
  // A lingering slot whose last notice is due: let go of the PCB, free it.
  void EndLingering(Socket& s);
  bool TryAccept(Socket& s, PeerReply* reply);

  Socket sockets_[kMaxSockets];
  uint32_t dirty_[kMaxSockets];
  ReturnNotice due_[kMaxSockets * kMaxReturns];
  uint32_t due_count_ = 0;
  uint32_t dirty_count_ = 0;
  uint32_t open_ = 0;
  uint32_t next_free_hint_ = 0;
  SocketStats stats_;
};

}  // namespace uk::net
