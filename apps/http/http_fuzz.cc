// libFuzzer target for the HTTP library (see README.md): each input is a
// byte stream from a client. It is parsed as pipelined requests with small
// limits, and every request's target, Range and dates go through the rest
// of the library; the whole input is also fed to NormalizePath, ParseRange
// and ParseHttpDate directly. Besides ASan/UBSan reports, an input fails
// if an invariant below breaks: consumed within the buffer, a normalized
// path that could leave the root, a range outside the file, an error that
// a prefix of the input contradicts, a response head with a stray CR/LF.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "apps/http/conditional.h"
#include "apps/http/date.h"
#include "apps/http/mime.h"
#include "apps/http/path.h"
#include "apps/http/range.h"
#include "apps/http/request.h"
#include "apps/http/response.h"

namespace uk::http {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "http_fuzz: invariant broken: %s\n", what);
    abort();
  }
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

void CheckNormalizedPath(std::string_view target, size_t capacity) {
  // An exactly-sized heap buffer, so ASan sees a write one byte past it.
  std::vector<char> out(capacity);
  const Result<NormalizedPath> result = NormalizePath(target, out);
  if (!result.ok()) {
    Check(result.error() == Status::kBadRequest || result.error() == Status::kUriTooLong,
          "NormalizePath error is 400 or 414");
    return;
  }
  const std::string_view path = result.value().path;
  Check(path.data() == out.data() && path.size() <= capacity, "path is in the buffer");
  Check(!path.empty() && path[0] == '/', "path starts with '/'");
  Check(!Contains(path, "//"), "no //");
  Check(!Contains(path, "/./") && !Contains(path, "/../"), "no dot segments");
  Check(path != "/." && path != "/.." && !path.ends_with("/.") && !path.ends_with("/.."),
        "no dot segment at the end");
  Check(path == "/" || path.back() != '/', "no trailing '/'");
  for (char c : path) {
    Check(c != '\0' && c != '\\' && c != '\r' && c != '\n', "no NUL, backslash or CR/LF");
    Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F, "no control characters");
  }
  Check(path != "/" || result.value().ended_with_slash, "the root ends with '/'");
  // Without escapes, normalizing again changes nothing.
  if (!Contains(target, "%")) {
    std::vector<char> again(capacity);
    const Result<NormalizedPath> second = NormalizePath(path, again);
    Check(second.ok() && second.value().path == path, "normalization is idempotent");
  }
  // The path can always be sent back as a Location.
  char head[4096];
  ResponseHead response(head, Status::kMovedPermanently);
  response.AddLocation(path);
  response.AddContentType(MimeType(path));
  const WriteResult<size_t> length = response.Finish();
  if (length.ok()) {
    const std::string_view text(head, length.value());
    size_t lines = 0;
    for (size_t i = 0; i + 1 < text.size(); ++i) lines += text[i] == '\r' && text[i + 1] == '\n';
    Check(lines == 4, "status line, Location, Content-Type and the empty line");
  }
}

void CheckRange(std::string_view header) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{100}, UINT64_MAX}) {
    const ByteRange range = ParseRange(header, size);
    if (range.kind == ByteRange::Kind::kSatisfiable) {
      Check(range.first <= range.last && range.last < size, "range inside the file");
    }
  }
}

void CheckDate(std::string_view text) {
  uint64_t t = 0;
  if (!ParseHttpDate(text, &t)) return;
  Check(t <= kMaxHttpDate + 1, "date within 1970-9999 (+ a leap second)");
  char formatted[kHttpDateLength + 1];
  uint64_t again = 0;
  Check(ParseHttpDate(FormatHttpDate(t, formatted), &again), "formatted date parses");
  Check(again == (t > kMaxHttpDate ? kMaxHttpDate : t), "date round trip");
}

void CheckRequest(const Request& request, std::string_view buffer, const Limits& limits) {
  auto inside = [&](std::string_view field) {
    return field.empty() ||
           (field.data() >= buffer.data() && field.data() + field.size() <= buffer.data() + buffer.size());
  };
  Check(inside(request.target) && inside(request.host) && inside(request.range) &&
            inside(request.if_none_match) && inside(request.if_modified_since) &&
            inside(request.if_range) && inside(request.method_name),
        "fields point into the buffer");
  Check(request.method == Method::kGet || request.method == Method::kHead, "GET or HEAD");
  Check(request.version_minor <= 1, "HTTP/1.0 or 1.1");
  Check(!request.target.empty(), "a target");
  Check(request.content_length <= limits.max_body, "body within max_body");
  CheckNormalizedPath(request.target, 64);
  CheckNormalizedPath(request.target, 1024);
  CheckRange(request.range);
  CheckDate(request.if_modified_since);
  char etag[kMaxETagLength];
  const std::string_view tag = MakeETag(1, 2, 3, etag);
  (void)IfNoneMatchMatches(request.if_none_match, tag);
  (void)IfRangeMatches(request.if_range, tag, 3);
  (void)IsNotModified(request, tag, 3);
}

// Parses the requests in `input` one after another, as a connection would.
void CheckPipeline(std::string_view input, const Limits& limits) {
  std::string_view rest = input;
  for (int requests = 0; requests < 64; ++requests) {
    Request request;
    const ParseResult result = ParseRequest(rest, limits, &request);
    // Any prefix must agree: incomplete, or the same answer.
    const size_t cut = rest.size() * 7 / 13;
    Request partial_request;
    const ParseResult partial = ParseRequest(rest.substr(0, cut), limits, &partial_request);
    if (partial.status != ParseStatus::kIncomplete) {
      Check(partial.status == result.status && partial.error == result.error &&
                partial.consumed == result.consumed,
            "a prefix agrees with the whole");
    }
    if (result.status == ParseStatus::kIncomplete) {
      Check(rest.size() <= limits.max_request_line + limits.max_header_bytes + limits.max_body +
                               kMaxLeadingEmptyLines * 2 + 4,
            "incomplete only while within the limits");
      return;
    }
    if (result.status == ParseStatus::kError) {
      const Status e = result.error;
      Check(e == Status::kBadRequest || e == Status::kMethodNotAllowed ||
                e == Status::kContentTooLarge || e == Status::kUriTooLong ||
                e == Status::kHeaderFieldsTooLarge || e == Status::kNotImplemented ||
                e == Status::kVersionNotSupported,
            "a parse error is one of the documented statuses");
      Check(!request.keep_alive, "no keep-alive after an error");
      char response[1024];
      Check(WriteErrorResponse(response, e, {}).ok(), "the error response fits in 1 KiB");
      return;
    }
    Check(result.consumed > 0 && result.consumed <= rest.size(), "consumed within the buffer");
    CheckRequest(request, rest.substr(0, result.consumed), limits);
    rest.remove_prefix(result.consumed);
  }
}

}  // namespace
}  // namespace uk::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace uk::http;
  // A private, exactly-sized copy, so reading one byte past the input is
  // an ASan report.
  std::vector<char> copy(data, data + size);
  const std::string_view input(copy.data(), copy.size());

  Limits small;
  small.max_request_line = 128;
  small.max_header_bytes = 256;
  small.max_headers = 8;
  small.max_body = 16;
  CheckPipeline(input, small);
  CheckPipeline(input, Limits{});

  CheckNormalizedPath(input, 32);
  CheckNormalizedPath(input, 4096);
  CheckRange(input);
  CheckDate(input);
  return 0;
}
