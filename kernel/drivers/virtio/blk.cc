#include "kernel/drivers/virtio/blk.h"

#include <algorithm>
#include <new>

#include "kernel/arch/paging.h"
#include "kernel/arch/percpu.h"
#include "kernel/arch/trap.h"
#include "kernel/lib/log.h"
#include "kernel/mm/page_allocator.h"

namespace uk::virtio {
namespace {

constexpr uint16_t kTransitionalBlockId = 0x1001;

constexpr uint64_t kFeatureSegMax = 1ull << 2;
constexpr uint64_t kFeatureReadOnly = 1ull << 5;
constexpr uint64_t kFeatureFlush = 1ull << 9;

constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4;
constexpr uint8_t kStatusOk = 0, kStatusPending = 0xff;

// The interrupt handler's way to its driver: set once by Start().
BlockDriver* the_driver = nullptr;

template <typename T>
T ReadConfig(volatile uint8_t* config, uint32_t offset) {
  return *reinterpret_cast<volatile T*>(config + offset);
}

}  // namespace

// What the device reads (type, sector) and writes (status) around the data.
struct BlockDriver::RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
  uint8_t status;
  fs::IoRequest* request;  // driver-private: whose request this slot carries
};

BlockDriver* BlockDriver::Start(uint32_t index, uint64_t timeout_ns) {
  if (the_driver != nullptr) {
    Log(LogLevel::kError, "virtio-blk: only one disk is supported so far");
    return nullptr;
  }
  Transport* transport = FindTransport(kBlockDeviceType, kTransitionalBlockId, index);
  if (transport == nullptr) return nullptr;
  auto* driver = new BlockDriver(timeout_ns);
  if (!driver->Init(transport)) return nullptr;  // the device stays FAILED; memory is kept
  return driver;
}

bool BlockDriver::Init(Transport* transport) {
  transport_ = transport;
  const uint64_t features =
      transport_->Negotiate(kFeatureSegMax | kFeatureReadOnly | kFeatureFlush | kFeatureEventIdx);
  if (features == 0) return false;
  event_idx_ = (features & kFeatureEventIdx) != 0;
  read_only_ = (features & kFeatureReadOnly) != 0;
  has_flush_ = (features & kFeatureFlush) != 0;
  if (transport_->device_config() == nullptr || transport_->device_config_length() < 16) {
    Log(LogLevel::kError, "virtio-blk: no device configuration");
    transport_->Fail();
    return false;
  }
  sectors_ = ReadConfig<uint64_t>(transport_->device_config(), 0);
  // Each request takes its data segments plus the header and the status.
  uint32_t segments = kQueueSize - 2;
  if (features & kFeatureSegMax) {
    segments = std::min(segments, ReadConfig<uint32_t>(transport_->device_config(), 12));
  }
  max_segments_ = static_cast<uint16_t>(std::clamp<uint32_t>(segments, 1, 62));

  void* queue_memory = AllocateContiguous(sizeof(SplitQueue<kQueueSize>));
  headers_ = static_cast<RequestHeader*>(AllocateContiguous(sizeof(RequestHeader) * kMaxInFlight));
  if (queue_memory == nullptr || headers_ == nullptr) {
    Log(LogLevel::kError, "virtio-blk: out of memory for the queue");
    transport_->Fail();
    return false;
  }
  queue_ = new (queue_memory) SplitQueue<kQueueSize>(event_idx_);

  the_driver = this;
  arch::SetInterruptHandler(arch::kBlockVector, &OnInterrupt);
  if (!transport_->RouteInterrupts(arch::kBlockVector, arch::CurrentCpu().apic_id) ||
      kQueueSize > transport_->MaxQueueSize(0) ||
      !transport_->EnableQueue(0, kQueueSize, arch::VirtToPhys(queue_->descriptor_area()),
                              arch::VirtToPhys(queue_->driver_area()),
                              arch::VirtToPhys(queue_->device_area()))) {
    Log(LogLevel::kError, "virtio-blk: cannot set up the request queue or its interrupt");
    transport_->Fail();
    return false;
  }
  queue_->DisableInterrupts();  // enabled only while a thread waits
  transport_->DriverOk();
  Log(LogLevel::kInfo,
      "virtio-blk: %lu sectors (%lu MiB)%s, %s, event_idx %s, %u segments, timeout %lu ms",
      sectors_, sectors_ >> 11, read_only_ ? " read-only" : "",
      transport_->interrupt_kind(), event_idx_ ? "on" : "off", max_segments_,
      timeout_ns_ / 1'000'000);
  return true;
}

void BlockDriver::OnInterrupt(arch::TrapFrame&) {
  BlockDriver* driver = the_driver;
  // INTx or MMIO: reading the status lowers the (level-triggered) line.
  if (driver->transport_->needs_acknowledge()) driver->transport_->AcknowledgeInterrupt();
  ++driver->stats_.interrupts;
  sched::Scheduler::ForCore(arch::CurrentCpuIndex()).InterruptWake();
}

bool BlockDriver::Transfer(fs::IoRequest* requests, size_t count) {
  ++stats_.batches;
  if (failed_) return Refuse(requests, count);
  uint32_t in_flight = 0;
  for (size_t i = 0; i < count; ++i) {
    fs::IoRequest& request = requests[i];
    request.result = fs::IoResult::kError;
    if (failed_) {  // a batch before this request timed out
      ++stats_.refused;
      continue;
    }
    uint64_t bytes = 0;
    bool valid = request.segment_count >= 1 && request.segment_count <= max_segments_ &&
                 (request.op == fs::IoOp::kRead || !read_only_);
    for (uint16_t s = 0; valid && s < request.segment_count; ++s) {
      valid = request.segments[s].length % fs::kSectorSize == 0 && request.segments[s].length > 0;
      bytes += request.segments[s].length;
    }
    if (!valid || request.sector > sectors_ || bytes / fs::kSectorSize > sectors_ - request.sector) {
      ++stats_.errors;  // never reaches the device
      continue;
    }
    if (in_flight == kMaxInFlight || queue_->free_descriptors() < request.segment_count + 2) {
      RunBatch(in_flight);
      in_flight = 0;
      if (failed_) {
        ++stats_.refused;
        continue;
      }
    }
    RequestHeader& header = headers_[in_flight];
    header = {request.op == fs::IoOp::kRead ? kTypeIn : kTypeOut, 0, request.sector,
              kStatusPending, &request};
    Segment segments[64];
    segments[0] = {arch::VirtToPhys(&header), 16, false};
    for (uint16_t s = 0; s < request.segment_count; ++s) {
      segments[s + 1] = {arch::VirtToPhys(request.segments[s].data), request.segments[s].length,
                         request.op == fs::IoOp::kRead};
    }
    segments[request.segment_count + 1] = {arch::VirtToPhys(&header.status), 1, true};
    queue_->Add(segments, static_cast<uint16_t>(request.segment_count + 2), in_flight);
    ++in_flight;
  }
  RunBatch(in_flight);
  bool all_ok = true;
  for (size_t i = 0; i < count; ++i) all_ok &= requests[i].ok();
  return all_ok;
}

bool BlockDriver::Refuse(fs::IoRequest* requests, size_t count) {
  for (size_t i = 0; i < count; ++i) requests[i].result = fs::IoResult::kError;
  stats_.refused += count;
  // Only looked at, never popped: the used ring is the device's to write.
  if (!late_completion_seen_ && queue_->HasCompletions()) {
    late_completion_seen_ = true;
    Log(LogLevel::kWarn,
        "virtio-blk: the failed device completed a request after the timeout; ignored "
        "(its buffers stay retired)");
  }
  return false;
}

bool BlockDriver::Flush() {
  if (!has_flush_ || read_only_) return true;  // no volatile cache to flush
  fs::IoRequest request;
  if (failed_) return Refuse(&request, 1);
  RequestHeader& header = headers_[0];
  header = {kTypeFlush, 0, 0, kStatusPending, &request};
  const Segment segments[2] = {{arch::VirtToPhys(&header), 16, false},
                               {arch::VirtToPhys(&header.status), 1, true}};
  queue_->Add(segments, 2, 0);
  RunBatch(1);
  return request.ok();
}

void BlockDriver::RunBatch(uint32_t count) {
  if (count == 0) return;
  if (queue_->Publish()) {
    transport_->Notify(0);
    ++stats_.notifications;
  }
  // One bit per header slot still waiting for the device. A completion for
  // a slot not in it (the device repeating itself) changes nothing.
  uint32_t outstanding = count == 32 ? ~0u : (1u << count) - 1;
  while (outstanding != 0) {
    Completion completion;
    while (queue_->Pop(&completion)) {
      const uint64_t slot = completion.cookie;
      if (slot >= kMaxInFlight || (outstanding & (1u << slot)) == 0) continue;
      outstanding &= ~(1u << slot);
      RequestHeader& header = headers_[slot];
      header.request->result =
          header.status == kStatusOk ? fs::IoResult::kOk : fs::IoResult::kError;
      if (!header.request->ok()) ++stats_.errors;
      ++stats_.requests;
    }
    if (outstanding == 0) break;
    // Ask for an interrupt, re-check (the device may have finished in
    // between), and only then park until the handler wakes this core -- or
    // until the device has been silent for the whole timeout.
    if (queue_->EnableInterrupts()) continue;
    // The deadline restarts after every completion: a slow disk that keeps
    // completing is waited for; one silent for the whole timeout is not.
    sched::Scheduler& scheduler = sched::Scheduler::Current();
    const bool ready = scheduler.WaitFor(*this, scheduler.NowNs() + timeout_ns_) || Ready();
    queue_->DisableInterrupts();
    if (!ready) {
      GiveUp(outstanding);
      return;
    }
  }
}

void BlockDriver::GiveUp(uint32_t outstanding) {
  failed_ = true;
  uint32_t abandoned = 0;
  for (uint32_t slot = 0; slot < kMaxInFlight; ++slot) {
    if ((outstanding & (1u << slot)) == 0) continue;
    headers_[slot].request->result = fs::IoResult::kTimedOut;
    ++abandoned;
  }
  stats_.timed_out += abandoned;
  stats_.errors += abandoned;
  // Tells the device the driver gave up on it (the FAILED status bit). A
  // courtesy: nothing here relies on the device honouring it.
  transport_->Fail();
  Log(LogLevel::kError,
      "virtio-blk: no completion for %lu ms with %u request(s) outstanding: device marked "
      "failed; those and all later requests fail with an I/O error",
      timeout_ns_ / 1'000'000, abandoned);
}

}  // namespace uk::virtio
