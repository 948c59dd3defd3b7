#pragma once
// The access log on the serial console, rate-limited: at most kLinesPerSecond
// lines a second, and then one line saying how many were left out, so a
// flood of requests cannot make the console the bottleneck.

#include <cstdint>
#include <string_view>

namespace uk::web {

class AccessLog {
 public:
  static constexpr uint32_t kLinesPerSecond = 20;

  // One request: method, path, status, body bytes.
  void Request(std::string_view method, std::string_view path, int status, uint64_t bytes);

  uint64_t suppressed() const { return suppressed_total_; }

 private:
  uint64_t window_start_ms_ = 0;
  uint32_t lines_in_window_ = 0;
  uint64_t suppressed_ = 0;        // in the current window, reported at the next line
  uint64_t suppressed_total_ = 0;
};

}  // namespace uk::web
