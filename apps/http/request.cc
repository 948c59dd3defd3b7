// The request parser: a forward scan of lines with per-byte checks, so
// errors come out in byte order whatever the buffer's length (request.h).

#include "apps/http/request.h"

#include "apps/http/text.h"

namespace uk::http {
namespace {

struct Line {
  std::string_view content;  // without the line ending
  size_t end = 0;            // offset just past the line ending
};

enum class Scan : uint8_t { kLine, kIncomplete, kInvalid, kTooLong };

// Scans the line starting at `start`: content bytes until LF or CRLF. The
// (max_content + 1)th content byte is kTooLong; a byte `valid` refuses, or
// a CR not followed by LF, is kInvalid. Each byte is judged before the
// next is looked at, which keeps errors in byte order.
template <typename ByteCheck>
Scan ScanLine(std::string_view buffer, size_t start, size_t max_content,
              ByteCheck&& valid, Line* line) {
  for (size_t i = start; i < buffer.size(); ++i) {
    const char c = buffer[i];
    if (c == '\n' || c == '\r') {
      size_t end = i + 1;
      if (c == '\r') {
        if (end == buffer.size()) return Scan::kIncomplete;
        if (buffer[end] != '\n') return Scan::kInvalid;
        ++end;
      }
      *line = {buffer.substr(start, i - start), end};
      return Scan::kLine;
    }
    if (i - start >= max_content) return Scan::kTooLong;
    if (!valid(c)) return Scan::kInvalid;
  }
  return Scan::kIncomplete;
}

ParseResult Incomplete() { return {ParseStatus::kIncomplete, 0, Status::kOk}; }
ParseResult Fail(Status status) { return {ParseStatus::kError, 0, status}; }

ParseResult FromScan(Scan scan, Status too_long) {
  switch (scan) {
    case Scan::kIncomplete:
      return Incomplete();
    case Scan::kTooLong:
      return Fail(too_long);
    default:
      return Fail(Status::kBadRequest);
  }
}

// method SP request-target SP HTTP-version, already checked to hold only
// SP and visible ASCII.
Status ParseRequestLine(std::string_view line, Request* out) {
  const size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) return Status::kBadRequest;
  const size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return Status::kBadRequest;
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target =
      line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (method.empty() || target.empty() || version.find(' ') != std::string_view::npos) {
    return Status::kBadRequest;
  }
  for (char c : method) {
    if (!IsTokenChar(c)) return Status::kBadRequest;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return Status::kBadRequest;
  }
  out->method_name = method;
  out->target = target;
  out->method = method == "GET"    ? Method::kGet
                : method == "HEAD" ? Method::kHead
                                   : Method::kOther;
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Status::kVersionNotSupported;
  }
  out->version_minor = static_cast<uint8_t>(version[7] - '0');
  if (method.size() > kMaxMethodLength) return Status::kNotImplemented;
  if (out->method == Method::kOther) return Status::kMethodNotAllowed;
  return Status::kOk;
}

// What the field lines said, beyond what goes straight into Request.
struct FieldState {
  bool seen_host = false;
  bool connection_close = false;
  bool connection_keep_alive = false;
  // Bits of the singleton fields seen so far (kIfNoneMatch...).
  uint8_t seen_singletons = 0;
};

// Content-Length: 1*DIGIT, or a list of identical values ("5, 5"), which
// RFC 9112 section 6.3 lets a recipient accept. Returns false on anything
// else, including a value past UINT64_MAX.
bool ParseContentLength(std::string_view value, uint64_t* length) {
  bool have = false;
  while (true) {
    const size_t comma = value.find(',');
    uint64_t v = 0;
    bool overflow = false;
    if (!ParseDecimal(TrimOws(value.substr(0, comma)), &v, &overflow) || overflow) {
      return false;
    }
    if (have && v != *length) return false;
    *length = v;
    have = true;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

void ParseConnection(std::string_view value, FieldState* state) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view option = TrimOws(value.substr(0, comma));
    if (EqualsIgnoreCase(option, "close")) state->connection_close = true;
    if (EqualsIgnoreCase(option, "keep-alive")) state->connection_keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Stores a field that may appear once; a second one empties it for good.
void SetSingleton(std::string_view value, uint8_t bit, FieldState* state,
                  std::string_view* field) {
  if ((state->seen_singletons & bit) != 0) {
    *field = {};
    return;
  }
  state->seen_singletons |= bit;
  *field = value;
}

Status ApplyField(std::string_view name, std::string_view value, const Limits& limits,
                  FieldState* state, Request* out) {
  if (EqualsIgnoreCase(name, "host")) {
    // RFC 9112 section 3.2: more than one Host is a 400.
    if (state->seen_host) return Status::kBadRequest;
    state->seen_host = true;
    out->host = value;
  } else if (EqualsIgnoreCase(name, "content-length")) {
    uint64_t length = 0;
    if (!ParseContentLength(value, &length)) return Status::kBadRequest;
    if (out->has_content_length && length != out->content_length) return Status::kBadRequest;
    out->has_content_length = true;
    out->content_length = length;
    if (length > limits.max_body) return Status::kContentTooLarge;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    return Status::kNotImplemented;  // no chunked request bodies here
  } else if (EqualsIgnoreCase(name, "connection")) {
    ParseConnection(value, state);
  } else if (EqualsIgnoreCase(name, "if-none-match")) {
    SetSingleton(value, 1, state, &out->if_none_match);
  } else if (EqualsIgnoreCase(name, "if-modified-since")) {
    SetSingleton(value, 2, state, &out->if_modified_since);
  } else if (EqualsIgnoreCase(name, "if-range")) {
    SetSingleton(value, 4, state, &out->if_range);
  } else if (EqualsIgnoreCase(name, "range")) {
    SetSingleton(value, 8, state, &out->range);
  }
  return Status::kOk;
}

}  // namespace

ParseResult ParseRequest(std::string_view buffer, const Limits& limits, Request* out) {
  *out = Request{};
  size_t pos = 0;

  // Empty lines before the request line (RFC 9112 section 2.2).
  for (size_t skipped = 0;; ++skipped) {
    if (pos == buffer.size()) return Incomplete();
    size_t end = pos;
    if (buffer[end] == '\r') {
      if (++end == buffer.size()) return Incomplete();
      if (buffer[end] != '\n') return Fail(Status::kBadRequest);
    }
    if (buffer[end] != '\n') break;
    if (skipped == kMaxLeadingEmptyLines) return Fail(Status::kBadRequest);
    pos = end + 1;
  }

  Line line;
  Scan scan = ScanLine(
      buffer, pos, limits.max_request_line, [](char c) { return c == ' ' || IsVisible(c); },
      &line);
  if (scan != Scan::kLine) return FromScan(scan, Status::kUriTooLong);
  if (const Status status = ParseRequestLine(line.content, out); status != Status::kOk) {
    return Fail(status);
  }
  pos = line.end;

  FieldState state;
  size_t header_bytes = 0;
  size_t header_count = 0;
  while (true) {
    if (pos == buffer.size()) return Incomplete();
    const char first = buffer[pos];
    if (first == '\r' || first == '\n') {  // the empty line that ends the head
      if (first == '\r') {
        if (pos + 1 == buffer.size()) return Incomplete();
        if (buffer[pos + 1] != '\n') return Fail(Status::kBadRequest);
        ++pos;
      }
      ++pos;
      break;
    }
    // A field line starting with whitespace is obs-fold (or whitespace
    // between the request line and the first field): RFC 9112 section 5.2
    // lets a server reject it, and we do.
    if (IsOws(first)) return Fail(Status::kBadRequest);
    if (++header_count > limits.max_headers) return Fail(Status::kHeaderFieldsTooLarge);

    size_t name_length = 0;
    bool in_value = false;
    auto valid = [&](char c) {
      if (in_value) {
        return c == '\t' || !IsControl(c);  // SP, VCHAR, obs-text
      }
      if (c == ':') {
        in_value = true;
        return name_length > 0;
      }
      ++name_length;
      return IsTokenChar(c);  // so whitespace before the colon is refused
    };
    scan = ScanLine(buffer, pos, limits.max_header_bytes - header_bytes, valid, &line);
    if (scan != Scan::kLine) return FromScan(scan, Status::kHeaderFieldsTooLarge);
    header_bytes += line.end - pos;
    if (header_bytes > limits.max_header_bytes) return Fail(Status::kHeaderFieldsTooLarge);
    if (!in_value) return Fail(Status::kBadRequest);  // no colon
    const std::string_view name = line.content.substr(0, name_length);
    const std::string_view value = TrimOws(line.content.substr(name_length + 1));
    if (const Status status = ApplyField(name, value, limits, &state, out);
        status != Status::kOk) {
      return Fail(status);
    }
    pos = line.end;
  }

  if (out->version_minor == 1 && !state.seen_host) return Fail(Status::kBadRequest);
  // A body within max_body is read and dropped, so the next request's
  // bytes are where the client meant them to be.
  if (out->content_length > buffer.size() - pos) return Incomplete();
  pos += out->content_length;

  out->keep_alive = out->version_minor == 1 ? !state.connection_close
                                            : state.connection_keep_alive && !state.connection_close;
  return {ParseStatus::kComplete, pos, Status::kOk};
}

}  // namespace uk::http
