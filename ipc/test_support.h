#pragma once

// Test-only helpers shared by the ipc/ host tests.

#include <cstdint>
#include <thread>

namespace uk::ipc::testing {

// Sanitizer builds run the same tests with smaller counts (TSAN is ~10x
// slower and this machine has two cores). Test-only, so a macro test is fine
// here; logic files never do this.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

constexpr std::uint64_t Scaled(std::uint64_t full, std::uint64_t sanitized) {
  return kSanitized ? sanitized : full;
}

// Spin politely, then yield: tests run more threads than this box has cores,
// and a spinning thread must not starve the one it waits for.
class Backoff {
 public:
  void Wait() {
    if (++spins_ < 64) {
      __builtin_ia32_pause();
    } else {
      spins_ = 0;
      std::this_thread::yield();
    }
  }
  void Reset() { spins_ = 0; }

 private:
  std::uint32_t spins_ = 0;
};

}  // namespace uk::ipc::testing
