#pragma once
// HTTP dates (RFC 9110 section 5.6.7): Date, Last-Modified and
// If-Modified-Since. Times are seconds since the Unix epoch, UTC, without
// leap seconds: a parsed ":60" is accepted and lands on the next minute.

#include <cstdint>
#include <string_view>

namespace uk::http {

// "Sun, 06 Nov 1994 08:49:37 GMT" is 29 characters; the 30th is a NUL.
inline constexpr size_t kHttpDateLength = 29;
// 9999-12-31 23:59:59: the last second a four-digit year can show.
inline constexpr uint64_t kMaxHttpDate = 253402300799;

// Writes the IMF-fixdate of `unix_seconds` and a NUL into `out` and returns
// the 29 characters. Times past kMaxHttpDate are written as kMaxHttpDate.
std::string_view FormatHttpDate(uint64_t unix_seconds, char (&out)[kHttpDateLength + 1]);

// Reads an HTTP-date into *unix_seconds: IMF-fixdate, and the obsolete forms
// recipients must accept, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT", a
// two-digit year below 70 meaning 20xx) and asctime ("Sun Nov  6 08:49:37
// 1994"). The weekday name must be right for its format but is not checked
// against the date. Returns false for anything else, for an impossible
// date (Feb 30, 25:00) and for dates before 1970, which a server answering
// If-Modified-Since then ignores, as RFC 9110 section 13.1.3 says to.
bool ParseHttpDate(std::string_view text, uint64_t* unix_seconds);

}  // namespace uk::http
