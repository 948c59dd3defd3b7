#pragma once
// Incremental, pipelining-safe parsing of HTTP/1.1 requests (RFC 9112) for
// a static-file server: GET and HEAD only, no request bodies worth keeping.
//
// ParseRequest is stateless: the caller appends received bytes to its
// buffer and calls it again from the start of the pending request until it
// answers kComplete or kError. A kComplete answer says how many bytes the
// request took (leading empty lines, head and any ignored body), so the next
// pipelined request starts right after; the caller drops those bytes or
// parses from that offset. Re-scanning from the start costs at most
// max_request_line + max_header_bytes per call, which the limits bound.
//
// Errors are reported as soon as a prefix of the buffer proves them, in
// the order of the bytes: a request line too long for max_request_line
// fails with 414 before its end arrives, a header section over
// max_header_bytes fails with 431 at the first byte past the limit. So
// every prefix of a request answers kIncomplete or the same result as the
// whole request. After kError the server answers with the status given and
// closes the connection: the framing of whatever follows is unknown.
//
// Leniency (RFC 9112 permits each to recipients): bare LF ends a line
// like CRLF; up to kMaxLeadingEmptyLines empty lines before the request
// line are skipped. Strictness: exactly one SP between the request line's
// three parts, obs-fold and whitespace before a field's colon are 400, a
// bare CR or any control character but HTAB in the request line or a
// field value is 400, a field name must be a token.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "apps/http/status.h"

namespace uk::http {

inline constexpr size_t kMaxLeadingEmptyLines = 4;
// A token longer than this where the method goes is answered with 501
// (RFC 9112 section 3: longer than any method the server implements).
inline constexpr size_t kMaxMethodLength = 32;

struct Limits {
  // Bytes of the request line, not counting its CRLF. Longer: 414.
  size_t max_request_line = 2048;
  // Bytes of all field lines, counting each line's CRLF (or LF) but not
  // the empty line that ends the section. More: 431.
  size_t max_header_bytes = 8192;
  // Field lines. More: 431.
  size_t max_headers = 64;
  // A Content-Length above this is answered with 413. A body up to it is
  // consumed (so pipelining keeps working) and ignored.
  uint64_t max_body = 0;
};

enum class Method : uint8_t { kGet, kHead, kOther };

// The parsed request. The string_views point into the buffer given to
// ParseRequest and are valid as long as it is. Field values have their
// surrounding whitespace removed; an absent field is an empty view.
struct Request {
  Method method = Method::kOther;
  std::string_view method_name;  // "GET", or the unsupported one for 405
  std::string_view target;       // as sent: "/a%20b?q", "http://h/x", "*"
  uint8_t version_minor = 1;     // HTTP/1.<version_minor>, 0 or 1
  std::string_view host;
  // Connection semantics: HTTP/1.1 persists unless a Connection field
  // lists "close"; HTTP/1.0 closes unless it lists "keep-alive" (and not
  // "close"). False after any error.
  bool keep_alive = false;
  // Conditional and range fields. Each may appear once: a repeated one is
  // dropped (empty), which makes the server ignore it and send the full
  // representation, the safe choice when it cannot tell what was meant.
  std::string_view if_none_match;
  std::string_view if_modified_since;
  std::string_view if_range;
  std::string_view range;
  bool has_content_length = false;
  uint64_t content_length = 0;
};

enum class ParseStatus : uint8_t {
  kComplete,    // *out holds a request of `consumed` bytes
  kIncomplete,  // no error yet: call again with more bytes
  kError,       // answer `error` and close the connection
};

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;          // kComplete only
  Status error = Status::kOk;   // kError only: 400, 405, 413, 414, 431, 501, 505
};

// Parses the request at the start of `buffer`. On kError, out->method,
// method_name, target and version_minor are set if the request line was
// read (405 needs them for its Allow field); the rest is unspecified.
ParseResult ParseRequest(std::string_view buffer, const Limits& limits, Request* out);

}  // namespace uk::http
