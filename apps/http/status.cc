// Reason phrases of RFC 9110 section 15, for the status line.

#include "apps/http/status.h"

namespace uk::http {

std::string_view ReasonPhrase(Status status) {
  switch (status) {
    case Status::kOk:
      return "OK";
    case Status::kPartialContent:
      return "Partial Content";
    case Status::kMovedPermanently:
      return "Moved Permanently";
    case Status::kNotModified:
      return "Not Modified";
    case Status::kBadRequest:
      return "Bad Request";
    case Status::kNotFound:
      return "Not Found";
    case Status::kMethodNotAllowed:
      return "Method Not Allowed";
    case Status::kContentTooLarge:
      return "Content Too Large";
    case Status::kUriTooLong:
      return "URI Too Long";
    case Status::kRangeNotSatisfiable:
      return "Range Not Satisfiable";
    case Status::kHeaderFieldsTooLarge:
      return "Request Header Fields Too Large";
    case Status::kInternalServerError:
      return "Internal Server Error";
    case Status::kNotImplemented:
      return "Not Implemented";
    case Status::kServiceUnavailable:
      return "Service Unavailable";
    case Status::kVersionNotSupported:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

}  // namespace uk::http
