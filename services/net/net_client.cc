#include "services/net/net_client.h"

#include "services/runtime/request_service.h"

namespace uk::net {

template <typename Request>
typename Request::Reply NetClient::Ask(const Request& request) {
  typename Request::Reply reply{};
  if (svc::CallService(server_, request, &reply) != svc::SendStatus::kOk) {
    reply = {};
    reply.error = Error::kNoService;
  }
  return reply;
}

namespace {

uint32_t BlockingFlags(Blocking blocking) { return blocking == Blocking::kNo ? kNonBlocking : 0u; }

}  // namespace

Result<uint32_t> NetClient::Listen(uint16_t port, uint16_t backlog) {
  const HandleReply reply = Ask(TcpListenRequest{.port = port, .backlog = backlog});
  if (reply.error != Error::kOk) return reply.error;
  return reply.handle;
}

Result<Peer> NetClient::Accept(uint32_t listener, Blocking blocking) {
  const PeerReply reply =
      Ask(TcpAcceptRequest{.listener = listener, .flags = BlockingFlags(blocking)});
  if (reply.error != Error::kOk) return reply.error;
  return Peer{reply.handle, reply.ip, reply.port};
}

Result<uint32_t> NetClient::Connect(uint32_t ip, uint16_t port) {
  const HandleReply reply = Ask(TcpConnectRequest{.ip = ip, .port = port});
  if (reply.error != Error::kOk) return reply.error;
  return reply.handle;
}

Result<size_t> NetClient::Send(uint32_t socket, std::span<const uint8_t> data, Blocking blocking) {
  if (data.size() > UINT32_MAX) return Error::kInvalidArgument;
  const CountReply reply = Ask(TcpSendRequest{.socket = socket,
                                              .flags = BlockingFlags(blocking),
                                              .address = reinterpret_cast<uint64_t>(data.data()),
                                              .length = static_cast<uint32_t>(data.size())});
  if (reply.error != Error::kOk) return reply.error;
  return static_cast<size_t>(reply.count);
}

Result<size_t> NetClient::Recv(uint32_t socket, std::span<uint8_t> out, Blocking blocking) {
  if (out.size() > UINT32_MAX) return Error::kInvalidArgument;
  const CountReply reply = Ask(TcpRecvRequest{.socket = socket,
                                              .flags = BlockingFlags(blocking),
                                              .address = reinterpret_cast<uint64_t>(out.data()),
                                              .length = static_cast<uint32_t>(out.size())});
  if (reply.error != Error::kOk) return reply.error;
  return static_cast<size_t>(reply.count);
}

NetClient::Exchanged NetClient::SendRecv(uint32_t socket, std::span<const uint8_t> data,
                                         std::span<uint8_t> out) {
  if (data.size() > UINT32_MAX) return {Error::kInvalidArgument, 0, 0, false};
  const SendPiece piece{reinterpret_cast<uint64_t>(data.data()), static_cast<uint32_t>(data.size()),
                        0};
  return SendRecv(socket, {&piece, 1}, out, {});
}

NetClient::Exchanged NetClient::SendRecv(uint32_t socket, std::span<const SendPiece> pieces,
                                         std::span<uint8_t> out, const ReturnNotice& notice) {
  if (pieces.size() > TcpSendRecvRequest::kMaxPieces || out.size() > UINT32_MAX) {
    return {Error::kInvalidArgument, 0, 0, false};
  }
  const ExchangeReply reply =
      Ask(TcpSendRecvRequest{.socket = socket,
                             .piece_count = static_cast<uint16_t>(pieces.size()),
                             .return_kind = static_cast<uint16_t>(notice.kind),
                             .pieces = reinterpret_cast<uint64_t>(pieces.data()),
                             .recv_address = reinterpret_cast<uint64_t>(out.data()),
                             .recv_length = static_cast<uint32_t>(out.size()),
                             .return_to = notice.to.Pack(),
                             .return_token = notice.token});
  return {reply.error, reply.sent, reply.received, reply.held != 0};
}

Error NetClient::Shutdown(uint32_t socket, uint32_t how) {
  return Ask(TcpShutdownRequest{.socket = socket, .how = how}).error;
}

Error NetClient::Close(uint32_t socket, CloseMode mode) {
  const uint32_t flags = mode == CloseMode::kAbort ? kAbortive : 0;
  return Ask(TcpCloseRequest{.socket = socket, .flags = flags}).error;
}

Result<Info> NetClient::GetInfo() {
  const InfoReply reply = Ask(InfoRequest{});
  if (reply.error != Error::kOk) return reply.error;
  return Info{reply.ip, reply.netmask, reply.gateway};
}

uint32_t NetClient::WaitForAddress(uint64_t timeout_ms) {
  const auto timeout = static_cast<uint32_t>(timeout_ms < UINT32_MAX ? timeout_ms : UINT32_MAX);
  const InfoReply reply = Ask(WaitForAddressRequest{.timeout_ms = timeout});
  if (reply.error == Error::kOk) return reply.ip;
  // kBusy: the service holds as many waiters as it can. What it has now.
  const Result<Info> info = GetInfo();
  return info.ok() ? info.value().ip : 0;
}

Result<UdpSocket> NetClient::UdpBind(uint16_t port) {
  const UdpReply reply = Ask(UdpBindRequest{.port = port});
  if (reply.error != Error::kOk) return reply.error;
  return UdpSocket{reply.handle, reply.port};
}

Result<size_t> NetClient::UdpSendTo(uint32_t socket, uint32_t ip, uint16_t port,
                                    std::span<const uint8_t> data) {
  if (data.size() > kMaxUdpPayload) return Error::kMessageTooLong;
  const UdpReply reply =
      Ask(UdpSendToRequest{.handle = socket,
                               .ip = ip,
                               .address = reinterpret_cast<uint64_t>(data.data()),
                               .length = static_cast<uint32_t>(data.size()),
                               .port = port});
  if (reply.error != Error::kOk) return reply.error;
  return static_cast<size_t>(reply.length);
}

Result<Datagram> NetClient::UdpRecvFrom(uint32_t socket, std::span<uint8_t> out,
                                        Blocking blocking) {
  if (out.size() > UINT32_MAX) return Error::kInvalidArgument;
  const UdpReply reply =
      Ask(UdpRecvFromRequest{.handle = socket,
                                 .flags = blocking == Blocking::kNo ? kNonBlocking : 0u,
                                 .address = reinterpret_cast<uint64_t>(out.data()),
                                 .length = static_cast<uint32_t>(out.size())});
  if (reply.error != Error::kOk) return reply.error;
  return Datagram{.length = reply.length,
                  .datagram_length = reply.datagram_length,
                  .truncated = (reply.flags & kUdpTruncated) != 0,
                  .ip = reply.ip,
                  .port = reply.port};
}

Error NetClient::UdpClose(uint32_t socket) {
  return Ask(UdpCloseRequest{.handle = socket}).error;
}

const char* FormatIp(uint32_t ip, char (&out)[16]) {
  // Network byte order: the first octet is the lowest byte on x86.
  int at = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned octet = (ip >> (8 * i)) & 0xff;
    if (octet >= 100) out[at++] = static_cast<char>('0' + octet / 100);
    if (octet >= 10) out[at++] = static_cast<char>('0' + octet / 10 % 10);
    out[at++] = static_cast<char>('0' + octet % 10);
    out[at++] = i < 3 ? '.' : '\0';
  }
  return out;
}

bool ParseIp(std::string_view text, uint32_t* ip) {
  uint32_t result = 0;
  int octets = 0;
  size_t at = 0;
  while (octets < 4) {
    uint32_t value = 0;
    size_t digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 3) {
      value = value * 10 + static_cast<uint32_t>(text[at++] - '0');
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    result |= value << (8 * octets++);
    if (octets < 4) {
      if (at >= text.size() || text[at] != '.') return false;
      ++at;
    }
  }
  if (at != text.size()) return false;
  *ip = result;
  return true;
}

const char* ErrorName(Error error) {
  switch (error) {
    case Error::kOk: return "kOk";
    case Error::kWouldBlock: return "kWouldBlock";
    case Error::kBadHandle: return "kBadHandle";
    case Error::kBusy: return "kBusy";
    case Error::kTooManySockets: return "kTooManySockets";
    case Error::kAddressInUse: return "kAddressInUse";
    case Error::kRefused: return "kRefused";
    case Error::kReset: return "kReset";
    case Error::kClosed: return "kClosed";
    case Error::kNotConnected: return "kNotConnected";
    case Error::kInvalidArgument: return "kInvalidArgument";
    case Error::kNoMemory: return "kNoMemory";
    case Error::kNoService: return "kNoService";
    case Error::kTimedOut: return "kTimedOut";
    case Error::kMessageTooLong: return "kMessageTooLong";
    case Error::kNoRoute: return "kNoRoute";
  }
  return "unknown";
}

}  // namespace uk::net
