#include "kernel/sched/host_platform.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

namespace uk::sched {
namespace {

uint32_t* FutexAddress(ipc::WakeWord& word) {
  return reinterpret_cast<uint32_t*>(&word.state);
}

}  // namespace

uint64_t HostPlatform::NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void HostPlatform::Pause() { __builtin_ia32_pause(); }

bool HostPlatform::SleepUntilWoken(ipc::WakeWord& word) {
  timespec timeout{};
  timespec* timeout_ptr = nullptr;
  if (deadline_ns_ != SleepQueue::kNever) {
    const uint64_t now = NowNs();
    const uint64_t left = deadline_ns_ > now ? deadline_ns_ - now : 0;
    timeout.tv_sec = static_cast<time_t>(left / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(left % 1'000'000'000);
    timeout_ptr = &timeout;
  }
  // Like `cli; check; sti; hlt`: the kernel compares the word with
  // kHaltAnnounced under its futex lock before sleeping.
  const long rc = syscall(SYS_futex, FutexAddress(word), FUTEX_WAIT_PRIVATE,
                          ipc::kHaltAnnounced, timeout_ptr, nullptr, 0);
  return rc == 0 || (rc == -1 && errno == ETIMEDOUT);
}

void HostPlatform::Wake(ipc::WakeWord& word) {
  syscall(SYS_futex, FutexAddress(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace uk::sched
