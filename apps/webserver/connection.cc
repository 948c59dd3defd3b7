#include "apps/webserver/connection.h"

#include <algorithm>
#include <new>
#include <span>
#include <string_view>
#include <utility>

#include "apps/http/conditional.h"
#include "apps/http/mime.h"
#include "apps/http/path.h"
#include "apps/http/range.h"
#include "apps/http/request.h"
#include "apps/http/response.h"
#include "apps/webserver/status_page.h"
#include "kernel/mm/heap.h"

namespace uk::web {
namespace {

constexpr size_t kRequestBytes = 16 * 1024;  // > request line + header limits
// File bytes asked for per lease (fewer come if they need more than
// fs::LeaseExtents::kMaxExtents extents): a 64 KiB file in one, when its
// blocks are adjacent.
constexpr uint32_t kLendBytes = 64 * 1024;
// File bytes per read when lending is at its limits, and the status page.
constexpr size_t kChunkBytes = 32 * 1024;
// The head buffer holds response heads and generated responses, the
// largest being a redirect whose Location repeats the request's path
// percent-encoded: the path is no longer than the request line the parser
// accepts.
constexpr size_t kHeadBytes = std::max<size_t>(1024, http::RedirectBufferSize(http::Limits{}.max_request_line));
// What a lingering close reads and throws away at most, besides its time limit.
constexpr uint64_t kLingerDiscardBytes = 1024 * 1024;
constexpr std::string_view kServerName = "uk";

// A connection's buffers, on the heap: threads have small stacks. A
// response goes out as a list of pieces, one send (one message to the net
// core): its head, copied from `head`, then the file's bytes, sent by
// reference from the fs cache pages lent to us (or copied from `chunk` when
// lending is at its limits).
struct State {
  char request[kRequestBytes];
  size_t have = 0;
  uint8_t chunk[kChunkBytes];
  char head[kHeadBytes];
  char path[fs::kMaxPath];
  net::SendPiece pieces[net::TcpSendRecvRequest::kMaxPieces];
};
static_assert(fs::LeaseExtents::kMaxExtents + 1 <= net::TcpSendRecvRequest::kMaxPieces,
              "a head and a lease's extents are one send");

// What one response was, for the access log.
struct Outcome {
  http::Status status = http::Status::kOk;
  uint64_t bytes = 0;
  bool keep_open = true;  // false: the connection cannot go on (a send failed)
};

class Responder {
 public:
  Responder(Server& server, Server::Connection& connection, State& state)
      : server_(server), connection_(connection), state_(state) {}

  Outcome Respond(const http::Request& request);
  bool SendError(http::Status status, http::Method method, http::Persistence persistence);

  // The last pieces of a response are not sent by Respond: they wait in
  // state_.pieces, so that Serve can send them together with the receive
  // of the next request (one round trip to the net core instead of two).
  bool has_last() const { return last_count_ > 0; }
  // Sends them, then receives into `next` (empty: no receive) and sets
  // *received (0: the end of the stream). True if all was sent and the
  // receive did not fail.
  bool SendLast(std::span<uint8_t> next, size_t* received) {
    const net::NetClient::Exchanged done = SendPieces(last_count_, last_lease_, next);
    const bool sent = done.error == net::Error::kOk && done.sent == last_bytes_;
    last_count_ = 0;
    if (received != nullptr) *received = done.received;
    return sent;
  }
  // At the connection's end: a lease the net service gave back is ended.
  void ReleaseReturned() { (void)server_.fs().Release(std::exchange(returned_lease_, 0)); }

 private:
  http::ResponseContext Context(const http::Request& request) const {
    return {kServerName, server_.now(),
            request.keep_alive ? http::Persistence::kKeepAlive : http::Persistence::kClose,
            request.method};
  }
  // Sends state_.pieces[0, count), then receives into `next`. Bytes of lease
  // `lease` go by reference: the net service ends the lease itself (its
  // return notice is the fs ReleaseRequest) once the peer has them, or
  // gives it back in the reply (`held` false) and it is ended with our next
  // Lend.
  net::NetClient::Exchanged SendPieces(size_t count, uint32_t lease, std::span<uint8_t> next) {
    const net::NetClient::Exchanged done = server_.net().SendRecv(
        connection_.socket, {state_.pieces, count}, next,
        {server_.fs().server(), fs::ReleaseRequest::kKind, lease});
    server_.SendProgressed(&connection_);  // the send limit counts from here again
    if (!done.held) Returned(lease);
    return done;
  }
  // Lease `lease` (0: none) is ours to end again: with the next Lend.
  void Returned(uint32_t lease) {
    if (lease == 0) return;
    if (returned_lease_ != 0) (void)server_.fs().Release(returned_lease_);
    returned_lease_ = lease;
  }
  // Up to kLendBytes of the file at `path` from `offset`, and its Stat unless
  // `stat` is null: lent, or, when lending is at its limits, read into the
  // chunk and described as a lease with id 0 (copied when sent).
  fs::Result<fs::Lease> Borrow(std::string_view path, uint64_t offset, fs::Stat* stat);
  // The response's last pieces, state_.pieces[0, count), kept for Serve.
  // True: so far so good (their send has not happened yet).
  bool Last(size_t count, uint32_t lease) {
    last_count_ = count;
    last_lease_ = lease;
    last_bytes_ = 0;
    for (size_t i = 0; i < count; ++i) last_bytes_ += state_.pieces[i].length;
    return true;
  }
  bool Last(const void* data, size_t length) {
    state_.pieces[0] = {reinterpret_cast<uint64_t>(data), static_cast<uint32_t>(length), 0};
    return Last(1, 0);
  }
  // A generated response (always the whole response). One that does not
  // fit (it always should) is answered with a 500 rather than nothing.
  bool SendWritten(const http::WriteResult<size_t>& written, http::Method method) {
    if (written.ok()) return Last(state_.head, written.value());
    const http::ResponseContext context{kServerName, server_.now(), http::Persistence::kClose,
                                        method};
    const http::WriteResult<size_t> error = http::WriteErrorResponse(
        state_.head, http::Status::kInternalServerError, context);
    if (error.ok()) (void)Last(state_.head, error.value());
    return false;  // closes the connection
  }
  Outcome Fail(const http::Request& request, http::Status status) {
    return {status, 0, SendError(status, request.method, Context(request).persistence)};
  }
  Outcome Built(const http::Request& request, std::string_view path);
  // `path` is a regular file, whose first `lease.bytes` bytes `lease` holds.
  Outcome File(const http::Request& request, std::string_view path, const fs::Stat& stat,
               fs::Lease lease);

  Server& server_;
  Server::Connection& connection_;
  State& state_;
  size_t last_count_ = 0;
  uint32_t last_lease_ = 0;
  uint64_t last_bytes_ = 0;
  uint32_t returned_lease_ = 0;
  fs::LentExtent chunk_extent_;  // Borrow's copy, as an extent
};

bool Responder::SendError(http::Status status, http::Method method,
                          http::Persistence persistence) {
  const http::ResponseContext context{kServerName, server_.now(), persistence, method};
  return SendWritten(http::WriteErrorResponse(state_.head, status, context), method);
}

// fs errors the client caused (no such file) are 404; the rest are ours.
http::Status StatusOf(fs::Error error) {
  switch (error) {
    case fs::Error::kNotFound:
    case fs::Error::kNotDirectory:
    case fs::Error::kNameTooLong:
    case fs::Error::kTooManySymlinks:
    case fs::Error::kInvalidPath:
      return http::Status::kNotFound;
    default:
      return http::Status::kInternalServerError;
  }
}

Outcome Responder::Respond(const http::Request& request) {
  const http::Result<http::NormalizedPath> normalized =
      http::NormalizePath(request.target, state_.path);
  if (!normalized.ok()) return Fail(request, normalized.error());
  const std::string_view path = normalized.value().path;
  if (!server_.config().has_site) return Built(request, path);

  // One round trip to the fs core: the file's Stat and its first bytes.
  fs::Stat stat;
  fs::Result<fs::Lease> lent = Borrow(path, 0, &stat);
  if (lent.ok() && stat.type == fs::FileType::kRegular) return File(request, path, stat, lent.value());
  if (lent.ok()) Returned(lent.value().id);
  if (lent.error() != fs::Error::kIsDirectory) {
    return Fail(request, lent.ok() ? http::Status::kNotFound : StatusOf(lent.error()));
  }
  if (!normalized.value().ended_with_slash && path != "/") {
    // "/docs" -> "/docs/", so the page's relative links resolve.
    char location[fs::kMaxPath + 1];
    const size_t n = std::min(path.size(), sizeof(location) - 1);
    std::copy_n(path.data(), n, location);
    location[n] = '/';
    const bool sent = SendWritten(
        http::WriteRedirect(state_.head, {location, n + 1}, Context(request)), request.method);
    return {http::Status::kMovedPermanently, 0, sent};
  }
  // The directory's index.html; no listings.
  constexpr std::string_view kIndex = "/index.html";
  const size_t base = path == "/" ? 0 : path.size();
  if (base + kIndex.size() >= sizeof(state_.path)) return Fail(request, http::Status::kNotFound);
  std::copy(kIndex.begin(), kIndex.end(), state_.path + base);
  const std::string_view index{state_.path, base + kIndex.size()};
  lent = Borrow(index, 0, &stat);
  if (lent.ok() && stat.type == fs::FileType::kRegular) return File(request, index, stat, lent.value());
  if (lent.ok()) Returned(lent.value().id);
  return Fail(request, lent.ok() || lent.error() == fs::Error::kIsDirectory
                           ? http::Status::kNotFound
                           : StatusOf(lent.error()));
}

fs::Result<fs::Lease> Responder::Borrow(std::string_view path, uint64_t offset, fs::Stat* stat) {
  // The lease the net service gave back last is ended by this Lend.
  const uint32_t release = std::exchange(returned_lease_, 0);
  const fs::Result<fs::Lease> lent = server_.fs().Lend(path, offset, kLendBytes, stat, release);
  if (lent.ok() || (lent.error() != fs::Error::kTooManyLeases &&
                    lent.error() != fs::Error::kCacheBusy)) {
    return lent;
  }
  const fs::Result<size_t> read = server_.fs().ReadPath(path, offset, state_.chunk, stat);
  if (!read.ok()) return read.error();
  chunk_extent_ = {state_.chunk, static_cast<uint32_t>(read.value()), 0};
  return fs::Lease{0, read.value(), {&chunk_extent_, 1}};
}

Outcome Responder::Built(const http::Request& request, std::string_view path) {
  if (path != "/" && path != "/index.html") return Fail(request, http::Status::kNotFound);
  char* page = reinterpret_cast<char*>(state_.chunk);
  const size_t length = RenderStatusPage(server_, page, kChunkBytes);
  http::ResponseHead head(state_.head, http::Status::kOk);
  head.AddServer(kServerName);
  head.AddDate(server_.now());
  head.AddContentType("text/html; charset=utf-8");
  head.AddContentLength(length);
  head.AddField("Cache-Control", "no-store");
  head.AddConnection(Context(request).persistence);
  const http::WriteResult<size_t> head_length = head.Finish();
  if (!head_length.ok() || request.method == http::Method::kHead) {
    return {http::Status::kOk, 0, SendWritten(head_length, request.method)};
  }
  state_.pieces[0] = {reinterpret_cast<uint64_t>(state_.head),
                      static_cast<uint32_t>(head_length.value()), 0};
  state_.pieces[1] = {reinterpret_cast<uint64_t>(page), static_cast<uint32_t>(length), 0};
  return {http::Status::kOk, length, Last(2, 0)};
}

Outcome Responder::File(const http::Request& request, std::string_view path,
                        const fs::Stat& stat, fs::Lease lease) {
  char etag_buffer[http::kMaxETagLength];
  const std::string_view etag = http::MakeETag(stat.inode, stat.size, stat.mtime, etag_buffer);
  const http::ResponseContext context = Context(request);

  http::Status status = http::Status::kOk;
  uint64_t first = 0, length = stat.size;
  if (http::IsNotModified(request, etag, stat.mtime)) {
    status = http::Status::kNotModified;
    length = 0;
  } else if (!request.range.empty() && http::IfRangeMatches(request.if_range, etag, stat.mtime)) {
    const http::ByteRange range = http::ParseRange(request.range, stat.size);
    if (range.kind == http::ByteRange::Kind::kUnsatisfiable) {
      Returned(lease.id);
      const bool sent = SendWritten(
          http::WriteRangeNotSatisfiable(state_.head, stat.size, context), request.method);
      return {http::Status::kRangeNotSatisfiable, 0, sent};
    }
    if (range.kind == http::ByteRange::Kind::kSatisfiable) {
      status = http::Status::kPartialContent;
      first = range.first;
      length = range.last - range.first + 1;
    }
  }

  http::ResponseHead head(state_.head, status);
  head.AddServer(kServerName);
  head.AddDate(server_.now());
  if (status != http::Status::kNotModified) {
    head.AddContentType(http::MimeType(path));
    head.AddContentLength(length);
    head.AddAcceptRanges();
  }
  if (status == http::Status::kPartialContent) {
    head.AddContentRange(first, first + length - 1, stat.size);
  }
  head.AddLastModified(stat.mtime);
  head.AddETag(etag);
  head.AddConnection(context.persistence);
  const http::WriteResult<size_t> head_length = head.Finish();
  if (!head_length.ok()) {
    Returned(lease.id);
    return Fail(request, http::Status::kInternalServerError);
  }
  const bool body = request.method != http::Method::kHead && length > 0;
  if (!body) {
    Returned(lease.id);
    return {status, 0, SendWritten(head_length, request.method)};
  }

  // The head, then the body a lease at a time: each lease's extents that
  // the body covers, behind the head in the first send. The last send
  // waits for Serve.
  state_.pieces[0] = {reinterpret_cast<uint64_t>(state_.head),
                      static_cast<uint32_t>(head_length.value()), 0};
  size_t count = 1;
  uint64_t lease_start = 0;  // the file offset of the lease's first byte
  bool lease_used = false;
  for (uint64_t done = 0;;) {
    const uint64_t offset = first + done;
    if (offset >= lease_start + lease.bytes) {  // the next lease (a range may skip the first)
      if (!lease_used) Returned(lease.id);
      const fs::Result<fs::Lease> next = Borrow(path, offset, nullptr);
      if (!next.ok() || next.value().bytes == 0) {
        if (next.ok()) Returned(next.value().id);
        // The file shrank, or the disk failed: a 500 if nothing was sent yet.
        if (done == 0) return Fail(request, http::Status::kInternalServerError);
        return {status, length, false};
      }
      lease = next.value();
      lease_start = offset;
      lease_used = false;
    }
    const uint64_t end = std::min(first + length, lease_start + lease.bytes);
    const uint32_t flags = lease.id != 0 ? net::SendPiece::kByReference : 0;
    uint64_t at = lease_start;
    for (const fs::LentExtent& extent : lease.extents) {
      const uint64_t from = std::max(at, offset), to = std::min(at + extent.length, end);
      if (from < to) {
        state_.pieces[count++] = {reinterpret_cast<uint64_t>(extent.data + (from - at)),
                                  static_cast<uint32_t>(to - from), flags};
      }
      at += extent.length;
    }
    server_.CountFileBytes(flags != 0 ? end - offset : 0, flags != 0 ? 0 : end - offset);
    done += end - offset;
    lease_used = true;
    if (done == length) return {status, length, Last(count, lease.id)};
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; ++i) bytes += state_.pieces[i].length;
    const net::NetClient::Exchanged sent = SendPieces(count, lease.id, {});
    if (sent.error != net::Error::kOk || sent.sent != bytes) return {status, length, false};
    count = 0;
  }
}

std::string_view MethodName(const http::Request& request) {
  return request.method_name.empty() ? std::string_view("-") : request.method_name;
}

// After an error answer the client may still be sending (the rest of a
// request we refused, or one we never read): closing now would reset the
// connection (lwIP answers unread data with RST), and the client could lose
// the answer with it. So: FIN after the answer, then read and discard what
// comes until the client closes, kLingerDiscardBytes, or the watchdog's
// linger limit (ServerConfig::linger_ms), whichever is first.
void LingeringClose(Server& server, Server::Connection& connection, std::span<uint8_t> scratch) {
  if (connection.timed_out) return;
  (void)server.net().Shutdown(connection.socket, net::kShutdownWrite);
  server.EnterPhase(&connection, Server::Phase::kLingering);
  for (uint64_t discarded = 0; discarded < kLingerDiscardBytes;) {
    const net::Result<size_t> n = server.net().Recv(connection.socket, scratch);
    if (!n.ok() || n.value() == 0) break;
    discarded += n.value();
  }
}

}  // namespace

// uk::Allocate, not operator new: it answers nullptr instead of panicking.
void* NewConnectionState() {
  void* block = Allocate(sizeof(State));
  return block != nullptr ? new (block) State : nullptr;
}

void DeleteConnectionState(void* state) { delete static_cast<State*>(state); }

http::WriteResult<size_t> WriteBusyResponse(const Server& server, std::span<char> buffer) {
  const http::ResponseContext context{kServerName, server.now(), http::Persistence::kClose,
                                      http::Method::kGet};
  return http::WriteErrorResponse(buffer, http::Status::kServiceUnavailable, context);
}

void Serve(Server& server, Server::Connection& connection) {
  auto* state = static_cast<State*>(connection.state);
  Responder responder(server, connection, *state);
  const http::Limits limits;
  for (;;) {
    http::Request request;
    const http::ParseResult parsed =
        http::ParseRequest({state->request, state->have}, limits, &request);
    if (parsed.status == http::ParseStatus::kIncomplete) {
      const net::Result<size_t> n = server.net().Recv(
          connection.socket,
          {reinterpret_cast<uint8_t*>(state->request) + state->have, kRequestBytes - state->have});
      if (!n.ok() || n.value() == 0) break;  // closed, reset, or cut off by the watchdog
      if (state->have == 0) server.EnterPhase(&connection, Server::Phase::kRequest);
      connection.any_request = true;
      connection.last_activity_ms = NowMs();
      state->have += n.value();
      continue;
    }
    server.EnterPhase(&connection, Server::Phase::kSending);
    if (parsed.status == http::ParseStatus::kError) {
      const bool sent = responder.SendError(parsed.error, request.method,
                                            http::Persistence::kClose) &&
                        responder.SendLast({}, nullptr);
      server.log().Request(MethodName(request), "-", http::StatusCode(parsed.error), 0);
      if (sent) LingeringClose(server, connection, {reinterpret_cast<uint8_t*>(state->request), kRequestBytes});
      break;
    }
    const Outcome outcome = responder.Respond(request);
    server.CountRequest();
    server.log().Request(MethodName(request), request.target, http::StatusCode(outcome.status),
                         outcome.bytes);
    // The next pipelined request, if any, moves to the front.
    std::copy(state->request + parsed.consumed, state->request + state->have, state->request);
    state->have -= parsed.consumed;
    const bool keep = outcome.keep_open && request.keep_alive && !connection.timed_out;
    if (keep && state->have == 0 && responder.has_last()) {
      // The response's last pieces and the next request, in one round trip.
      server.EnterPhase(&connection, Server::Phase::kIdle);
      size_t received = 0;
      if (!responder.SendLast({reinterpret_cast<uint8_t*>(state->request), kRequestBytes},
                              &received) ||
          received == 0) {
        break;
      }
      server.EnterPhase(&connection, Server::Phase::kRequest);
      connection.any_request = true;
      connection.last_activity_ms = NowMs();
      state->have = received;
      continue;
    }
    if (responder.has_last() && !responder.SendLast({}, nullptr)) break;
    server.EnterPhase(&connection, state->have > 0 ? Server::Phase::kRequest : Server::Phase::kIdle);
    if (!keep) break;
  }
  responder.ReleaseReturned();
}

void RefuseBusy(Server& server, Server::Connection& connection) {
  auto* state = static_cast<State*>(connection.state);
  server.EnterPhase(&connection, Server::Phase::kSending);
  const http::WriteResult<size_t> written = WriteBusyResponse(server, state->head);
  server.log().Request("-", "-", 503, 0);
  if (!written.ok()) return;
  const net::Result<size_t> sent =
      server.net().Send(connection.socket, {reinterpret_cast<uint8_t*>(state->head), written.value()});
  if (sent.ok() && sent.value() == written.value()) {
    LingeringClose(server, connection, {reinterpret_cast<uint8_t*>(state->request), kRequestBytes});
  }
}

}  // namespace uk::web
