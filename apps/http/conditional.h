#pragma once
// Validators and conditional requests (RFC 9110 sections 8.8 and 13): the
// ETag a file is served with, and whether If-None-Match, If-Modified-Since
// or If-Range let the server answer 304 or a range.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "apps/http/request.h"

namespace uk::http {

// Two quotes, three 16-digit hex numbers and two dashes.
inline constexpr size_t kMaxETagLength = 52;

// A strong validator "\"<inode>-<size>-<mtime>\"" in lower-case hex, e.g.
// "\"c-1a4-5f5e1000\"": it changes whenever the file is replaced, resized
// or touched, which is as strong as a static server can cheaply promise.
// Returns it in `out`, or an empty view if out holds fewer than its bytes
// (kMaxETagLength always suffices).
std::string_view MakeETag(uint64_t inode, uint64_t size, uint64_t mtime, std::span<char> out);

// If-None-Match: "*" or a comma-separated list of entity-tags, compared with
// the weak comparison (a W/ prefix on either side is ignored) as RFC 9110
// section 13.1.2 requires. True means "the client has it": 304 for GET and
// HEAD. A malformed list is false, so the client gets the full response.
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

// If-Range: an entity-tag, compared strongly (a weak tag never matches), or
// an HTTP-date, which must equal the file's modification time. True means
// "serve the Range"; false means "ignore the Range and send it all". An
// empty header is true (no condition).
bool IfRangeMatches(std::string_view if_range, std::string_view etag, uint64_t mtime);

// RFC 9110 section 13.2.2 for a GET or HEAD of an existing file: If-None-Match
// decides if present; otherwise If-Modified-Since, when it parses, says
// "not modified" if mtime is not after it. True: answer 304.
bool IsNotModified(const Request& request, std::string_view etag, uint64_t mtime);

}  // namespace uk::http
