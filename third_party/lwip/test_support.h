#pragma once
// Host-side support for lwIP tests: the fake clock behind sys_now() and a
// one-time lwip_init(). test_support.cc also defines the port's other hooks
// (uk_lwip_rand, uk_lwip_diag, uk_lwip_assert) for the host.

#include <cstdint>

namespace uk::lwip_test {

// Calls lwip_init() the first time; lwIP's state is process-wide.
void InitLwipOnce();

// What sys_now() returns, in milliseconds. Starts at 0.
uint32_t NowMs();

// Moves the clock forward and runs the lwIP timers that fell due.
void AdvanceClock(uint32_t ms);

}  // namespace uk::lwip_test
