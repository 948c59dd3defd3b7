#pragma once
// Character classes and small string helpers shared by the parsers (RFC 9110
// section 5.6 grammar). Internal to apps/http: not in the library's hdrs.

#include <cstdint>
#include <string_view>

namespace uk::http {

inline constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }

inline constexpr bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// tchar: the characters of a token (method, field name, Connection option).
inline constexpr bool IsTokenChar(char c) {
  if (IsDigit(c) || IsAlpha(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// VCHAR: visible ASCII, 0x21-0x7E.
inline constexpr bool IsVisible(char c) { return c > 0x20 && c < 0x7F; }

// Bytes 0x00-0x1F and 0x7F.
inline constexpr bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

inline constexpr bool IsOws(char c) { return c == ' ' || c == '\t'; }

inline constexpr char ToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

inline constexpr bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Strips spaces and tabs from both ends.
inline constexpr std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// 0-15 for a hex digit, -1 otherwise.
inline constexpr int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses 1*DIGIT. Returns false if `s` is empty or has a non-digit. A value
// past UINT64_MAX saturates to UINT64_MAX and sets *overflow (if given):
// callers decide whether "too big" is an error or just "bigger than any
// file".
inline constexpr bool ParseDecimal(std::string_view s, uint64_t* value,
                                   bool* overflow = nullptr) {
  if (s.empty()) return false;
  uint64_t v = 0;
  bool saturated = false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      saturated = true;
      v = UINT64_MAX;
    } else if (!saturated) {
      v = v * 10 + digit;
    }
  }
  *value = v;
  if (overflow != nullptr) *overflow = saturated;
  return true;
}

// A tiny append-only writer into a caller's buffer. Once an append does not
// fit, the writer is marked full and stays so: callers check ok() once at the
// end instead of after every append.
class TextWriter {
 public:
  TextWriter(char* data, size_t capacity) : data_(data), capacity_(capacity) {}

  void Append(std::string_view s) {
    if (s.empty()) return;
    if (!ok_ || s.size() > capacity_ - size_) {
      ok_ = false;
      return;
    }
    __builtin_memcpy(data_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  void Append(char c) { Append(std::string_view(&c, 1)); }
  void AppendDecimal(uint64_t value);
  // Lower-case hex, no leading zeros (0 is "0").
  void AppendHex(uint64_t value);

  bool ok() const { return ok_; }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(data_, size_); }

 private:
  char* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
};

inline void TextWriter::AppendDecimal(uint64_t value) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof(digits) - 1 - n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  Append(std::string_view(digits + sizeof(digits) - n, n));
}

inline void TextWriter::AppendHex(uint64_t value) {
  char digits[16];
  size_t n = 0;
  do {
    digits[sizeof(digits) - 1 - n++] = "0123456789abcdef"[value & 0xF];
    value >>= 4;
  } while (value != 0);
  Append(std::string_view(digits + sizeof(digits) - n, n));
}

}  // namespace uk::http
