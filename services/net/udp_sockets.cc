#include "services/net/udp_sockets.h"

#include <algorithm>

#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "services/net/overload.h"

namespace uk::net {
namespace {

UdpReply Answer(Error error) {
  UdpReply reply{};
  reply.error = error;
  return reply;
}

Error FromLwip(err_t err) {
  switch (err) {
    case ERR_OK: return Error::kOk;
    case ERR_MEM:
    case ERR_BUF: return Error::kNoMemory;
    case ERR_USE: return Error::kAddressInUse;
    case ERR_RTE: return Error::kNoRoute;
    case ERR_VAL:
    case ERR_ARG: return Error::kInvalidArgument;
    default: return Error::kNoMemory;
  }
}

}  // namespace

UdpSocketTable::UdpSocketTable(UdpStats& stats) : stats_(stats) {
  for (uint32_t i = 0; i < kMaxSockets; ++i) {
    sockets_[i].table = this;
    sockets_[i].index = i;
  }
}

UdpSocketTable::~UdpSocketTable() {
  for (Socket& s : sockets_) {
    if (s.open) Detach(s);
  }
}

// ---- Requests ----

UdpReply UdpSocketTable::Bind(const UdpBindRequest& request) {
  Socket* s = Allocate();
  if (s == nullptr) return Answer(Error::kTooManySockets);
  udp_pcb* pcb = udp_new_ip_type(IPADDR_TYPE_V4);
  if (pcb == nullptr) {
    Free(*s);
    return Answer(Error::kTooManySockets);  // lwIP's PCBs are all taken
  }
  const err_t err = udp_bind(pcb, IP4_ADDR_ANY, request.port);
  if (err != ERR_OK) {
    udp_remove(pcb);
    Free(*s);
    return Answer(FromLwip(err));
  }
  s->pcb = pcb;
  udp_recv(pcb, &OnReceive, s);
  UdpReply reply = Answer(Error::kOk);
  reply.handle = HandleOf(*s);
  reply.port = pcb->local_port;  // lwIP's choice when the request said 0
  return reply;
}

UdpReply UdpSocketTable::SendTo(const UdpSendToRequest& request) {
  Socket* s = Find(request.handle);
  if (s == nullptr) return Answer(Error::kBadHandle);
  if ((request.address == 0 && request.length > 0) || request.ip == 0 || request.port == 0) {
    return Answer(Error::kInvalidArgument);
  }
  if (request.length > kMaxUdpPayload) return Answer(Error::kMessageTooLong);
  // One copy, into a heap pbuf with room for the headers in front; lwIP
  // fragments it if it is longer than the MTU.
  pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<uint16_t>(request.length), PBUF_RAM);
  if (p == nullptr) return Answer(Error::kNoMemory);
  if (request.length > 0) {
    pbuf_take(p, reinterpret_cast<const void*>(request.address),
              static_cast<uint16_t>(request.length));
  }
  ip_addr_t destination;
  ip_addr_set_ip4_u32(&destination, request.ip);
  const err_t err = udp_sendto(s->pcb, p, &destination, request.port);
  pbuf_free(p);  // udp_sendto took what it needed (a copy, or its own reference)
  if (err != ERR_OK) return Answer(FromLwip(err));
  ++stats_.datagrams_out;
  UdpReply reply = Answer(Error::kOk);
  reply.length = request.length;
  return reply;
}

bool UdpSocketTable::RecvFrom(const UdpRecvFromRequest& request, const ipc::Message& message,
                              UdpReply* reply) {
  Socket* s = Find(request.handle);
  if (s == nullptr) {
    *reply = Answer(Error::kBadHandle);
    return true;
  }
  if (request.address == 0 && request.length > 0) {
    *reply = Answer(Error::kInvalidArgument);
    return true;
  }
  if (s->recv_waiting) {
    *reply = Answer(Error::kBusy);
    return true;
  }
  s->recv_request = request;
  if (TryFinishRecv(*s, reply)) return true;
  if (request.flags & kNonBlocking) {
    *reply = Answer(Error::kWouldBlock);
    return true;
  }
  s->recv_waiting = true;  // OnReceive marks the socket dirty; Complete() answers
  s->recv_message = message;
  return false;
}

UdpReply UdpSocketTable::Close(const UdpCloseRequest& request) {
  Socket* s = Find(request.handle);
  if (s == nullptr) return Answer(Error::kBadHandle);
  Detach(*s);
  if (s->recv_waiting) {
    s->closing = true;  // Complete() answers the recvfrom with kClosed, then frees the slot
    MarkDirty(*s);
  } else {
    Free(*s);
  }
  return Answer(Error::kOk);
}

// ---- lwIP's callback: record, mark dirty, nothing else ----

void UdpSocketTable::OnReceive(void* arg, udp_pcb*, pbuf* p, const ip4_addr* address,
                               uint16_t port) {
  auto* s = static_cast<Socket*>(arg);
  UdpStats& stats = s->table->stats_;
  if (s->count == kQueueLimit) {
    ++stats.dropped_full;
    pbuf_free(p);
    return;
  }
  // This datagram's buffers are already out of the pool; keeping them when
  // the pool is at its reserve would take what new frames (TCP's among
  // them) need.
  if (PoolFree() < kPoolReserve) {
    ++stats.dropped_pool;
    pbuf_free(p);
    return;
  }
  s->queue[(s->head + s->count) % kQueueLimit] = {p, ip4_addr_get_u32(address), port};
  ++s->count;
  ++stats.datagrams_in;
  if (s->recv_waiting) s->table->MarkDirty(*s);
}

// ---- Helpers ----

bool UdpSocketTable::TryFinishRecv(Socket& s, UdpReply* reply) {
  if (s.closing) {
    *reply = Answer(Error::kClosed);
    return true;
  }
  if (s.count == 0) return false;
  Datagram& datagram = s.queue[s.head];
  const UdpRecvFromRequest& request = s.recv_request;
  const uint16_t size = datagram.data->tot_len;
  const auto copied = static_cast<uint16_t>(std::min<uint32_t>(request.length, size));
  if (copied > 0) {
    pbuf_copy_partial(datagram.data, reinterpret_cast<void*>(request.address), copied, 0);
  }
  *reply = Answer(Error::kOk);
  reply->length = copied;
  reply->datagram_length = size;
  reply->ip = datagram.ip;
  reply->port = datagram.port;
  reply->flags = copied < size ? kUdpTruncated : 0;
  pbuf_free(datagram.data);  // a truncated datagram's rest is discarded, as recvfrom(2) does
  datagram = {};
  s.head = (s.head + 1) % kQueueLimit;
  --s.count;
  return true;
}

UdpSocketTable::Socket* UdpSocketTable::Find(uint32_t handle) {
  Socket& s = sockets_[handle & (kMaxSockets - 1)];
  if (!s.open || s.closing || s.generation != (handle >> kIndexBits)) return nullptr;
  return &s;
}

uint32_t UdpSocketTable::HandleOf(const Socket& s) const {
  return (uint32_t{s.generation} << kIndexBits) | s.index;
}

UdpSocketTable::Socket* UdpSocketTable::Allocate() {
  for (Socket& s : sockets_) {
    // A slot freed by Complete() is no longer dirty; one freed by Close()
    // never was (nothing waited), so no index is ever listed twice.
    if (s.open) continue;
    s.open = true;
    s.closing = false;
    s.head = s.count = 0;
    s.recv_waiting = false;
    ++stats_.sockets_open;
    return &s;
  }
  return nullptr;
}

void UdpSocketTable::Detach(Socket& s) {
  if (s.pcb != nullptr) udp_remove(s.pcb);  // no callback after this
  s.pcb = nullptr;
  for (; s.count > 0; --s.count) {
    pbuf_free(s.queue[s.head].data);
    s.queue[s.head] = {};
    s.head = (s.head + 1) % kQueueLimit;
  }
}

void UdpSocketTable::Free(Socket& s) {
  Detach(s);
  s.open = false;
  s.closing = false;
  s.recv_waiting = false;
  ++s.generation;  // the old handle now finds nothing
  stats_.sockets_open.Set(stats_.sockets_open.Get() - 1);
}

void UdpSocketTable::MarkDirty(Socket& s) {
  if (s.dirty) return;
  s.dirty = true;
  dirty_[dirty_count_++] = s.index;
}

}  // namespace uk::net
