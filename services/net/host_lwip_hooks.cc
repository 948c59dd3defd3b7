// lwIP's port hooks (third_party/lwip/port/uk_lwip_port.h) for host tests
// that run the net service on a host machine (services/runtime/host_machine.h):
// the calling core's scheduler clock, a deterministic random generator,
// diagnostics on stderr and assertions that abort the test binary.
//
// Like the kernel's (services/net/start.cc), these are only ever called on
// the net core's service thread: lwIP runs nowhere else.

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "kernel/sched/scheduler.h"
#include "third_party/lwip/port/uk_lwip_port.h"

extern "C" {

uint32_t sys_now(void) {
  return static_cast<uint32_t>(uk::sched::Scheduler::Current().NowNs() / 1000000);
}

uint32_t uk_lwip_rand(void) {
  // xorshift32 from a fixed seed: ports and ISNs repeat from run to run.
  static uint32_t state = 0x2545f491;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

void uk_net_isn_secret(uint8_t key[16]) {
  // Fixed, like the random generator above: runs repeat.
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(0x5a + 7 * i);
}

void uk_lwip_diag(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
}

void uk_lwip_assert(const char* message, const char* file, int line) {
  std::fprintf(stderr, "lwIP assertion failed at %s:%d: %s\n", file, line, message);
  std::fflush(stderr);
  std::abort();
}

}  // extern "C"
