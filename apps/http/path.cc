// Request-target to file path (path.h): one pass over the segments, each
// checked, then decoded straight into the output, where ".." is resolved by
// cutting the output back to its previous '/'.

#include "apps/http/path.h"

#include "apps/http/text.h"

namespace uk::http {
namespace {

// The path of an absolute-form target: what follows the authority.
bool StripSchemeAndAuthority(std::string_view* target) {
  std::string_view rest;
  if (StartsWithIgnoreCase(*target, "http://")) {
    rest = target->substr(7);
  } else if (StartsWithIgnoreCase(*target, "https://")) {
    rest = target->substr(8);
  } else {
    return false;
  }
  const size_t path_start = rest.find_first_of("/?#");
  *target = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  return true;
}

// Raw or decoded, these never reach the filesystem.
bool IsForbiddenByte(char c) { return c == '\\' || IsControl(c); }

// Percent-decodes one segment into `out` (if not null) and returns its
// decoded length, or 400 for a bad escape or a forbidden byte.
Result<size_t> DecodeSegment(std::string_view raw, char* out) {
  size_t length = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (IsForbiddenByte(c)) return Status::kBadRequest;
    if (c == '%') {
      if (raw.size() - i < 3) return Status::kBadRequest;
      const int high = HexValue(raw[i + 1]);
      const int low = HexValue(raw[i + 2]);
      if (high < 0 || low < 0) return Status::kBadRequest;
      c = static_cast<char>(high * 16 + low);
      // An encoded '/' would join two segments into one name.
      if (c == '/' || IsForbiddenByte(c)) return Status::kBadRequest;
      i += 2;
    }
    if (out != nullptr) out[length] = c;
    ++length;
  }
  return length;
}

}  // namespace

Result<NormalizedPath> NormalizePath(std::string_view target, std::span<char> out) {
  if (StripSchemeAndAuthority(&target) && (target.empty() || target[0] != '/')) {
    // "http://host", "http://host?q": the path is empty, i.e. the root.
    target = "/";
  }
  if (target.empty() || target[0] != '/') return Status::kBadRequest;
  const size_t query = target.find_first_of("?#");
  if (query != std::string_view::npos) target = target.substr(0, query);

  if (out.empty()) return Status::kUriTooLong;
  out[0] = '/';
  size_t length = 1;  // out[0, length) is "/" or "/seg/.../seg"
  bool ended_with_slash = true;

  std::string_view rest = target.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view raw = rest.substr(0, slash);

    // Validate and measure the segment first; "." and ".." (however
    // encoded) are recognised from a two-byte decoding, so they need no
    // room in the output.
    const Result<size_t> decoded = DecodeSegment(raw, nullptr);
    if (!decoded.ok()) return decoded.error();
    const size_t decoded_length = decoded.value();
    char short_bytes[2];
    std::string_view short_name;  // the decoded segment if it has 1 or 2 bytes
    if (decoded_length <= sizeof(short_bytes)) {
      (void)DecodeSegment(raw, short_bytes);
      short_name = std::string_view(short_bytes, decoded_length);
    }

    if (decoded_length == 0 || short_name == ".") {
      ended_with_slash = true;
    } else if (short_name == "..") {
      if (length == 1) return Status::kBadRequest;  // would climb out of the root
      while (out[length - 1] != '/') --length;
      if (length > 1) --length;  // "/a/b" -> "/a", "/a" -> "/"
      ended_with_slash = true;
    } else {
      const size_t separator = length > 1 ? 1 : 0;  // the root ends with '/'
      if (decoded_length + separator > out.size() - length) return Status::kUriTooLong;
      if (separator != 0) out[length] = '/';
      length += separator;
      (void)DecodeSegment(raw, out.data() + length);
      length += decoded_length;
      ended_with_slash = false;
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
    if (rest.empty()) {  // a trailing '/'
      ended_with_slash = true;
      break;
    }
  }
  return NormalizedPath{std::string_view(out.data(), length), ended_with_slash};
}

}  // namespace uk::http
