#include "ipc/host_seam.h"

#include <cstdint>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace uk::ipc {
namespace {

// The futex syscall takes the word's address; std::atomic<uint32_t> is
// exactly a uint32_t (static_assert'ed in wake.h).
std::uint32_t* FutexAddress(WakeWord& word) {
  return reinterpret_cast<std::uint32_t*>(&word.state);
}

}  // namespace

void HostSeam::Pause() { __builtin_ia32_pause(); }

bool HostSeam::SleepUntilWoken(WakeWord& word) {
  // Private futex: all sleepers and wakers are threads of one process.
  // Returns 0 when woken (or spuriously), EAGAIN when the word no longer
  // holds kHaltAnnounced, EINTR on a signal; only 0 means we really slept.
  const long rc = syscall(SYS_futex, FutexAddress(word), FUTEX_WAIT_PRIVATE,
                          kHaltAnnounced, nullptr, nullptr, 0);
  return rc == 0;
}

void HostSeam::Wake(WakeWord& word) {
  // One waiter at most: a WakeWord belongs to one consumer.
  syscall(SYS_futex, FutexAddress(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

}  // namespace uk::ipc
