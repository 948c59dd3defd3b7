// Range parsing (range.h).

#include "apps/http/range.h"

#include "apps/http/text.h"

namespace uk::http {

ByteRange ParseRange(std::string_view header, uint64_t file_size) {
  using Kind = ByteRange::Kind;
  header = TrimOws(header);
  if (!StartsWithIgnoreCase(header, "bytes=")) return {};
  const std::string_view spec = TrimOws(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first_text = spec.substr(0, dash);
  const std::string_view last_text = spec.substr(dash + 1);

  // ParseDecimal saturates at UINT64_MAX, which compares as "past the end".
  if (first_text.empty()) {  // suffix: the last n bytes
    uint64_t suffix = 0;
    if (!ParseDecimal(last_text, &suffix)) return {};
    if (suffix == 0) return {Kind::kUnsatisfiable};
    if (file_size == 0) return {};
    const uint64_t length = suffix < file_size ? suffix : file_size;
    return {Kind::kSatisfiable, file_size - length, file_size - 1};
  }

  uint64_t first = 0;
  if (!ParseDecimal(first_text, &first)) return {};
  uint64_t last = UINT64_MAX;
  if (!last_text.empty()) {
    if (!ParseDecimal(last_text, &last)) return {};
    if (last < first) return {};
  }
  if (first >= file_size) return {Kind::kUnsatisfiable};
  if (last >= file_size) last = file_size - 1;
  return {Kind::kSatisfiable, first, last};
}

}  // namespace uk::http
