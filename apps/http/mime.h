#pragma once
// Content-Type by file extension, for the few dozen types a static site
// serves. Text types carry "; charset=utf-8" so browsers do not guess.

#include <string_view>

namespace uk::http {

inline constexpr std::string_view kDefaultMimeType = "application/octet-stream";

// The extension is what follows the last '.' of the last path segment,
// compared case-insensitively ("/a/INDEX.HTML" is text/html). No extension,
// a dotfile ("/.profile") or an unknown one: kDefaultMimeType.
std::string_view MimeType(std::string_view path);

}  // namespace uk::http
