#pragma once
// The network service's socket messages (services/net/net_service.h).
//
// One request kind carries every operation (NetRequest.op), one reply kind
// answers it; both fit a ring slot's 48-byte payload.
//
// Blocking: a blocking request is answered when it can complete (a
// connection to accept, data to read, room in the send buffer), so the
// caller stays parked in svc::Call meanwhile and its core may halt. With
// kNonBlocking the answer is immediate: kWouldBlock, or a partial send.
// One blocking request of each kind (accept, recv, send) may wait per
// socket; a second gets kBusy.
//
// Memory: the data buffer of kSend/kRecv stays in the caller's memory and is
// lent to the service from the send until the reply (so calls never time
// out). The service copies from it into lwIP's send buffer, or into it from
// received segments, and keeps no pointer after replying.
//
//   op         fields used                       reply
//   kListen    port, backlog                     handle
//   kAccept    handle, flags                     handle, peer ip/port
//   kConnect   ip, port                          handle (when established)
//   kSend      handle, address, length, flags    value = bytes taken
//   kRecv      handle, address, length, flags    value = bytes read, 0 = end of stream
//                                                (a zero-length Recv also answers 0 at once)
//   kShutdown  handle, how (flags: 1 read, 2 write, 3 both)
//   kClose     handle, flags (kAbortive)         (pending requests get kClosed). Queued
//                                                data is still sent, for at most 20 s;
//                                                kAbortive drops it and resets at once
//   kInfo      -                                 ip, value = netmask, value2 = gateway
//   kWaitForAddress timeout_ms                   as kInfo, once the interface has an
//                                                address or timeout_ms has passed (then
//                                                ip = 0). The service holds the request
//                                                meanwhile; a few may wait at once (more
//                                                get kBusy)

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
  kInvalidArgument,  // bad op, bad port, null buffer, send/recv on a listener
  kNoMemory,         // lwIP could not allocate
  kNoService,        // no net service answered (no network device)
  kTimedOut,         // connect gave up
  kMessageTooLong,   // UDP sendto: more than one datagram holds (kMaxUdpPayload)
  kNoRoute,          // UDP sendto: no interface reaches the destination (no address yet)
};

const char* ErrorName(Error error);


enum class NetOp : uint32_t {
  kListen = 1,
  kAccept,
  kConnect,
  kSend,
  kRecv,
  kShutdown,
  kClose,
  kInfo,
  kWaitForAddress,
};

inline constexpr uint32_t kNonBlocking = 1u << 8;
inline constexpr uint32_t kShutdownRead = 1, kShutdownWrite = 2;
// kClose: abort (RST) instead of sending what is still queued.
inline constexpr uint32_t kAbortive = 1u << 9;

struct NetRequest {
  static constexpr auto kKind = svc::Kind(kNet, 0);
  NetOp op = NetOp::kInfo;
  uint32_t handle = 0;
  uint64_t address = 0;  // caller memory, lent until the reply
  uint32_t length = 0;
  uint32_t flags = 0;    // kNonBlocking, shutdown direction
  uint32_t ip = 0;       // IPv4, network byte order
  uint16_t port = 0;     // host byte order
  uint16_t backlog = 0;
  uint32_t timeout_ms = 0;  // kWaitForAddress
};

struct NetReply {
  static constexpr auto kKind = svc::Kind(kNet, 1);
  Error error;
  uint32_t handle;
  uint64_t value;
  uint64_t value2;
  uint32_t ip;  // network byte order
  uint16_t port;
  uint16_t reserved;
};

static_assert(ipc::MessageBody<NetRequest>);
static_assert(ipc::MessageBody<NetReply>);

}  // namespace uk::net
