// Response heads and generated responses (response.h).

#include "apps/http/response.h"

#include "apps/http/date.h"

namespace uk::http {
namespace {

bool IsValidFieldValue(std::string_view value) {
  for (char c : value) {
    if (c != '\t' && IsControl(c)) return false;
  }
  return true;
}

// Bytes a Location may carry as they are: unreserved, sub-delims, ':', '@'
// and '/' (RFC 3986 path characters). Everything else is %XX.
bool IsLocationSafe(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case ';': case '=': case ':':
    case '@': case '/':
      return true;
    default:
      return false;
  }
}

// The body of the generated responses: "<code> <reason>" as title and
// heading. Writes into `writer` if given; returns the length either way.
size_t WriteBody(Status status, TextWriter* writer) {
  char code[3] = {static_cast<char>('0' + StatusCode(status) / 100 % 10),
                  static_cast<char>('0' + StatusCode(status) / 10 % 10),
                  static_cast<char>('0' + StatusCode(status) % 10)};
  const std::string_view parts[] = {
      "<!DOCTYPE html>\n<html><head><title>",
      std::string_view(code, 3),
      " ",
      ReasonPhrase(status),
      "</title></head>\n<body><h1>",
      std::string_view(code, 3),
      " ",
      ReasonPhrase(status),
      "</h1></body></html>\n",
  };
  size_t length = 0;
  for (std::string_view part : parts) {
    length += part.size();
    if (writer != nullptr) writer->Append(part);
  }
  return length;
}

// The head and body shared by the generated responses; `extra` adds the
// status-specific fields.
template <typename AddExtraFields>
WriteResult<size_t> WriteGenerated(std::span<char> buffer, Status status,
                                   const ResponseContext& context, AddExtraFields&& extra) {
  ResponseHead head(buffer, status);
  if (!context.server.empty()) head.AddServer(context.server);
  if (context.now != 0) head.AddDate(context.now);
  head.AddContentType("text/html; charset=utf-8");
  head.AddContentLength(WriteBody(status, nullptr));
  extra(&head);
  head.AddConnection(context.persistence);
  WriteResult<size_t> head_length = head.Finish();
  if (!head_length.ok() || context.method == Method::kHead) return head_length;
  TextWriter body(buffer.data() + head_length.value(), buffer.size() - head_length.value());
  WriteBody(status, &body);
  if (!body.ok()) return WriteError::kBufferTooSmall;
  return head_length.value() + body.size();
}

}  // namespace

ResponseHead::ResponseHead(std::span<char> buffer, Status status)
    : writer_(buffer.data(), buffer.size()) {
  writer_.Append("HTTP/1.1 ");
  writer_.AppendDecimal(StatusCode(status));
  writer_.Append(' ');
  writer_.Append(ReasonPhrase(status));
  writer_.Append("\r\n");
}

void ResponseHead::BeginField(std::string_view name) {
  writer_.Append(name);
  writer_.Append(": ");
}

void ResponseHead::AddField(std::string_view name, std::string_view value) {
  bool valid_name = !name.empty();
  for (char c : name) valid_name = valid_name && IsTokenChar(c);
  if (!valid_name || !IsValidFieldValue(value)) {
    invalid_ = true;
    return;
  }
  BeginField(name);
  writer_.Append(value);
  writer_.Append("\r\n");
}

void ResponseHead::AddContentLength(uint64_t length) {
  BeginField("Content-Length");
  writer_.AppendDecimal(length);
  writer_.Append("\r\n");
}

void ResponseHead::AddContentRange(uint64_t first, uint64_t last, uint64_t size) {
  BeginField("Content-Range");
  writer_.Append("bytes ");
  writer_.AppendDecimal(first);
  writer_.Append('-');
  writer_.AppendDecimal(last);
  writer_.Append('/');
  writer_.AppendDecimal(size);
  writer_.Append("\r\n");
}

void ResponseHead::AddUnsatisfiedContentRange(uint64_t size) {
  BeginField("Content-Range");
  writer_.Append("bytes */");
  writer_.AppendDecimal(size);
  writer_.Append("\r\n");
}

void ResponseHead::AddConnection(Persistence persistence) {
  AddField("Connection", persistence == Persistence::kKeepAlive ? "keep-alive" : "close");
}

void ResponseHead::AddLocation(std::string_view path) {
  BeginField("Location");
  for (char c : path) {
    if (IsLocationSafe(c)) {
      writer_.Append(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      writer_.Append('%');
      writer_.Append("0123456789ABCDEF"[byte >> 4]);
      writer_.Append("0123456789ABCDEF"[byte & 0xF]);
    }
  }
  writer_.Append("\r\n");
}

void ResponseHead::AddDateField(std::string_view name, uint64_t unix_seconds) {
  char date[kHttpDateLength + 1];
  AddField(name, FormatHttpDate(unix_seconds, date));
}

WriteResult<size_t> ResponseHead::Finish() {
  writer_.Append("\r\n");
  if (invalid_) return WriteError::kInvalidField;
  if (!writer_.ok()) return WriteError::kBufferTooSmall;
  return writer_.size();
}

WriteResult<size_t> WriteErrorResponse(std::span<char> buffer, Status status,
                                       const ResponseContext& context) {
  return WriteGenerated(buffer, status, context, [status](ResponseHead* head) {
    if (status == Status::kMethodNotAllowed) head->AddAllow();
  });
}

WriteResult<size_t> WriteRangeNotSatisfiable(std::span<char> buffer, uint64_t file_size,
                                             const ResponseContext& context) {
  return WriteGenerated(buffer, Status::kRangeNotSatisfiable, context,
                        [file_size](ResponseHead* head) {
                          head->AddUnsatisfiedContentRange(file_size);
                        });
}

WriteResult<size_t> WriteRedirect(std::span<char> buffer, std::string_view location_path,
                                  const ResponseContext& context) {
  return WriteGenerated(buffer, Status::kMovedPermanently, context,
                        [location_path](ResponseHead* head) {
                          head->AddLocation(location_path);
                        });
}

}  // namespace uk::http
