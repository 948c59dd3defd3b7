#include "services/net/fake_net_device.h"

#include "kernel/sched/scheduler.h"

namespace uk::net::testing {

void FakeNetDevice::Inject(std::span<const uint8_t> frame) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    received_.emplace_back(frame.begin(), frame.end());
  }
  // The unlock published the frame (release); WakeIfHalted's seq_cst fence
  // orders it before reading the net core's halt announcement.
  sched::Scheduler::Current().WakeIfHalted(sched::Scheduler::ForCore(net_core_));
}

size_t FakeNetDevice::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_.size();
}

std::vector<std::vector<uint8_t>> FakeNetDevice::TakeTransmitted() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::vector<uint8_t>> frames;
  frames.swap(transmitted_);
  return frames;
}

bool FakeNetDevice::Receive(std::span<const uint8_t>* frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (received_.empty()) return false;
  lent_ = received_.front();
  *frame = lent_;
  return true;
}

void FakeNetDevice::ReleaseReceived() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!received_.empty()) received_.pop_front();
}

bool FakeNetDevice::Transmit(const std::span<const uint8_t>* parts, size_t count) {
  std::vector<uint8_t> frame;
  for (size_t i = 0; i < count; ++i) frame.insert(frame.end(), parts[i].begin(), parts[i].end());
  std::lock_guard<std::mutex> lock(mutex_);
  transmitted_.push_back(std::move(frame));
  return true;
}

}  // namespace uk::net::testing
