#include "apps/webserver/connection.h"

#include <algorithm>
#include <new>
#include <span>
#include <string_view>

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
constexpr size_t kHeadRoom = 1024;           // a file's response head fits (ResponseHead checks)
constexpr size_t kChunkBytes = 32 * 1024;    // file data per fs read / net send
// The head buffer also holds generated responses, the largest being a
// redirect whose Location repeats the request's path percent-encoded: the
// path is no longer than the request line the parser accepts.
constexpr size_t kHeadBytes = std::max(kHeadRoom, http::RedirectBufferSize(http::Limits{}.max_request_line));
// What a lingering close reads and throws away at most, besides its time limit.
constexpr uint64_t kLingerDiscardBytes = 1024 * 1024;
constexpr std::string_view kServerName = "uk";

// A connection's buffers, on the heap: threads have small stacks. File data
// is read to `out + kHeadRoom` and the head is written just before it, so a
// small file goes out as one send (one message to the net core, and often
// one TCP segment).
struct State {
  char request[kRequestBytes];
  size_t have = 0;
  uint8_t out[kHeadRoom + kChunkBytes];
  char head[kHeadBytes];
  char path[fs::kMaxPath];

  std::span<uint8_t> chunk() { return {out + kHeadRoom, kChunkBytes}; }
};

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

  // The last piece of a response is not sent by Respond: it waits here, so
  // that Serve can send it together with the receive of the next request
  // (NetClient::SendRecv, one round trip to the net core instead of two).
  // It lives in the connection's out or head buffer, untouched until sent.
  bool has_last() const { return last_length_ > 0; }
  std::span<const uint8_t> last() const { return {last_, last_length_}; }
  void ForgetLast() { last_length_ = 0; }
  // Sends the waiting last piece on its own (the connection closes, or a
  // pipelined request is already here).
  bool SendLast() {
    const bool sent = Send(last_, last_length_);
    ForgetLast();
    return sent;
  }

 private:
  http::ResponseContext Context(const http::Request& request) const {
    return {kServerName, server_.now(),
            request.keep_alive ? http::Persistence::kKeepAlive : http::Persistence::kClose,
            request.method};
  }
  bool Send(const void* data, size_t length) {
    const net::Result<size_t> sent =
        server_.net().Send(connection_.socket, {static_cast<const uint8_t*>(data), length});
    server_.SendProgressed(&connection_);  // the send limit counts from here again
    return sent.ok() && sent.value() == length;
  }
  // The response's last piece: kept for Serve (see last()). True: so far so
  // good (its own send has not happened yet).
  bool Last(const void* data, size_t length) {
    last_ = static_cast<const uint8_t*>(data);
    last_length_ = length;
    return true;
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
  // `path` is a regular file whose first `have` bytes are in the chunk.
  Outcome File(const http::Request& request, std::string_view path, const fs::Stat& stat,
               size_t have);

  Server& server_;
  Server::Connection& connection_;
  State& state_;
  const uint8_t* last_ = nullptr;
  size_t last_length_ = 0;
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

  // One round trip to the fs core: the file's Stat and its first chunk.
  fs::Stat stat;
  fs::Result<size_t> read = server_.fs().ReadPath(path, 0, state_.chunk(), &stat);
  if (read.ok() && stat.type == fs::FileType::kRegular) return File(request, path, stat, read.value());
  if (read.error() != fs::Error::kIsDirectory) {
    return Fail(request, read.ok() ? http::Status::kNotFound : StatusOf(read.error()));
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
  read = server_.fs().ReadPath(index, 0, state_.chunk(), &stat);
  if (read.ok() && stat.type == fs::FileType::kRegular) return File(request, index, stat, read.value());
  return Fail(request, read.ok() || read.error() == fs::Error::kIsDirectory
                           ? http::Status::kNotFound
                           : StatusOf(read.error()));
}

Outcome Responder::Built(const http::Request& request, std::string_view path) {
  if (path != "/" && path != "/index.html") return Fail(request, http::Status::kNotFound);
  char* page = reinterpret_cast<char*>(state_.chunk().data());
  const size_t length = RenderStatusPage(server_, page, kChunkBytes);
  http::ResponseHead head(state_.head, http::Status::kOk);
  head.AddServer(kServerName);
  head.AddDate(server_.now());
  head.AddContentType("text/html; charset=utf-8");
  head.AddContentLength(length);
  head.AddField("Cache-Control", "no-store");
  head.AddConnection(Context(request).persistence);
  const http::WriteResult<size_t> head_length = head.Finish();
  if (!head_length.ok() || head_length.value() > kHeadRoom || request.method == http::Method::kHead) {
    return {http::Status::kOk, 0, SendWritten(head_length, request.method)};
  }
  // Head and page in one piece: the head goes right before the page.
  uint8_t* start = state_.chunk().data() - head_length.value();
  std::copy_n(state_.head, head_length.value(), start);
  return {http::Status::kOk, length, Last(start, head_length.value() + length)};
}

Outcome Responder::File(const http::Request& request, std::string_view path,
                        const fs::Stat& stat, size_t have) {
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

  // kHeadRoom, not the whole head buffer: the head is copied in front of
  // the data, into the room before the chunk.
  http::ResponseHead head({state_.head, kHeadRoom}, status);
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
  if (!head_length.ok()) return Fail(request, http::Status::kInternalServerError);
  const bool body = request.method != http::Method::kHead && length > 0;
  if (!body) return {status, 0, SendWritten(head_length, request.method)};

  // The first piece of the body: from the chunk already read, or read now
  // (a range that starts beyond it).
  uint8_t* data = state_.chunk().data();
  size_t available = have > first ? have - static_cast<size_t>(first) : 0;
  if (available > 0) {
    data += first;
  } else {
    const fs::Result<size_t> read = server_.fs().ReadPath(path, first, state_.chunk(), nullptr);
    if (!read.ok() || read.value() == 0) return Fail(request, http::Status::kInternalServerError);
    available = read.value();
  }
  // Head and first piece in one send: the head goes right before the data.
  size_t piece = static_cast<size_t>(std::min<uint64_t>(available, length));
  uint8_t* start = data - head_length.value();
  std::copy_n(state_.head, head_length.value(), start);
  // The last piece waits for Serve; the others go now (the next read
  // reuses the chunk).
  const auto send = [&](const uint8_t* data, size_t size, bool last) {
    return last ? Last(data, size) : Send(data, size);
  };
  bool ok = send(start, head_length.value() + piece, piece == length);
  // The rest, a chunk at a time.
  for (uint64_t done = piece; ok && done < length; done += piece) {
    const fs::Result<size_t> read =
        server_.fs().ReadPath(path, first + done, state_.chunk(), nullptr);
    piece = read.ok() ? static_cast<size_t>(std::min<uint64_t>(read.value(), length - done)) : 0;
    ok = piece > 0 && send(state_.chunk().data(), piece, done + piece == length);
  }
  return {status, length, ok};
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
                        responder.SendLast();
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
      // The response's last piece and the next request, in one round trip.
      server.EnterPhase(&connection, Server::Phase::kIdle);
      const net::NetClient::Exchanged exchanged = server.net().SendRecv(
          connection.socket, responder.last(),
          {reinterpret_cast<uint8_t*>(state->request), kRequestBytes});
      const bool sent = exchanged.sent == responder.last().size();
      responder.ForgetLast();
      if (!sent || exchanged.error != net::Error::kOk || exchanged.received == 0) break;
      server.EnterPhase(&connection, Server::Phase::kRequest);
      connection.any_request = true;
      connection.last_activity_ms = NowMs();
      state->have = exchanged.received;
      continue;
    }
    if (responder.has_last() && !responder.SendLast()) break;
    server.EnterPhase(&connection, state->have > 0 ? Server::Phase::kRequest : Server::Phase::kIdle);
    if (!keep) break;
  }
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
