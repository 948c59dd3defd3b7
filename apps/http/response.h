#pragma once
// Response heads written into a caller's buffer, and small complete error
// and redirect responses. Nothing here allocates; a head that does not fit
// is an error the caller sees once, at Finish().
//
//   char buffer[512];
//   ResponseHead head(buffer, Status::kOk);
//   head.AddServer("uk");
//   head.AddDate(now);
//   head.AddContentType(MimeType(path));
//   head.AddContentLength(size);
//   head.AddConnection(Persistence::kKeepAlive);
//   Result<size_t> length = head.Finish();  // ends with the empty line
//
// Every value is checked: a field value with CR, LF or another control
// character (other than HTAB) is never written, so no caller mistake can
// split a response.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "apps/http/request.h"
#include "apps/http/status.h"
#include "apps/http/text.h"

namespace uk::http {

enum class WriteError : uint8_t {
  kOk = 0,
  kBufferTooSmall,
  kInvalidField,  // a field name that is not a token, or a value with CR/LF/CTL
};

template <typename T>
using WriteResult = uk::Result<T, WriteError>;

enum class Persistence : uint8_t { kKeepAlive, kClose };

class ResponseHead {
 public:
  // Writes "HTTP/1.1 <code> <reason>\r\n": a server answers with its own
  // version, whatever minor version the request had.
  ResponseHead(std::span<char> buffer, Status status);

  void AddServer(std::string_view product) { AddField("Server", product); }
  void AddDate(uint64_t unix_seconds) { AddDateField("Date", unix_seconds); }
  void AddContentType(std::string_view type) { AddField("Content-Type", type); }
  void AddContentLength(uint64_t length);
  void AddLastModified(uint64_t unix_seconds) { AddDateField("Last-Modified", unix_seconds); }
  void AddETag(std::string_view etag) { AddField("ETag", etag); }
  void AddAcceptRanges() { AddField("Accept-Ranges", "bytes"); }
  // "Content-Range: bytes <first>-<last>/<size>", for 206.
  void AddContentRange(uint64_t first, uint64_t last, uint64_t size);
  // "Content-Range: bytes */<size>", for 416.
  void AddUnsatisfiedContentRange(uint64_t size);
  void AddConnection(Persistence persistence);
  // For 405: the methods this server supports.
  void AddAllow() { AddField("Allow", "GET, HEAD"); }
  // For 301. `path` is a decoded absolute path ("/my dir/"): it is
  // percent-encoded here, so bytes like ' ', '%', '?' and '#' survive.
  void AddLocation(std::string_view path);
  // Any other field.
  void AddField(std::string_view name, std::string_view value);

  // Ends the head with an empty line and returns its length in bytes.
  WriteResult<size_t> Finish();

 private:
  void AddDateField(std::string_view name, uint64_t unix_seconds);
  void BeginField(std::string_view name);

  TextWriter writer_;
  bool invalid_ = false;
};

// Bytes that always hold a generated response (error, 416, 301) apart
// from the Location value: status line, Server, Date, Content-Type,
// Content-Length, Content-Range, Connection and the body, with room to spare.
inline constexpr size_t kGeneratedResponseBytes = 512;

// A buffer this size always holds WriteRedirect's answer for a path of up to
// `max_path_bytes`, whatever its bytes: each may be percent-encoded (3 bytes),
// and the redirect adds the trailing '/'.
constexpr size_t RedirectBufferSize(size_t max_path_bytes) {
  return kGeneratedResponseBytes + 3 * (max_path_bytes + 1);
}

// What the small generated responses below need to know.
struct ResponseContext {
  std::string_view server = "uk";  // empty: no Server field
  // Seconds since the epoch for the Date field; 0 means "no clock", and
  // then no Date is sent (RFC 9110 section 6.6.1).
  uint64_t now = 0;
  Persistence persistence = Persistence::kClose;
  Method method = Method::kGet;  // kHead: the head only
};

// A complete 4xx/5xx response with a short text/html body ("<h1>404 Not
// Found</h1>"); 405 carries Allow. For HEAD the head alone, with the
// Content-Length the body would have had. After a parse error the caller
// passes Persistence::kClose and closes.
WriteResult<size_t> WriteErrorResponse(std::span<char> buffer, Status status,
                                       const ResponseContext& context);

// 416 for a Range outside the file: the error response plus
// "Content-Range: bytes */<file_size>".
WriteResult<size_t> WriteRangeNotSatisfiable(std::span<char> buffer, uint64_t file_size,
                                             const ResponseContext& context);

// 301 to `location_path` (e.g. "/dir/" for a request of "/dir"), with a
// short body. It fits in RedirectBufferSize(location_path.size()) bytes.
WriteResult<size_t> WriteRedirect(std::span<char> buffer, std::string_view location_path,
                                  const ResponseContext& context);

}  // namespace uk::http
