// The port hooks (port/uk_lwip_port.h) for host tests: a fake clock, a
// deterministic random generator, diagnostics on stderr and assertions that
// abort the test binary.

#include "third_party/lwip/test_support.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "uk_lwip_port.h"

namespace uk::lwip_test {
namespace {

uint32_t now_ms = 0;
uint32_t random_state = 0x2545f491;  // xorshift32: any non-zero seed

}  // namespace

void InitLwipOnce() {
  static bool initialized = false;
  if (initialized) return;
  initialized = true;
  lwip_init();
}

uint32_t NowMs() { return now_ms; }

void AdvanceClock(uint32_t ms) {
  now_ms += ms;
  sys_check_timeouts();
}

}  // namespace uk::lwip_test

extern "C" {

uint32_t sys_now(void) { return uk::lwip_test::NowMs(); }

uint32_t uk_lwip_rand(void) {
  uint32_t x = uk::lwip_test::random_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  uk::lwip_test::random_state = x;
  return x;
}

void uk_lwip_diag(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
}

void uk_lwip_assert(const char* message, const char* file, int line) {
  std::fprintf(stderr, "lwIP assertion failed at %s:%d: %s\n", file, line, message);
  std::abort();
}

}  // extern "C"
