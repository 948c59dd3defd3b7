#pragma once
// The Range request field (RFC 9110 section 14.2), for the single byte
// ranges that resumed downloads and media players ask for.

#include <cstdint>
#include <string_view>

namespace uk::http {

struct ByteRange {
  enum class Kind : uint8_t {
    kNone,           // serve the whole file with 200: see ParseRange
    kSatisfiable,    // serve [first, last] with 206
    kUnsatisfiable,  // answer 416 with "Content-Range: bytes */<size>"
  };
  Kind kind = Kind::kNone;
  uint64_t first = 0;  // kSatisfiable only; first <= last < file_size
  uint64_t last = 0;
};

// Reads "bytes=a-b", "bytes=a-" or "bytes=-n" (the last n bytes) for a file
// of `file_size` bytes. The unit is case-insensitive; whitespace is allowed
// around the range but not inside it.
//   - kNone: no header, another unit, bad syntax (including b < a, which
//     RFC 9110 calls invalid), or several ranges ("bytes=0-1,5-6"): a
//     server may always ignore Range, and multipart replies are not worth
//     their cost here. Also a suffix range on an empty file: the whole,
//     empty, file is the answer.
//   - kUnsatisfiable: a < file_size fails (so every "a-" form of an empty
//     file), or "-0".
//   - kSatisfiable otherwise; b past the end is cut to file_size - 1, and a
//     suffix longer than the file is the whole file.
// Numbers too big for 64 bits are read as "bigger than any file", not as
// errors, and never wrap.
ByteRange ParseRange(std::string_view header, uint64_t file_size);

}  // namespace uk::http
