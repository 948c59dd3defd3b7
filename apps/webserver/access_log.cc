#include "apps/webserver/access_log.h"

#include "apps/webserver/server.h"
#include "kernel/lib/log.h"

namespace uk::web {

void AccessLog::Request(std::string_view method, std::string_view path, int status,
                        uint64_t bytes) {
  const uint64_t now = NowMs();
  if (now >= window_start_ms_ + 1000) {
    window_start_ms_ = now;
    lines_in_window_ = 0;
  }
  if (lines_in_window_ >= kLinesPerSecond) {
    ++suppressed_;
    ++suppressed_total_;
    return;
  }
  ++lines_in_window_;
  if (suppressed_ > 0) {
    Print("http: (%lu requests not logged)\n", suppressed_);
    suppressed_ = 0;
  }
  const int shown = path.size() > 200 ? 200 : static_cast<int>(path.size());
  Print("http: %.*s %.*s %d %lu\n", static_cast<int>(method.size()), method.data(), shown,
        path.data(), status, bytes);
}

}  // namespace uk::web
