#include "images/webserver/connection.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "images/webserver/status_page.h"
#include "services/http/conditional.h"
#include "services/http/mime.h"
#include "services/http/path.h"
#include "services/http/range.h"
#include "services/http/request.h"
#include "services/http/response.h"

namespace uk::web {
namespace {

constexpr size_t kRequestBytes = 16 * 1024;  // > request line + header limits
constexpr size_t kChunkBytes = 32 * 1024;    // file data per fs read / net send
constexpr std::string_view kServerName = "uk";

// A connection's buffers, on the heap: threads have small stacks.
struct State {
  char request[kRequestBytes];
  size_t have = 0;
  uint8_t chunk[kChunkBytes];
  char head[1024];
  char path[fs::kMaxPath];
};

// What one response was, for the access log.
struct Outcome {
  http::Status status = http::Status::kOk;
  uint64_t bytes = 0;
  bool keep_open = true;  // false: the connection cannot go on (send failed)
};

class Responder {
 public:
  Responder(Server& server, Server::Connection& connection, State& state)
      : server_(server), connection_(connection), state_(state) {}

  Outcome Respond(const http::Request& request);
  bool SendError(http::Status status, http::Method method, http::Persistence persistence);

 private:
  http::ResponseContext Context(const http::Request& request) const {
    return {kServerName, server_.now(),
            request.keep_alive ? http::Persistence::kKeepAlive : http::Persistence::kClose,
            request.method};
  }
  bool Send(const void* data, size_t length) {
    const net::Result<size_t> sent =
        server_.net().Send(connection_.socket, {static_cast<const uint8_t*>(data), length});
    connection_.last_activity_ms = NowMs();
    return sent.ok() && sent.value() == length;
  }
  bool SendWritten(const http::WriteResult<size_t>& written) {
    return written.ok() && Send(state_.head, written.value());
  }
  Outcome Built(const http::Request& request, std::string_view path);
  Outcome File(const http::Request& request, std::string_view path, const fs::Stat& stat);
  bool SendBody(uint32_t file, uint64_t first, uint64_t length);

  Server& server_;
  Server::Connection& connection_;
  State& state_;
};

bool Responder::SendError(http::Status status, http::Method method,
                          http::Persistence persistence) {
  const http::ResponseContext context{kServerName, server_.now(), persistence, method};
  return SendWritten(http::WriteErrorResponse(state_.head, status, context));
}

Outcome Responder::Respond(const http::Request& request) {
  const http::Result<http::NormalizedPath> normalized =
      http::NormalizePath(request.target, state_.path);
  if (!normalized.ok()) {
    return {normalized.error(), 0,
            SendError(normalized.error(), request.method, Context(request).persistence)};
  }
  const std::string_view path = normalized.value().path;
  if (!server_.config().has_site) return Built(request, path);

  fs::Result<fs::Stat> stat = server_.fs().StatPath(path);
  if (stat.ok() && stat.value().type == fs::FileType::kDirectory) {
    if (!normalized.value().ended_with_slash && path != "/") {
      // "/docs" -> "/docs/", so the page's relative links resolve.
      char location[fs::kMaxPath + 1];
      const size_t n = std::min(path.size(), sizeof(location) - 1);
      std::copy_n(path.data(), n, location);
      location[n] = '/';
      const bool sent =
          SendWritten(http::WriteRedirect(state_.head, {location, n + 1}, Context(request)));
      return {http::Status::kMovedPermanently, 0, sent};
    }
    // The directory's index.html; no listings.
    constexpr std::string_view kIndex = "/index.html";
    const size_t base = path == "/" ? 0 : path.size();
    if (base + kIndex.size() >= sizeof(state_.path)) {
      return {http::Status::kNotFound, 0,
              SendError(http::Status::kNotFound, request.method, Context(request).persistence)};
    }
    std::copy(kIndex.begin(), kIndex.end(), state_.path + base);
    const std::string_view index{state_.path, base + kIndex.size()};
    stat = server_.fs().StatPath(index);
    if (stat.ok() && stat.value().type == fs::FileType::kRegular) {
      return File(request, index, stat.value());
    }
  } else if (stat.ok() && stat.value().type == fs::FileType::kRegular) {
    return File(request, path, stat.value());
  }
  // Missing, not a regular file, or a disk error the client cannot fix.
  const bool missing = stat.ok() || stat.error() == fs::Error::kNotFound ||
                       stat.error() == fs::Error::kNotDirectory ||
                       stat.error() == fs::Error::kNameTooLong ||
                       stat.error() == fs::Error::kTooManySymlinks;
  const http::Status status =
      missing ? http::Status::kNotFound : http::Status::kInternalServerError;
  return {status, 0, SendError(status, request.method, Context(request).persistence)};
}

Outcome Responder::Built(const http::Request& request, std::string_view path) {
  if (path != "/" && path != "/index.html") {
    return {http::Status::kNotFound, 0,
            SendError(http::Status::kNotFound, request.method, Context(request).persistence)};
  }
  const size_t length = RenderStatusPage(server_, reinterpret_cast<char*>(state_.chunk),
                                         sizeof(state_.chunk));
  http::ResponseHead head(state_.head, http::Status::kOk);
  head.AddServer(kServerName);
  head.AddDate(server_.now());
  head.AddContentType("text/html; charset=utf-8");
  head.AddContentLength(length);
  head.AddField("Cache-Control", "no-store");
  head.AddConnection(Context(request).persistence);
  bool sent = SendWritten(head.Finish());
  if (sent && request.method != http::Method::kHead) sent = Send(state_.chunk, length);
  return {http::Status::kOk, request.method == http::Method::kHead ? 0 : length, sent};
}

Outcome Responder::File(const http::Request& request, std::string_view path,
                        const fs::Stat& stat) {
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
      const bool sent =
          SendWritten(http::WriteRangeNotSatisfiable(state_.head, stat.size, context));
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
  const bool body = request.method != http::Method::kHead && length > 0;
  // Open before the head goes out, so a failure can still be a 503/500.
  fs::Result<uint32_t> file = fs::Error::kNotFound;
  if (body) {
    file = server_.fs().Open(path);
    if (!file.ok()) {
      const http::Status error = file.error() == fs::Error::kTooManyOpenFiles
                                     ? http::Status::kServiceUnavailable
                                     : http::Status::kInternalServerError;
      return {error, 0, SendError(error, request.method, context.persistence)};
    }
  }
  if (!SendWritten(head.Finish())) {
    if (body) (void)server_.fs().Close(file.value());
    return {status, 0, false};
  }
  if (!body) return {status, 0, true};
  return {status, length, SendBody(file.value(), first, length)};
}

// The file's bytes [first, first + length), a chunk at a time: fs read into
// the connection's buffer, then send; closes the file. False if either side
// failed: the head promised a length, so the connection must close.
bool Responder::SendBody(uint32_t file, uint64_t first, uint64_t length) {
  bool ok = true;
  for (uint64_t done = 0; ok && done < length;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunkBytes, length - done));
    const fs::Result<size_t> read = server_.fs().Read(file, first + done, {state_.chunk, want});
    ok = read.ok() && read.value() == want && Send(state_.chunk, want);
    done += want;
  }
  (void)server_.fs().Close(file);
  return ok;
}

std::string_view MethodName(const http::Request& request) {
  return request.method_name.empty() ? std::string_view("-") : request.method_name;
}

}  // namespace

void Serve(Server& server, Server::Connection& connection) {
  auto* state = new State;
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
      if (state->have == 0) connection.request_started_ms = NowMs();
      connection.last_activity_ms = NowMs();
      state->have += n.value();
      continue;
    }
    if (parsed.status == http::ParseStatus::kError) {
      responder.SendError(parsed.error, request.method, http::Persistence::kClose);
      server.log().Request(MethodName(request), "-", http::StatusCode(parsed.error), 0);
      break;
    }
    const Outcome outcome = responder.Respond(request);
    server.CountRequest();
    server.log().Request(MethodName(request), request.target, http::StatusCode(outcome.status),
                         outcome.bytes);
    // The next pipelined request, if any, moves to the front.
    std::copy(state->request + parsed.consumed, state->request + state->have, state->request);
    state->have -= parsed.consumed;
    connection.request_started_ms = state->have > 0 ? NowMs() : 0;
    if (!outcome.keep_open || !request.keep_alive || connection.timed_out) break;
  }
  delete state;
}

void RefuseBusy(Server& server, Server::Connection& connection) {
  char head[512];
  const http::ResponseContext context{kServerName, server.now(), http::Persistence::kClose,
                                      http::Method::kGet};
  const http::WriteResult<size_t> written =
      http::WriteErrorResponse(head, http::Status::kServiceUnavailable, context);
  if (written.ok()) (void)server.net().Send(connection.socket, {reinterpret_cast<uint8_t*>(head),
                                                                 written.value()});
  server.log().Request("-", "-", 503, 0);
}

}  // namespace uk::web
