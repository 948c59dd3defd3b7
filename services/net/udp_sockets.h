#pragma once
// The net service's UDP sockets: lwIP raw-API `udp_pcb`s behind handles
// (index and generation, as in the TCP SocketTable, so a stale handle is
// refused, never mistaken for a new socket), the datagrams each has
// received, and the recvfrom waiting on each (udp_protocol.h).
//
// Receive queue: lwIP's receive callback keeps the datagram's pbuf (a
// PBUF_POOL buffer, or a chain after IP reassembly) in the socket's ring of
// at most kQueueLimit datagrams until the application reads it. UDP has no
// flow control, so a socket nobody reads must not take the pool that TCP
// and every new frame need: a datagram that finds its socket's queue full,
// or the pool down to the service's reserve (overload.h, kPoolReserve), is
// dropped and counted. Nothing grows with the traffic.
//
// As in SocketTable, the callback only records the datagram and marks the
// socket dirty; Complete() later answers a waiting recvfrom, so replies are
// sent from one place, after lwIP has returned.
//
// Single-threaded: only the net service thread calls anything here. The
// counters (UdpStats) are StatCounters, readable from any core.

#include <cstdint>

#include "ipc/message.h"
#include "ipc/stat_counter.h"
#include "services/net/udp_protocol.h"

struct udp_pcb;
struct pbuf;
struct ip4_addr;  // lwIP's ip_addr_t without IPv6 (lwipopts.h: LWIP_IPV6 0)

namespace uk::net {

struct UdpStats {
  ipc::StatCounter datagrams_in;   // queued for an application
  ipc::StatCounter datagrams_out;  // handed to lwIP by a sendto
  ipc::StatCounter dropped_full;   // arrived at a socket whose queue was full
  ipc::StatCounter dropped_pool;   // arrived with the pool down to its reserve
  ipc::StatCounter sockets_open;
};

class UdpSocketTable {
 public:
  // lwIP has MEMP_NUM_UDP_PCB (16) PCBs, one of them DHCP's: a larger
  // table could not be filled.
  static constexpr uint32_t kMaxSockets = 16;
  // Datagrams a socket holds unread; more are dropped (UdpStats::dropped_full).
  static constexpr uint32_t kQueueLimit = 32;

  explicit UdpSocketTable(UdpStats& stats);
  ~UdpSocketTable();
  UdpSocketTable(const UdpSocketTable&) = delete;
  UdpSocketTable& operator=(const UdpSocketTable&) = delete;

  // One handler per request (udp_protocol.h), called by NetService's
  // routes. RecvFrom returns true if `reply` is the answer now; false if it
  // waits (a blocking recvfrom: `message` is kept and answered by a later
  // Complete()).
  UdpReply Bind(const UdpBindRequest& request);
  UdpReply SendTo(const UdpSendToRequest& request);
  bool RecvFrom(const UdpRecvFromRequest& request, const ipc::Message& message, UdpReply* reply);
  UdpReply Close(const UdpCloseRequest& request);

  // Answers the waiting recvfroms that can finish; reply_fn(request, reply).
  template <typename ReplyFn>
  void Complete(ReplyFn&& reply_fn) {
    while (dirty_count_ > 0) {
      Socket& s = sockets_[dirty_[--dirty_count_]];
      s.dirty = false;
      UdpReply reply;
      if (s.recv_waiting && TryFinishRecv(s, &reply)) {
        s.recv_waiting = false;
        reply_fn(s.recv_message, reply);
      }
      if (s.closing) Free(s);
    }
  }

 private:
  static constexpr uint32_t kIndexBits = 4;
  static_assert(kMaxSockets == 1u << kIndexBits);

  struct Datagram {
    pbuf* data;        // payload only (lwIP has hidden the headers)
    uint32_t ip;       // source, network byte order
    uint16_t port;     // source, host byte order
  };

  struct Socket {
    UdpSocketTable* table = nullptr;  // for lwIP's callback, whose arg is the socket
    uint32_t index = 0;
    uint16_t generation = 0;
    bool open = false;
    bool closing = false;  // closed with a recvfrom waiting: freed once it is answered
    bool dirty = false;
    udp_pcb* pcb = nullptr;
    Datagram queue[kQueueLimit] = {};  // a ring: `count` datagrams from `head`
    uint32_t head = 0, count = 0;
    bool recv_waiting = false;
    ipc::Message recv_message;  // the waiting recvfrom, to reply to it
    UdpRecvFromRequest recv_request;
  };

  // lwIP's receive callback (a C function pointer); `arg` is the Socket.
  static void OnReceive(void* arg, udp_pcb* pcb, pbuf* p, const ip4_addr* address,
                        uint16_t port);

  // The open socket behind a handle, or nullptr.
  Socket* Find(uint32_t handle);
  uint32_t HandleOf(const Socket& s) const;
  Socket* Allocate();
  // Removes the PCB and drops the queued datagrams; the slot stays taken.
  void Detach(Socket& s);
  void Free(Socket& s);
  void MarkDirty(Socket& s);
  // Copies the oldest datagram into the request's buffer, or answers
  // kClosed on a closing socket. False: nothing to answer yet.
  bool TryFinishRecv(Socket& s, UdpReply* reply);

  UdpStats& stats_;
  Socket sockets_[kMaxSockets];
  uint32_t dirty_[kMaxSockets];
  uint32_t dirty_count_ = 0;
};

}  // namespace uk::net
