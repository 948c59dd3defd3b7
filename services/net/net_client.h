#pragma once
// Sockets for applications on any core: blocking calls park the calling
// thread until the net service answers; non-blocking ones return
// kWouldBlock at once. Buffers are lent to the service for the duration of
// a call (net_protocol.h for TCP, udp_protocol.h for UDP).

#include <cstdint>
#include <span>
#include <string_view>

#include "services/net/net_protocol.h"
#include "services/net/udp_protocol.h"
#include "services/runtime/result.h"
#include "services/runtime/service.h"

namespace uk::net {

template <typename T>
using Result = uk::Result<T, Error>;

enum class Blocking : uint8_t { kYes, kNo };
// kGraceful: unsent data is still delivered (for at most 20 s), then FIN.
// kAbort: unsent data is dropped and the peer gets a RST (a killed client).
enum class CloseMode : uint8_t { kGraceful, kAbort };

struct Peer {
  uint32_t handle = 0;
  uint32_t ip = 0;  // network byte order
  uint16_t port = 0;
};

// A bound UDP socket.
struct UdpSocket {
  uint32_t handle = 0;
  uint16_t port = 0;  // the local port (lwIP's choice if Bind asked for 0)
};

// What UdpRecvFrom put in the caller's buffer, and where it came from.
struct Datagram {
  size_t length = 0;           // bytes copied into the buffer
  size_t datagram_length = 0;  // the datagram's size: more than `length` if truncated
  bool truncated = false;      // the rest did not fit and is gone
  uint32_t ip = 0;             // source, network byte order
  uint16_t port = 0;
};

struct Info {
  uint32_t ip = 0, netmask = 0, gateway = 0;  // network byte order; 0 until configured
};

class NetClient {
 public:
  explicit NetClient(svc::Address server) : server_(server) {}
  svc::Address server() const { return server_; }

  Result<uint32_t> Listen(uint16_t port, uint16_t backlog = 32);
  Result<Peer> Accept(uint32_t listener, Blocking blocking = Blocking::kYes);
  // Waits until the connection is established or refused.
  Result<uint32_t> Connect(uint32_t ip, uint16_t port);
  // Blocking: returns when all of `data` is in the send buffer. Non-blocking:
  // what fitted (kWouldBlock if nothing).
  Result<size_t> Send(uint32_t socket, std::span<const uint8_t> data,
                      Blocking blocking = Blocking::kYes);
  // Up to out.size() bytes; 0 at the end of the stream.
  Result<size_t> Recv(uint32_t socket, std::span<uint8_t> out, Blocking blocking = Blocking::kYes);
  // Sends all of `data`, then receives up to out.size() bytes, in one round
  // trip (what a keep-alive server does between a response and the next
  // request). A failed send ends it: its error, nothing received. An empty
  // `out` receives nothing (received 0).
  struct Exchanged {
    Error error;
    size_t sent;
    size_t received;  // 0 = end of stream
    bool held;        // pieces sent by reference stay referenced: `notice` will come
  };
  Exchanged SendRecv(uint32_t socket, std::span<const uint8_t> data, std::span<uint8_t> out);
  // The same with the data in pieces, each copied or sent by reference
  // (SendPiece::kByReference, at most TcpSendRecvRequest::kMaxPieces);
  // `pieces` is lent until the reply, referenced bytes until `notice` is
  // sent, or only until the reply if `held` is false (net_protocol.h).
  struct ReturnNotice {
    svc::Address to;
    ipc::MessageKind kind;
    uint32_t token;
  };
  Exchanged SendRecv(uint32_t socket, std::span<const SendPiece> pieces, std::span<uint8_t> out,
                     const ReturnNotice& notice);
  Error Shutdown(uint32_t socket, uint32_t how);
  Error Close(uint32_t socket, CloseMode mode = CloseMode::kGraceful);
  Result<Info> GetInfo();
  // The interface's address once it has one (DHCP takes a few round trips),
  // waiting at most `timeout_ms`; 0 if none came. One request that the
  // service answers when the address is bound: no polling, so the caller's
  // core may halt meanwhile.
  uint32_t WaitForAddress(uint64_t timeout_ms);

  // UDP (udp_protocol.h). Port 0 binds a free ephemeral port.
  Result<UdpSocket> UdpBind(uint16_t port);
  // Sends `data` as one datagram (at most kMaxUdpPayload bytes) to ip:port
  // (network byte order, host byte order); returns data.size(). Never waits
  // for the peer: UDP has no flow control.
  Result<size_t> UdpSendTo(uint32_t socket, uint32_t ip, uint16_t port,
                           std::span<const uint8_t> data);
  // The oldest datagram received, into `out` (truncated if it is longer).
  // Blocking: waits until one arrives (kClosed if the socket is closed
  // meanwhile); non-blocking: kWouldBlock if none is queued.
  Result<Datagram> UdpRecvFrom(uint32_t socket, std::span<uint8_t> out,
                               Blocking blocking = Blocking::kYes);
  Error UdpClose(uint32_t socket);

 private:
  // The reply to `request`; kNoService in its error if the service did not
  // answer it (none there, or it does not serve that kind).
  template <typename Request>
  typename Request::Reply Ask(const Request& request);

  svc::Address server_;
};

// "a.b.c.d" for an address in network byte order, into `out` (16 bytes).
const char* FormatIp(uint32_t ip, char (&out)[16]);
// Parses "a.b.c.d" into network byte order; false if it is not one.
bool ParseIp(std::string_view text, uint32_t* ip);

}  // namespace uk::net
