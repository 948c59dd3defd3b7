#pragma once
// The kernel command line: space-separated `key=value` or bare `key` words,
// as the runner passes them (`--site=x` on the runner becomes `site=x`).
// Portable; tested on the host.

#include <cstdint>
#include <string_view>

namespace uk {

class CommandLine {
 public:
  static constexpr size_t kMaxLength = 1024;

  CommandLine() = default;
  explicit CommandLine(std::string_view text);

  // The value of the last `key=value` word for `key`; `fallback` if absent.
  // A bare `key` has the value "".
  std::string_view Get(std::string_view key, std::string_view fallback = {}) const;
  bool Has(std::string_view key) const;
  // The value of `key` as a decimal number, `fallback` if absent. A value
  // that is not a number (or overflows) also gives `fallback`, and sets
  // *malformed so the caller can say so.
  uint64_t GetNumber(std::string_view key, uint64_t fallback, bool* malformed = nullptr) const;
  std::string_view text() const { return {text_, length_}; }
  bool truncated() const { return truncated_; }

 private:
  bool Find(std::string_view key, std::string_view* value) const;

  char text_[kMaxLength] = {};
  size_t length_ = 0;
  bool truncated_ = false;
};

}  // namespace uk
