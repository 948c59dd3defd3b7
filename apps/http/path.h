#pragma once
// Turns a request-target into the absolute path of a file under the site
// root, or refuses it. This is the server's only defence against reading
// outside the root, so it is strict: anything odd is a 400, not a guess.
//
//   "/a/./b//c/../d?x#y"  -> "/a/b/d"
//   "http://host:80/a/b/" -> "/a/b" (ended_with_slash)
//   "/a%20b"              -> "/a b"
//
// Rules, in order:
//   - absolute-form ("http://host/path", scheme case-insensitive, http or
//     https) is reduced to its path ("" becomes "/"); any other target that
//     does not start with '/' ("*", "a/b", "//host" is fine: collapsed) is 400;
//   - "?query" and "#fragment" are cut off;
//   - %XX is decoded; '%' without two hex digits is 400;
//   - refused with 400, raw or %-encoded: backslash, NUL and every other
//     control character (0x00-0x1F, 0x7F); refused when encoded: '/' (%2F),
//     so a decoded byte never splits or joins segments;
//   - segments: "" (from "//") and "." are dropped, ".." removes the segment
//     before it. A ".." with nothing left to remove is 400: the target tries
//     to climb out of the root, and a client that sends it is broken or
//     hostile, so it gets an error rather than a silently clamped path.
//     Segments are compared after decoding, so "%2e%2E" is "..".
//
// The result is "/" or "/seg/.../seg" with no empty, "." or ".." segment and
// no trailing '/'. ended_with_slash says the target named a directory: its
// path ended with '/' or with a "." or ".." segment (RFC 3986 section 5.2.4
// gives "/a/b/.." as "/a/"), and the root always does. A server maps that
// to "<dir>/index.html", and a directory reached without it to a 301.

#include <cstddef>
#include <span>
#include <string_view>

#include "apps/http/status.h"

namespace uk::http {

struct NormalizedPath {
  std::string_view path;  // in the caller's buffer; not NUL-terminated
  bool ended_with_slash = false;
};

// Writes the path into `out`. Errors: kBadRequest per the rules above;
// kUriTooLong if `out` cannot hold the path, or any path built on the way
// (the segments before a ".." that later removes them).
Result<NormalizedPath> NormalizePath(std::string_view target, std::span<char> out);

}  // namespace uk::http
