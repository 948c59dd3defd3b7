#pragma once
// The network service's UDP messages: one body type per operation, each with
// its own message kind (net's kinds 0x10..0x14, services/runtime/registry.h;
// TCP's are 0x00..0x0f, net_protocol.h), and one reply body for all of them.
// The kind alone says what a request is: NetService's routes decode it
// straight into its body type.
//
// Direction: requests go from an application's core to the net service's
// inbox (svc::Call); the reply goes back to the caller's core with the
// request's id. Every body fits a ring slot's 48-byte payload
// (static_asserted below).
//
// Memory: the data buffer of UdpSendTo/UdpRecvFrom stays in the caller's
// memory and is lent to the service from the send until the reply, as for
// TCP. The service copies the datagram out of it (sendto) or into it
// (recvfrom) and keeps no pointer after replying.
//
// Blocking: a blocking UdpRecvFrom with nothing queued is answered when a
// datagram arrives (the caller stays parked in svc::Call, its core may
// halt); with kNonBlocking it gets kWouldBlock at once. One recvfrom may
// wait per socket; a second gets kBusy. Closing the socket answers a
// waiting recvfrom with kClosed. Sends never wait: the datagram is handed to
// lwIP (or the error returned) at once.
//
//   request          fields                           reply
//   UdpBindRequest   port (0 = ephemeral)             handle, port = the bound port
//   UdpSendToRequest handle, ip/port, address/length  length = bytes sent (all of them)
//   UdpRecvFromRequest handle, address/length, flags  length = bytes copied, datagram_length =
//                                                     the datagram's size, ip/port = its
//                                                     source, kUdpTruncated if it did not fit
//                                                     (the rest is discarded)
//   UdpCloseRequest  handle                           - (a waiting recvfrom gets kClosed)

#include <cstdint>

#include "ipc/message.h"
#include "services/net/net_protocol.h"

namespace uk::net {

inline constexpr uint16_t kFirstUdpKind = 0x10;  // within net's range (registry.h)

// The largest UDP payload in one IPv4 datagram: 65535 - 20 (IP) - 8 (UDP).
inline constexpr uint32_t kMaxUdpPayload = 65507;

// UdpReply.flags: the datagram was longer than the buffer.
inline constexpr uint16_t kUdpTruncated = 1;

struct UdpReply {
  static constexpr auto kKind = svc::Kind(kNet, kFirstUdpKind + 4);
  Error error = Error::kOk;
  uint32_t handle = 0;
  uint32_t length = 0;           // bytes sent, or copied into the caller's buffer
  uint32_t datagram_length = 0;  // recvfrom: the whole datagram's size
  uint32_t ip = 0;               // recvfrom: source, network byte order
  uint16_t port = 0;             // recvfrom: source port; bind: the bound port
  uint16_t flags = 0;            // kUdpTruncated
};

struct UdpBindRequest {
  static constexpr auto kKind = svc::Kind(kNet, kFirstUdpKind + 0);
  using Reply = UdpReply;
  uint16_t port = 0;  // host byte order; 0: lwIP picks a free ephemeral port
  uint16_t reserved = 0;
};

struct UdpSendToRequest {
  static constexpr auto kKind = svc::Kind(kNet, kFirstUdpKind + 1);
  using Reply = UdpReply;
  uint32_t handle = 0;
  uint32_t ip = 0;       // destination, network byte order
  uint64_t address = 0;  // caller memory, lent until the reply
  uint32_t length = 0;   // at most kMaxUdpPayload
  uint16_t port = 0;     // destination, host byte order
  uint16_t reserved = 0;
};

struct UdpRecvFromRequest {
  static constexpr auto kKind = svc::Kind(kNet, kFirstUdpKind + 2);
  using Reply = UdpReply;
  uint32_t handle = 0;
  uint32_t flags = 0;    // kNonBlocking (net_protocol.h)
  uint64_t address = 0;  // caller memory, lent until the reply
  uint32_t length = 0;
  uint32_t reserved = 0;
};

struct UdpCloseRequest {
  static constexpr auto kKind = svc::Kind(kNet, kFirstUdpKind + 3);
  using Reply = UdpReply;
  uint32_t handle = 0;
  uint32_t reserved = 0;
};


static_assert(ipc::MessageBody<UdpBindRequest>);
static_assert(ipc::MessageBody<UdpSendToRequest>);
static_assert(ipc::MessageBody<UdpRecvFromRequest>);
static_assert(ipc::MessageBody<UdpCloseRequest>);
static_assert(ipc::MessageBody<UdpReply>);

}  // namespace uk::net
