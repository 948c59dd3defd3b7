// Entity-tag and date comparisons (conditional.h).

#include "apps/http/conditional.h"

#include "apps/http/date.h"
#include "apps/http/text.h"

namespace uk::http {
namespace {

std::string_view WithoutWeakPrefix(std::string_view tag) {
  return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

// Splits the entity-tag at the start of *list ([W/]"...") off it. The
// opaque part may hold commas, so the list cannot just be split at them.
bool TakeEntityTag(std::string_view* list, std::string_view* tag) {
  const size_t opaque_start = list->substr(0, 2) == "W/" ? 2 : 0;
  if (list->size() <= opaque_start || (*list)[opaque_start] != '"') return false;
  const size_t close = list->find('"', opaque_start + 1);
  if (close == std::string_view::npos) return false;
  *tag = list->substr(0, close + 1);
  list->remove_prefix(close + 1);
  return true;
}

}  // namespace

std::string_view MakeETag(uint64_t inode, uint64_t size, uint64_t mtime, std::span<char> out) {
  TextWriter writer(out.data(), out.size());
  writer.Append('"');
  writer.AppendHex(inode);
  writer.Append('-');
  writer.AppendHex(size);
  writer.Append('-');
  writer.AppendHex(mtime);
  writer.Append('"');
  return writer.ok() ? writer.view() : std::string_view();
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  std::string_view list = TrimOws(header);
  if (list == "*") return true;
  const std::string_view opaque = WithoutWeakPrefix(etag);
  while (true) {
    while (!list.empty() && (IsOws(list.front()) || list.front() == ',')) list.remove_prefix(1);
    if (list.empty()) return false;
    std::string_view tag;
    if (!TakeEntityTag(&list, &tag)) return false;
    if (WithoutWeakPrefix(tag) == opaque) return true;
    list = TrimOws(list);
    if (!list.empty() && list.front() != ',') return false;
  }
}

bool IfRangeMatches(std::string_view if_range, std::string_view etag, uint64_t mtime) {
  if_range = TrimOws(if_range);
  if (if_range.empty()) return true;
  if (if_range.front() == '"' || if_range.substr(0, 2) == "W/") {
    return if_range.front() == '"' && etag.substr(0, 2) != "W/" && if_range == etag;
  }
  uint64_t date = 0;
  return ParseHttpDate(if_range, &date) && date == mtime;
}

bool IsNotModified(const Request& request, std::string_view etag, uint64_t mtime) {
  if (!request.if_none_match.empty()) return IfNoneMatchMatches(request.if_none_match, etag);
  uint64_t since = 0;
  return !request.if_modified_since.empty() &&
         ParseHttpDate(request.if_modified_since, &since) && mtime <= since;
}

}  // namespace uk::http
