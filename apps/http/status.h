#pragma once
// HTTP status codes, used both as the answer to send and as the error type
// of this library's parsers: an error *is* the status to reply with (a bad
// %-escape is kBadRequest, an over-long target is kUriTooLong). kOk (200)
// doubles as the "no error" value that uk::Result needs.

#include <cstdint>
#include <string_view>

#include "services/runtime/result.h"

namespace uk::http {

enum class Status : uint16_t {
  kOk = 200,
  kPartialContent = 206,
  kMovedPermanently = 301,
  kNotModified = 304,
  kBadRequest = 400,
  kNotFound = 404,
  kMethodNotAllowed = 405,
  kContentTooLarge = 413,
  kUriTooLong = 414,
  kRangeNotSatisfiable = 416,
  kHeaderFieldsTooLarge = 431,
  kInternalServerError = 500,
  kNotImplemented = 501,
  kServiceUnavailable = 503,
  kVersionNotSupported = 505,
};

inline constexpr uint16_t StatusCode(Status status) {
  return static_cast<uint16_t>(status);
}

// "Not Found" for kNotFound; "Unknown" for a value not in the enum.
std::string_view ReasonPhrase(Status status);

// A value or the HTTP status to answer with (services/runtime/result.h).
template <typename T>
using Result = uk::Result<T, Status>;

}  // namespace uk::http
