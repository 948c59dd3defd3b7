#include "services/net/sockets.h"

#include <algorithm>

#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

namespace uk::net {
namespace {

constexpr uint32_t kIndexBits = 10;
static_assert(SocketTable::kMaxSockets == 1u << kIndexBits);
static_assert(TCP_SND_QUEUELEN >= 3 * (TCP_SND_BUF / SocketTable::kMinSendMss + 1),
              "a whole send buffer fits the segment queue at the smallest MSS, three pbufs "
              "per segment (header, two referenced runs)");

Error FromLwip(err_t err) {
  switch (err) {
    case ERR_OK: return Error::kOk;
    case ERR_MEM:
    case ERR_BUF: return Error::kNoMemory;
    case ERR_USE: return Error::kAddressInUse;
    case ERR_RST: return Error::kReset;
    case ERR_ABRT: return Error::kReset;
    case ERR_CLSD: return Error::kClosed;
    case ERR_CONN: return Error::kNotConnected;
    case ERR_TIMEOUT: return Error::kTimedOut;
    case ERR_VAL:
    case ERR_ARG: return Error::kInvalidArgument;
    default: return Error::kReset;
  }
}

}  // namespace

SocketTable::SocketTable() {
  for (uint32_t i = 0; i < kMaxSockets; ++i) {
    sockets_[i].table = this;
    sockets_[i].index = i;
  }
}

uint32_t SocketTable::HandleOf(uint32_t index) const {
  return (uint32_t{sockets_[index].generation} << kIndexBits) | index;
}

SocketTable::Socket* SocketTable::Find(uint32_t handle, uint32_t* index) {
  const uint32_t i = handle & (kMaxSockets - 1);
  Socket& s = sockets_[i];
  const bool open = s.kind == Kind::kListener || s.kind == Kind::kConnection;
  if (!open || s.closing || s.generation != (handle >> kIndexBits)) return nullptr;
  *index = i;
  return &s;
}

int32_t SocketTable::Allocate(Kind kind) {
  for (uint32_t n = 0; n < kMaxSockets; ++n) {
    const uint32_t i = (next_free_hint_ + n) % kMaxSockets;
    Socket& s = sockets_[i];
    if (s.kind != Kind::kFree) continue;
    // A freed socket may still sit in the dirty list: keep its flag so the
    // index is never listed twice.
    const uint16_t generation = s.generation;
    const bool dirty = s.dirty;
    s = Socket{};
    s.table = this;
    s.index = i;
    s.kind = kind;
    s.generation = generation;
    s.dirty = dirty;
    next_free_hint_ = i + 1;
    ++open_;
    return static_cast<int32_t>(i);
  }
  return -1;
}

void SocketTable::Attach(uint32_t index, tcp_pcb* pcb) {
  Socket& s = sockets_[index];
  s.pcb = pcb;
  tcp_arg(pcb, &s);
  tcp_recv(pcb, &OnReceive);
  tcp_sent(pcb, &OnSent);
  tcp_err(pcb, &OnError);
  tcp_poll(pcb, &OnPoll, kPollTicks);
  // No Nagle: applications here send whole messages (a web server's
  // response is one send), so holding the last partial segment until the
  // previous one is acknowledged only waits for the peer's delayed ACK.
  if (s.kind == Kind::kConnection) tcp_nagle_disable(pcb);
}

void SocketTable::Detach(Socket& s, bool abort) {
  tcp_pcb* pcb = s.pcb;
  if (pcb == nullptr) return;
  s.pcb = nullptr;
  tcp_arg(pcb, nullptr);
  if (s.kind == Kind::kListener) {
    tcp_accept(pcb, nullptr);
    tcp_close(pcb);  // a listener's close cannot fail
    return;
  }
  tcp_recv(pcb, nullptr);
  if (!abort && s.return_count > 0) {
    // Segments still point at bytes sent by reference: keep the sent and
    // error callbacks (and the socket as their arg) until the last notice
    // is due; OnPoll bounds that like OnClosedPoll does.
    s.lingering = true;
    s.lingering_pcb = pcb;
    s.closed_at = tcp_ticks;
    tcp_arg(pcb, &s);
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);  // OnError settles everything
    return;
  }
  tcp_sent(pcb, nullptr);
  tcp_err(pcb, nullptr);
  tcp_poll(pcb, nullptr, 0);
  if (!abort && (pcb->unsent != nullptr || pcb->unacked != nullptr)) {
    // Data still queued: lwIP sends it, then the FIN, for as long as the
    // peer takes; OnClosedPoll bounds that. Set before tcp_close, which may
    // free the PCB (then nothing is called).
    tcp_arg(pcb, reinterpret_cast<void*>(static_cast<uintptr_t>(tcp_ticks)));
    tcp_poll(pcb, &OnClosedPoll, kPollTicks);
  }
  if (abort || tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
  SettleReturns(s, /*dropped=*/true);  // only an abort leaves any: lwIP freed the segments
}

void SocketTable::Free(uint32_t index) {
  Socket& s = sockets_[index];
  if (s.kind == Kind::kListener) {
    // Connections accepted by lwIP but never taken by the application.
    for (uint32_t child = s.backlog_head; child != kNoSocket;) {
      const uint32_t next = sockets_[child].backlog_next;
      Detach(sockets_[child], /*abort=*/true);
      Free(child);
      child = next;
    }
    s.backlog_head = s.backlog_tail = kNoSocket;
    s.backlog_count = 0;
  }
  Detach(s, /*abort=*/false);
  if (s.received != nullptr) pbuf_free(s.received);
  s.received = nullptr;
  s.kind = s.lingering ? Kind::kLingering : Kind::kFree;
  s.closing = false;
  ++s.generation;
  --open_;
}

void SocketTable::MarkDirty(uint32_t index) {
  Socket& s = sockets_[index];
  if (s.dirty) return;
  s.dirty = true;
  dirty_[dirty_count_++] = index;
}

// ---- lwIP callbacks: record, mark dirty, nothing else ----

err_t SocketTable::OnAccept(void* arg, tcp_pcb* pcb, err_t err) {
  auto* listener = static_cast<Socket*>(arg);
  if (listener == nullptr || pcb == nullptr || err != ERR_OK) return ERR_VAL;
  SocketTable& table = *listener->table;
  if (listener->backlog_count >= listener->backlog_limit) {
    ++table.stats_.refused_full;
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  const int32_t index = table.Allocate(Kind::kConnection);
  if (index < 0) {
    ++table.stats_.refused_full;
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  if (pcb->mss < kMinSendMss) pcb->mss = kMinSendMss;
  table.Attach(static_cast<uint32_t>(index), pcb);
  const auto child = static_cast<uint32_t>(index);
  if (listener->backlog_tail == kNoSocket) listener->backlog_head = child;
  else table.sockets_[listener->backlog_tail].backlog_next = child;
  listener->backlog_tail = child;
  ++listener->backlog_count;
  ++table.stats_.accepted;
  table.MarkDirty(listener->index);
  return ERR_OK;
}

err_t SocketTable::OnConnected(void* arg, tcp_pcb*, err_t err) {
  auto* s = static_cast<Socket*>(arg);
  if (s == nullptr) return ERR_OK;
  s->connecting = false;
  if (err != ERR_OK) s->error = FromLwip(err);
  s->table->MarkDirty(s->index);
  return ERR_OK;
}

err_t SocketTable::OnReceive(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
  auto* s = static_cast<Socket*>(arg);
  if (s == nullptr) {  // detached: nobody will read it
    if (p != nullptr) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  if (p != nullptr && s->read_shut) {  // shut for reading: discard
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
  }
  if (p == nullptr) {
    s->peer_closed = true;  // FIN: reads return 0 once the data is consumed
  } else if (err != ERR_OK) {
    pbuf_free(p);
  } else {
    s->table->stats_.bytes_in += p->tot_len;
    if (s->received == nullptr) s->received = p;
    else pbuf_cat(s->received, p);  // unread <= TCP_WND <= 65535, so tot_len cannot wrap
  }
  s->table->MarkDirty(s->index);
  return ERR_OK;
}

err_t SocketTable::OnSent(void* arg, tcp_pcb*, uint16_t length) {
  auto* s = static_cast<Socket*>(arg);
  if (s == nullptr) return ERR_OK;
  s->acked += length;
  s->table->SettleReturns(*s, /*dropped=*/false);
  if (s->lingering) {
    if (s->return_count == 0) s->table->EndLingering(*s);
    return ERR_OK;
  }
  s->table->MarkDirty(s->index);
  return ERR_OK;
}

err_t SocketTable::OnPoll(void* arg, tcp_pcb* pcb) {
  auto* s = static_cast<Socket*>(arg);
  if (s != nullptr && s->lingering) {
    if (tcp_ticks - s->closed_at < kClosedSendLimitTicks) return ERR_OK;
    tcp_abort(pcb);  // OnError settles the notices and frees the slot
    return ERR_ABRT;
  }
  if (s != nullptr && s->send.active) {
    // A Send that stopped on ERR_MEM has no sent callback to wait for when
    // nothing of its own is in flight: retry it now and then.
    ++s->table->stats_.send_retries;
    s->table->MarkDirty(s->index);
  }
  return ERR_OK;
}

err_t SocketTable::OnClosedPoll(void* arg, tcp_pcb* pcb) {
  const auto closed_at = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg));
  if (pcb->unsent == nullptr && pcb->unacked == nullptr) return ERR_OK;  // only the FIN left
  if (tcp_ticks - closed_at < kClosedSendLimitTicks) return ERR_OK;
  tcp_abort(pcb);  // frees the queued data; the peer gets a RST
  return ERR_ABRT;
}

void SocketTable::OnError(void* arg, err_t err) {
  // lwIP has already freed the pcb.
  auto* s = static_cast<Socket*>(arg);
  if (s == nullptr) return;
  s->table->SettleReturns(*s, /*dropped=*/true);
  if (s->lingering) {
    s->lingering_pcb = nullptr;
    s->table->EndLingering(*s);
    return;
  }
  s->pcb = nullptr;
  s->error = s->connecting && err == ERR_RST ? Error::kRefused : FromLwip(err);
  s->connecting = false;
  ++s->table->stats_.resets;
  s->table->MarkDirty(s->index);
}

// ---- Requests ----
//
// Every request but Listen and Connect names a socket: an unknown or stale
// handle is kBadHandle before anything else is looked at.

bool SocketTable::Accept(const TcpAcceptRequest& request, const ipc::Message& message,
                         PeerReply* reply) {
  uint32_t index = 0;
  Socket* s = Find(request.listener, &index);
  if (s == nullptr) {
    *reply = {Error::kBadHandle};
  } else if (s->kind != Kind::kListener) {
    *reply = {Error::kInvalidArgument};
  } else if (s->accept.active) {
    *reply = {Error::kBusy};
  } else if (!TryAccept(*s, reply)) {
    if (request.flags & kNonBlocking) {
      *reply = {Error::kWouldBlock};
      return true;
    }
    s->accept = {.active = true, .message = message};
    return false;
  }
  return true;
}

bool SocketTable::Recv(const TcpRecvRequest& request, const ipc::Message& message,
                       CountReply* reply) {
  uint32_t index = 0;
  Socket* s = Find(request.socket, &index);
  const Waiting recv{.active = true,
                     .message = message,
                     .address = request.address,
                     .length = request.length};
  if (s == nullptr) {
    *reply = {Error::kBadHandle};
  } else if (s->kind == Kind::kListener || (request.address == 0 && request.length > 0)) {
    *reply = {Error::kInvalidArgument};
  } else if (s->recv.active) {
    *reply = {Error::kBusy};
  } else if (!TryRecv(*s, recv, reply)) {
    if (request.flags & kNonBlocking) {
      *reply = {Error::kWouldBlock};
      return true;
    }
    s->recv = recv;
    return false;
  }
  return true;
}

bool SocketTable::Send(const TcpSendRequest& request, const ipc::Message& message,
                       CountReply* reply) {
  uint32_t index = 0;
  Socket* s = Find(request.socket, &index);
  if (s == nullptr) {
    *reply = {Error::kBadHandle};
  } else if (s->kind == Kind::kListener || (request.address == 0 && request.length > 0)) {
    *reply = {Error::kInvalidArgument};
  } else if (s->send.active) {
    *reply = {Error::kBusy};
  } else {
    Waiting send{.active = true,
                 .message = message,
                 .address = request.address,
                 .length = request.length};
    if (TrySend(*s, send, (request.flags & kNonBlocking) != 0, reply)) return true;
    s->send = send;  // only a blocking send waits
    return false;
  }
  return true;
}

bool SocketTable::SendRecv(const TcpSendRecvRequest& request, const ipc::Message& message,
                           ExchangeReply* reply) {
  uint32_t index = 0;
  Socket* s = Find(request.socket, &index);
  if (s == nullptr) {
    *reply = {Error::kBadHandle};
    return true;
  }
  // The pieces are read once here (to check them) and again as they are
  // sent; the caller lends them unchanged until the reply.
  uint64_t total = 0;
  bool referenced = false;
  const auto* pieces = reinterpret_cast<const SendPiece*>(request.pieces);
  bool valid = s->kind == Kind::kConnection && request.pieces != 0 && request.piece_count > 0 &&
               request.piece_count <= TcpSendRecvRequest::kMaxPieces &&
               (request.recv_address != 0 || request.recv_length == 0);
  for (uint32_t i = 0; valid && i < request.piece_count; ++i) {
    valid = pieces[i].address != 0 || pieces[i].length == 0;
    total += pieces[i].length;
    referenced |= (pieces[i].flags & SendPiece::kByReference) != 0 && pieces[i].length > 0;
  }
  if (!valid || total > UINT32_MAX) {
    *reply = {Error::kInvalidArgument};
  } else if (s->send.active || s->recv.active) {
    *reply = {Error::kBusy};
  } else {
    s->send = {.active = true,
               .exchange = true,
               .copy_all = referenced && s->return_count == kMaxReturns,
               .message = message,
               .address = request.pieces,
               .length = static_cast<uint32_t>(total),
               .piece_count = request.piece_count,
               .notice = {request.return_to, request.return_kind, 0, request.return_token},
               .then_address = request.recv_address,
               .then_length = request.recv_length};
    CountReply sent;
    if (!TrySend(*s, s->send, /*nonblocking=*/false, &sent)) return false;  // waits as a send
    s->send.active = false;
    return ContinueExchange(*s, s->send, sent, reply);
  }
  return true;
}

bool SocketTable::ContinueExchange(Socket& s, const Waiting& send, const CountReply& sent,
                                   ExchangeReply* reply) {
  if (sent.error != Error::kOk || send.then_length == 0) {  // failed, or a send alone
    *reply = {sent.error, sent.count, 0, ResolveExchange(s)};
    return true;
  }
  const Waiting recv{.active = true,
                     .exchange = true,
                     .message = send.message,
                     .address = send.then_address,
                     .length = send.then_length,
                     .done = sent.count};
  CountReply received;
  if (TryRecv(s, recv, &received)) {
    *reply = {received.error, sent.count, received.error == Error::kOk ? received.count : 0,
              ResolveExchange(s)};
    return true;
  }
  s.recv = recv;
  return false;
}

bool SocketTable::ResolveExchange(Socket& s) {
  if (!s.exchange_return) return false;  // nothing went by reference
  s.exchange_return = false;
  const bool referenced = s.pcb != nullptr || s.lingering_pcb != nullptr;
  if (referenced && s.acked < s.returns[s.return_count - 1].end) return true;  // now pending
  --s.return_count;  // acknowledged, or dropped with the connection: no notice
  if (s.lingering && s.return_count == 0) EndLingering(s);
  return false;
}

void SocketTable::SettleReturns(Socket& s, bool dropped) {
  // The running exchange's notice waits for ResolveExchange.
  const uint32_t settled = s.return_count - (s.exchange_return ? 1 : 0);
  uint32_t due = 0;
  while (due < settled && (dropped || s.acked >= s.returns[due].end)) {
    due_[due_count_++] = s.returns[due].notice;  // room: kMaxReturns per socket
    ++due;
  }
  std::copy(s.returns + due, s.returns + s.return_count, s.returns);
  s.return_count -= due;
}

void SocketTable::EndLingering(Socket& s) {
  if (tcp_pcb* pcb = s.lingering_pcb; pcb != nullptr) {
    // Only a FIN (or nothing) left to send: lwIP finishes it alone.
    tcp_arg(pcb, reinterpret_cast<void*>(static_cast<uintptr_t>(s.closed_at)));
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
    tcp_poll(pcb, &OnClosedPoll, kPollTicks);
  }
  s.lingering = false;
  s.lingering_pcb = nullptr;
  if (s.kind == Kind::kLingering) s.kind = Kind::kFree;
}

HandleReply SocketTable::Listen(const TcpListenRequest& request) {
  if (request.port == 0) return {Error::kInvalidArgument};
  const int32_t index = Allocate(Kind::kListener);
  if (index < 0) return {Error::kTooManySockets};
  Socket& s = sockets_[index];
  tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  err_t err = pcb == nullptr ? err_t{ERR_MEM} : tcp_bind(pcb, IP4_ADDR_ANY, request.port);
  tcp_pcb* listening = nullptr;
  if (err == ERR_OK) {
    const uint8_t backlog = static_cast<uint8_t>(std::clamp<uint32_t>(request.backlog, 1, 255));
    listening = tcp_listen_with_backlog_and_err(pcb, backlog, &err);
  }
  if (listening == nullptr) {
    if (pcb != nullptr) tcp_abort(pcb);
    Free(static_cast<uint32_t>(index));
    return {err == ERR_OK ? Error::kNoMemory : FromLwip(err)};
  }
  s.pcb = listening;
  s.backlog_limit = std::clamp<uint32_t>(request.backlog, 1, kMaxBacklog);
  tcp_arg(listening, &s);
  tcp_accept(listening, &OnAccept);
  return {Error::kOk, HandleOf(static_cast<uint32_t>(index))};
}

bool SocketTable::Connect(const TcpConnectRequest& request, const ipc::Message& message,
                          HandleReply* reply) {
  if (request.port == 0 || request.ip == 0) {
    *reply = {Error::kInvalidArgument};
    return true;
  }
  const int32_t index = Allocate(Kind::kConnection);
  tcp_pcb* pcb = index < 0 ? nullptr : tcp_new_ip_type(IPADDR_TYPE_V4);
  if (pcb == nullptr) {
    if (index >= 0) Free(static_cast<uint32_t>(index));
    *reply = {Error::kTooManySockets};
    return true;
  }
  Socket& s = sockets_[index];
  Attach(static_cast<uint32_t>(index), pcb);
  ip_addr_t address;
  ip_addr_set_ip4_u32(&address, request.ip);
  s.connecting = true;
  const err_t err = tcp_connect(pcb, &address, request.port, &OnConnected);
  if (err != ERR_OK) {
    Free(static_cast<uint32_t>(index));
    *reply = {FromLwip(err)};
    return true;
  }
  s.connect = {.active = true, .message = message};
  return false;
}

StatusReply SocketTable::Shutdown(const TcpShutdownRequest& request) {
  uint32_t index = 0;
  Socket* socket = Find(request.socket, &index);
  if (socket == nullptr) return {Error::kBadHandle};
  Socket& s = *socket;
  const uint32_t how = request.how;
  if (s.kind != Kind::kConnection) return {Error::kNotConnected};
  if (how & kShutdownRead) {
    s.read_shut = true;
    if (s.received != nullptr) {
      if (s.pcb != nullptr) tcp_recved(s.pcb, s.received->tot_len);
      pbuf_free(s.received);
      s.received = nullptr;
    }
  }
  if ((how & kShutdownWrite) && !s.write_shut) {
    s.write_shut = true;
    if (s.pcb != nullptr) tcp_shutdown(s.pcb, 0, 1);  // sends FIN after queued data
  }
  MarkDirty(index);  // waiting reads and sends now end
  return {Error::kOk};
}

StatusReply SocketTable::Close(const TcpCloseRequest& request) {
  uint32_t index = 0;
  Socket* socket = Find(request.socket, &index);
  if (socket == nullptr) return {Error::kBadHandle};
  Socket& s = *socket;
  s.closing = true;
  if (s.error == Error::kOk) s.error = Error::kClosed;
  Detach(s, /*abort=*/(request.flags & kAbortive) != 0 && s.kind == Kind::kConnection);
  MarkDirty(index);  // answers what waits with kClosed, then frees the slot
  return {Error::kOk};
}

// ---- Progress of waiting requests ----

bool SocketTable::TryAccept(Socket& s, PeerReply* reply) {
  if (s.backlog_head == kNoSocket) return false;
  const uint32_t child = s.backlog_head;
  s.backlog_head = sockets_[child].backlog_next;
  if (s.backlog_head == kNoSocket) s.backlog_tail = kNoSocket;
  sockets_[child].backlog_next = kNoSocket;
  --s.backlog_count;
  *reply = {Error::kOk, HandleOf(child)};
  if (const tcp_pcb* pcb = sockets_[child].pcb; pcb != nullptr) {
    reply->ip = ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip));
    reply->port = pcb->remote_port;
  }
  return true;
}

bool SocketTable::TryRecv(Socket& s, const Waiting& recv, CountReply* reply) {
  if (s.received != nullptr && !s.read_shut) {
    const uint32_t count = std::min<uint32_t>(recv.length, s.received->tot_len);
    pbuf_copy_partial(s.received, reinterpret_cast<void*>(recv.address),
                      static_cast<uint16_t>(count), 0);
    s.received = pbuf_free_header(s.received, static_cast<uint16_t>(count));
    if (s.pcb != nullptr) tcp_recved(s.pcb, static_cast<uint16_t>(count));  // reopen the window
    *reply = {Error::kOk, count};
    return true;
  }
  if (s.peer_closed || s.read_shut) {
    *reply = {Error::kOk, 0};  // end of stream
    return true;
  }
  if (s.error != Error::kOk) {
    *reply = {s.error};
    return true;
  }
  return false;
}

SendPiece SocketTable::PieceOf(const Waiting& send) {
  if (send.piece_count == 0) return {send.address, send.length, 0};
  return reinterpret_cast<const SendPiece*>(send.address)[send.piece];
}

bool SocketTable::TrySend(Socket& s, Waiting& send, bool nonblocking, CountReply* reply) {
  if (s.error != Error::kOk) {
    *reply = {s.error, send.done};
    return true;
  }
  if (s.pcb == nullptr || s.write_shut || s.connecting) {
    *reply = {Error::kNotConnected, send.done};
    return true;
  }
  bool wrote = false;
  while (send.done < send.length) {
    const uint32_t room = tcp_sndbuf(s.pcb);
    if (room == 0) break;
    const SendPiece piece = PieceOf(send);
    if (send.piece_done == piece.length) {  // an empty piece, or one all taken
      ++send.piece;
      send.piece_done = 0;
      continue;
    }
    const bool by_reference = (piece.flags & SendPiece::kByReference) != 0 && !send.copy_all;
    const uint32_t count = std::min({room, piece.length - send.piece_done, uint32_t{0xffff}});
    const bool more = send.done + count < send.length;
    const err_t err = tcp_write(s.pcb, reinterpret_cast<const uint8_t*>(piece.address) + send.piece_done,
                                static_cast<uint16_t>(count),
                                (by_reference ? 0 : TCP_WRITE_FLAG_COPY) |
                                    (more ? TCP_WRITE_FLAG_MORE : 0));
    if (err == ERR_MEM) break;  // segment queue or pbufs full: wait for acks
    if (err != ERR_OK) {
      *reply = {FromLwip(err), send.done};
      return true;
    }
    send.done += count;
    send.piece_done += count;
    s.queued += count;
    stats_.bytes_out += count;
    if (by_reference) {
      // The exchange's notice, pending from its first referenced byte (a
      // close meanwhile must know the bytes are still pointed at).
      if (!s.exchange_return) {
        s.returns[s.return_count++] = {s.queued, send.notice};  // room: see copy_all
        s.exchange_return = true;
      }
      s.returns[s.return_count - 1].end = s.queued;
      stats_.bytes_by_reference += count;
    }
    wrote = true;
  }
  if (wrote) tcp_output(s.pcb);
  if (send.done == send.length) {
    *reply = {Error::kOk, send.done};
    return true;
  }
  if (nonblocking) {
    *reply = send.done > 0 ? CountReply{Error::kOk, send.done} : CountReply{Error::kWouldBlock};
    return true;
  }
  return false;
}

bool SocketTable::Progress(uint32_t index, ipc::Message* message, ipc::Message* reply) {
  Socket& s = sockets_[index];
  const auto finish = [&](Waiting& w, const auto& body) {
    *message = w.message;
    *reply = ipc::MakeMessage(body, 0, 0);
    w.active = false;
    return true;
  };
  if (s.connect.active && (s.closing || !s.connecting)) {
    if (s.error != Error::kOk) {
      s.closing = true;  // freed by Complete() once nothing else waits
      return finish(s.connect, HandleReply{s.error});
    }
    return finish(s.connect, HandleReply{Error::kOk, HandleOf(index)});
  }
  if (s.accept.active) {
    PeerReply accepted;
    if (s.closing) return finish(s.accept, PeerReply{Error::kClosed});
    if (TryAccept(s, &accepted)) return finish(s.accept, accepted);
  }
  CountReply count;
  if (s.recv.active && TryRecv(s, s.recv, &count)) {
    if (!s.recv.exchange) return finish(s.recv, count);
    return finish(s.recv, ExchangeReply{count.error, s.recv.done,
                                        count.error == Error::kOk ? count.count : 0,
                                        ResolveExchange(s)});
  }
  // A send waits only if it was blocking.
  if (s.send.active && TrySend(s, s.send, /*nonblocking=*/false, &count)) {
    if (!s.send.exchange) return finish(s.send, count);
    // The exchange's send is done: answer it, or let it wait as a receive.
    s.send.active = false;
    ExchangeReply exchanged;
    if (!ContinueExchange(s, s.send, count, &exchanged)) return false;  // now a waiting receive
    *message = s.send.message;
    *reply = ipc::MakeMessage(exchanged, 0, 0);
    return true;
  }
  return false;
}

}  // namespace uk::net
