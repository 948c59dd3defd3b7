#pragma once
// The network service's TCP and interface messages (services/net/net_service.h):
// one body type per operation, each with its own kind from net's range
// (services/runtime/registry.h: kinds 0x00..0x0f here, UDP's 0x10..0x14 in
// udp_protocol.h), and five reply bodies whose fields each mean one thing.
// Every body fits a ring slot's 48-byte payload (static_asserted below), and
// every reply starts with `error`.
//
// Direction: requests go from an application's core to the net service's
// inbox (svc::CallService); the reply goes back to the caller's core with
// the request's id. A kind the service does not serve is answered with
// svc::RejectedBody.
//
// Blocking: a blocking request is answered when it can complete (a
// connection to accept, data to read, room in the send buffer, the
// handshake done, an address bound), so the caller stays parked in svc::Call
// meanwhile and its core may halt. With kNonBlocking the answer is
// immediate: kWouldBlock, or a partial send. One blocking request of each
// kind (accept, recv, send) may wait per socket; a second gets kBusy.
//
// Memory: the data buffer of TcpSend/TcpRecv stays in the caller's memory
// and is lent to the service from the send until the reply (so calls never
// time out). The service copies from it into lwIP's send buffer, or into it
// from received segments, and keeps no pointer after replying.
//
// Sending by reference (TcpSendRecvRequest, a piece marked kByReference):
// lwIP queues a pointer to the piece's bytes instead of a copy, and the
// bytes are read again by every (re)transmission, so they must stay
// unchanged and alive until the peer has acknowledged them. That can be
// long after the reply, and after the socket is closed, so the caller names
// a return notice: one message the service sends, without wanting a reply,
// once no referenced byte of the request is queued any more (acknowledged,
// or dropped by a reset or abort). Its kind and address are the caller's
// choice and its body is the 32-bit token alone, so it can be the release
// message of whoever lent the bytes (a file server's lease, fs_protocol.h
// ReleaseRequest) and the net service never learns what it was. If nothing
// stays referenced when the reply is sent (all of it was acknowledged
// already, or it was copied after all), the reply says so (`held` 0) and no
// notice is ever sent: the caller owns the bytes again.
//
//   request                fields                       reply
//   TcpListenRequest       port, backlog                HandleReply: the listener
//   TcpAcceptRequest       listener, flags              PeerReply: the connection, peer ip/port
//   TcpConnectRequest      ip, port                     HandleReply: the connection, once
//                                                       established
//   TcpSendRequest         socket, buffer, flags        CountReply: bytes taken
//   TcpRecvRequest         socket, buffer, flags        CountReply: bytes read, 0 = end of
//                                                       stream (a zero-length Recv also
//                                                       answers 0 at once)
//   TcpSendRecvRequest     socket, send pieces, recv    ExchangeReply: bytes sent, then bytes
//                          buffer, return notice        read (a Send, then a Recv, in one
//                                                       round trip: a keep-alive server's
//                                                       response and its next request), and
//                                                       whether pieces stay referenced
//   TcpShutdownRequest     socket, how (kShutdownRead | kShutdownWrite)   StatusReply
//   TcpCloseRequest        socket, flags (kAbortive)    StatusReply (waiting requests get
//                                                       kClosed). Queued data is still sent,
//                                                       for at most 20 s; kAbortive drops it
//                                                       and resets at once
//   InfoRequest            -                            InfoReply: ip, netmask, gateway
//   WaitForAddressRequest  timeout_ms                   InfoReply, once the interface has an
//                                                       address or timeout_ms has passed (then
//                                                       ip = 0). The service holds the request
//                                                       meanwhile; a few may wait at once (more
//                                                       get kBusy)

#include <cstdint>

#include "ipc/message.h"
#include "services/runtime/registry.h"

namespace uk::net {

inline constexpr const svc::Registration& kNet = svc::Registered("net");
inline constexpr uint16_t kNetServiceId = kNet.id;

enum class Error : int32_t {
  kOk = 0,
  kWouldBlock,       // kNonBlocking and nothing could be done now
  kBadHandle,        // not an open socket (never opened, or closed)
  kBusy,             // a blocking request of this kind already waits
  kTooManySockets,   // the service's socket table or lwIP's PCBs are full
  kAddressInUse,     // listen on a port already listened on
  kRefused,          // connect: the peer refused (RST)
  kReset,            // the connection was reset or aborted
  kClosed,           // the socket was closed while the request waited
  kNotConnected,     // send after shutdown(write); shutdown of a listener
  kInvalidArgument,  // bad port, null buffer, send/recv on a listener, accept on a connection
  kNoMemory,         // lwIP could not allocate
  kNoService,        // no net service answered (no network device)
  kTimedOut,         // connect gave up
  kMessageTooLong,   // UDP sendto: more than one datagram holds (kMaxUdpPayload)
  kNoRoute,          // UDP sendto: no interface reaches the destination (no address yet)
};

const char* ErrorName(Error error);

// TcpAcceptRequest, TcpSendRequest, TcpRecvRequest (and UdpRecvFromRequest):
// answer at once instead of waiting.
inline constexpr uint32_t kNonBlocking = 1u << 8;
// TcpShutdownRequest.how.
inline constexpr uint32_t kShutdownRead = 1, kShutdownWrite = 2;
// TcpCloseRequest: abort (RST) instead of sending what is still queued.
inline constexpr uint32_t kAbortive = 1u << 9;

// ---- Replies ----

struct StatusReply {
  static constexpr auto kKind = svc::Kind(kNet, 0x09);
  Error error = Error::kOk;
};

struct HandleReply {  // a listener or a connection
  static constexpr auto kKind = svc::Kind(kNet, 0x0a);
  Error error = Error::kOk;
  uint32_t handle = 0;
};

struct PeerReply {  // an accepted connection and who is at its other end
  static constexpr auto kKind = svc::Kind(kNet, 0x0b);
  Error error = Error::kOk;
  uint32_t handle = 0;
  uint32_t ip = 0;    // network byte order
  uint16_t port = 0;  // host byte order
  uint16_t reserved = 0;
};

struct CountReply {  // bytes sent or received
  static constexpr auto kKind = svc::Kind(kNet, 0x0c);
  Error error = Error::kOk;
  uint32_t count = 0;
};

struct InfoReply {  // the interface's configuration, network byte order; 0 until configured
  static constexpr auto kKind = svc::Kind(kNet, 0x0d);
  Error error = Error::kOk;
  uint32_t ip = 0;
  uint32_t netmask = 0;
  uint32_t gateway = 0;
};

struct ExchangeReply {  // TcpSendRecvRequest: what was sent, then what was received
  static constexpr auto kKind = svc::Kind(kNet, 0x0e);
  Error error = Error::kOk;  // the send's error if it failed (nothing received), else the recv's
  uint32_t sent = 0;
  uint32_t received = 0;     // 0 = end of stream
  uint32_t held = 0;         // 1: pieces stay referenced; the return notice will come
};

// ---- Requests ----

struct TcpListenRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x00);
  using Reply = HandleReply;
  uint16_t port = 0;     // host byte order; 0 is refused
  uint16_t backlog = 0;  // connections lwIP accepts before the application does (1..512)
};

struct TcpAcceptRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x01);
  using Reply = PeerReply;
  uint32_t listener = 0;
  uint32_t flags = 0;  // kNonBlocking
};

struct TcpConnectRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x02);
  using Reply = HandleReply;
  uint32_t ip = 0;    // network byte order
  uint16_t port = 0;  // host byte order
  uint16_t reserved = 0;
};

struct TcpSendRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x03);
  using Reply = CountReply;
  uint32_t socket = 0;
  uint32_t flags = 0;    // kNonBlocking
  uint64_t address = 0;  // caller memory, lent until the reply
  uint32_t length = 0;
  uint32_t reserved = 0;
};

struct TcpRecvRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x04);
  using Reply = CountReply;
  uint32_t socket = 0;
  uint32_t flags = 0;    // kNonBlocking
  uint64_t address = 0;  // caller memory, lent until the reply
  uint32_t length = 0;
  uint32_t reserved = 0;
};

// One piece of what a TcpSendRecvRequest sends, in the caller's memory.
struct SendPiece {
  static constexpr uint32_t kByReference = 1;  // queue a pointer, not a copy (see the top)
  uint64_t address = 0;
  uint32_t length = 0;
  uint32_t flags = 0;  // kByReference
};

// A send, then a receive on the same socket, in one round trip: what a
// server does between a response and the next request. The send is
// blocking (all pieces are taken, in order, or an error ends the exchange);
// the receive then waits like a blocking TcpRecvRequest (recv_length 0:
// no receive, received 0 at once). The piece list and the receive buffer
// are lent until the reply; pieces sent by reference for longer (see the
// top). A socket keeps at most kMaxReturns notices pending; past that,
// referenced pieces are copied instead (`held` 0), which is slower but
// never fails.
struct TcpSendRecvRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x0f);
  using Reply = ExchangeReply;
  static constexpr uint32_t kMaxPieces = 20;
  static constexpr uint32_t kMaxReturns = 4;
  uint32_t socket = 0;
  uint16_t piece_count = 0;   // 1..kMaxPieces
  uint16_t return_kind = 0;   // the notice's ipc::MessageKind
  uint64_t pieces = 0;        // const SendPiece[piece_count]
  uint64_t recv_address = 0;
  uint32_t recv_length = 0;
  uint32_t return_to = 0;     // the notice's svc::Address, packed
  uint32_t return_token = 0;  // the notice's body
};

struct TcpShutdownRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x05);
  using Reply = StatusReply;
  uint32_t socket = 0;
  uint32_t how = 0;  // kShutdownRead | kShutdownWrite
};

struct TcpCloseRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x06);
  using Reply = StatusReply;
  uint32_t socket = 0;
  uint32_t flags = 0;  // kAbortive
};

struct InfoRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x07);
  using Reply = InfoReply;
  uint32_t reserved = 0;
};

struct WaitForAddressRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0x08);
  using Reply = InfoReply;
  uint32_t timeout_ms = 0;  // 0: answer at once, as InfoRequest
};

static_assert(ipc::MessageBody<StatusReply>);
static_assert(ipc::MessageBody<HandleReply>);
static_assert(ipc::MessageBody<PeerReply>);
static_assert(ipc::MessageBody<CountReply>);
static_assert(ipc::MessageBody<InfoReply>);
static_assert(ipc::MessageBody<TcpListenRequest>);
static_assert(ipc::MessageBody<TcpAcceptRequest>);
static_assert(ipc::MessageBody<TcpConnectRequest>);
static_assert(ipc::MessageBody<TcpSendRequest>);
static_assert(ipc::MessageBody<TcpRecvRequest>);
static_assert(ipc::MessageBody<TcpSendRecvRequest>);
static_assert(ipc::MessageBody<ExchangeReply>);
static_assert(ipc::MessageBody<TcpShutdownRequest>);
static_assert(ipc::MessageBody<TcpCloseRequest>);
static_assert(ipc::MessageBody<InfoRequest>);
static_assert(ipc::MessageBody<WaitForAddressRequest>);

}  // namespace uk::net
