// The port hooks (port/uk_lwip_port.h) for host tests: a fake clock, a
// deterministic random generator, diagnostics on stderr and assertions that
// abort the test binary.

#include "third_party/lwip/test_support.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/priv/tcp_priv.h"
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
  // lwIP is built with LWIP_TIMERS=0: its user runs the timers (the kernel's
  // net service decides when, services/net/net_timers.h). Here every timer
  // simply runs once per interval boundary the clock crosses.
  const uint32_t before = now_ms;
  now_ms += ms;
  const auto crossed = [&](uint32_t interval) { return now_ms / interval - before / interval; };
  for (uint32_t n = crossed(TCP_TMR_INTERVAL); n > 0; --n) tcp_tmr();
  for (uint32_t n = crossed(ARP_TMR_INTERVAL); n > 0; --n) {
    etharp_tmr();
    ip_reass_tmr();
  }
  for (uint32_t n = crossed(DHCP_FINE_TIMER_MSECS); n > 0; --n) dhcp_fine_tmr();
  for (uint32_t n = crossed(DHCP_COARSE_TIMER_MSECS); n > 0; --n) dhcp_coarse_tmr();
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
