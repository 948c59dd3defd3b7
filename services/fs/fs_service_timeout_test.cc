// The fs service over a disk that stops answering: the block cache and the
// service on core 1 of a host machine (cores as threads), clients on the
// other cores. The disk behaves as the virtio-blk driver does with a device
// that never completes: it waits with a deadline, times out, ends the
// batch kTimedOut (the device keeps the buffers) and fails every later
// request at once. Every client parked behind the hung request must get an
// error, nothing may wait for the timeout twice, and what the cache still
// holds must stay right whatever the device writes into the pages it kept.

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/fs/block_cache.h"
#include "services/fs/fs_client.h"
#include "services/fs/fs_service.h"
#include "services/fs/test_image.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/sched_service.h"

namespace uk::fs {
namespace {

using svc::testing::Machine;

constexpr uint32_t kFsCore = 1;
constexpr uint64_t kTimeoutNs = 300'000'000;
constexpr size_t kBigSize = 1 << 20;

// An image in memory that, once hang_writes is set, never completes a batch
// holding a write.
class HangingDisk final : public SectorDevice, public sched::WaitSource {
 public:
  explicit HangingDisk(std::vector<uint8_t>& bytes) : bytes_(bytes) {}

  uint64_t SectorCount() const override { return bytes_.size() / kSectorSize; }
  bool ReadOnly() const override { return false; }
  uint16_t MaxSegments() const override { return 32; }

  bool Transfer(IoRequest* requests, size_t count) override {
    if (failed_) {
      for (size_t i = 0; i < count; ++i) requests[i].result = IoResult::kError;
      refused += count;
      return false;
    }
    bool writes = false;
    for (size_t i = 0; i < count; ++i) writes |= requests[i].op == IoOp::kWrite;
    if (writes && hang_writes.load()) {
      hanging.store(true);
      ++waits;
      sched::Scheduler& scheduler = sched::Scheduler::Current();
      if (!scheduler.WaitFor(*this, scheduler.NowNs() + kTimeoutNs) && !Ready()) {
        failed_ = true;
        ++timeouts;
        for (size_t i = 0; i < count; ++i) {
          requests[i].result = IoResult::kTimedOut;
          lent.insert(lent.end(), requests[i].segments,
                      requests[i].segments + requests[i].segment_count);
        }
        return false;
      }
    }
    for (size_t i = 0; i < count; ++i) Complete(requests[i]);
    return true;
  }
  bool Flush() override { return !failed_; }

  // WaitSource: the device never completes anything.
  bool Ready() override { return false; }

  // What a late completion of the hung write-back could do to its buffers.
  void ScribbleOnLent() {
    for (const IoSegment& segment : lent) std::memset(segment.data, 0xee, segment.length);
  }

  std::atomic<bool> hang_writes{false};
  std::atomic<bool> hanging{false};  // a batch is parked on the device
  // Written on the fs core, read by the test after the replies it waited for.
  std::atomic<int> waits{0}, timeouts{0}, refused{0};
  std::vector<IoSegment> lent;

 private:
  void Complete(IoRequest& request) {
    uint64_t offset = request.sector * kSectorSize;
    for (uint16_t s = 0; s < request.segment_count; ++s) {
      const IoSegment& segment = request.segments[s];
      if (request.op == IoOp::kRead) std::memcpy(segment.data, &bytes_[offset], segment.length);
      else std::memcpy(&bytes_[offset], segment.data, segment.length);
      offset += segment.length;
    }
    request.result = IoResult::kOk;
  }

  std::vector<uint8_t>& bytes_;
  bool failed_ = false;
};

struct AlignedDelete {
  void operator()(uint8_t* p) const { ::operator delete(p, std::align_val_t{4096}); }
};

struct HungFs {
  std::vector<uint8_t> bytes;
  std::unique_ptr<HangingDisk> disk;
  std::unique_ptr<uint8_t, AlignedDelete> pages;
  std::unique_ptr<BlockCache> cache;
  std::unique_ptr<FsService> service;
};

void StartOnCore(void* arg) {
  auto* setup = static_cast<HungFs*>(arg);
  constexpr uint32_t kPages = 2 * BlockCache::kMinSlots;
  setup->disk = std::make_unique<HangingDisk>(setup->bytes);
  setup->pages.reset(static_cast<uint8_t*>(
      ::operator new(size_t{kPages} * BlockCache::kPageSize, std::align_val_t{4096})));
  setup->cache = std::make_unique<BlockCache>(*setup->disk, setup->pages.get(), kPages);
  setup->service = std::make_unique<FsService>(*setup->cache, 1700000000);
  ASSERT_EQ(setup->service->Mount(), Error::kOk);
  setup->service->Start();
}

// One client call on its own core: what it got and how long it took.
struct Call {
  svc::Address server;
  const char* path = "";
  uint64_t offset = 0;  // a read at this offset, or (kCreate) a create
  bool create = false;
  Error error = Error::kOk;
  uint64_t elapsed_ns = 0;

  static void Run(void* arg) {
    auto& call = *static_cast<Call*>(arg);
    sched::Scheduler& scheduler = sched::Scheduler::Current();
    FsClient client(call.server);
    const uint64_t start = scheduler.NowNs();
    uint8_t buffer[4096];
    call.error = call.create ? client.Create(call.path).error()
                             : client.ReadPath(call.path, call.offset, buffer, nullptr).error();
    call.elapsed_ns = scheduler.NowNs() - start;
  }
};

std::vector<uint8_t> Image() {
  const std::string root = testing::MakeTempDir("hung_src");
  std::ofstream(root + "/hello.txt") << "hello\n";
  const std::vector<uint8_t> big = testing::FileBytes("big", kBigSize);
  std::ofstream(root + "/big.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(big.data()), big.size());
  return testing::MakeImage(root, testing::MakeTempDir("hung") + "/disk.img", {.size = "8M"});
}

std::string ReadHello(FsClient& client) {
  char text[16] = {};
  const Result<size_t> n =
      client.ReadPath("/hello.txt", 0, {reinterpret_cast<uint8_t*>(text), sizeof text}, nullptr);
  return n.ok() ? std::string(text, n.value()) : ErrorName(n.error());
}

TEST(FsServiceTimeoutTest, AHungDiskFailsEveryWaitingClientThenFailsFast) {
  HungFs setup{Image()};
  ASSERT_FALSE(setup.bytes.empty());
  Machine machine(4);
  Call writer, readers[3];
  Error later = Error::kOk;
  uint64_t later_ns = 0;
  machine.Run([&] {
    ASSERT_TRUE(svc::Join(svc::SpawnOn(kFsCore, &StartOnCore, &setup, "fs-start")));
    const svc::Address server = setup.service->address();
    FsClient client(server);
    ASSERT_EQ(ReadHello(client), "hello\n");  // cached from now on

    // The disk stops answering; a create's flush is the first write.
    setup.disk->hang_writes = true;
    writer = {server, "/new", 0, /*create=*/true};
    const svc::RemoteThread writing = svc::SpawnOn(2, &Call::Run, &writer, "writer");
    sched::Scheduler& scheduler = sched::Scheduler::Current();
    while (!setup.disk->hanging.load()) scheduler.SleepFor(1'000'000);

    // Clients on three cores queue behind it, reading what is not cached
    // (far into big.bin: beyond any readahead of what was read so far).
    const uint32_t cores[3] = {0, 2, 3};
    svc::RemoteThread reading[3];
    for (int i = 0; i < 3; ++i) {
      readers[i] = {server, "/big.bin", (512u << 10) + i * (64u << 10)};
      reading[i] = svc::SpawnOn(cores[i], &Call::Run, &readers[i], "reader");
    }
    ASSERT_TRUE(svc::Join(writing));
    for (const svc::RemoteThread& thread : reading) ASSERT_TRUE(svc::Join(thread));

    // A request after the timeout fails at once.
    Call after{server, "/big.bin", 900u << 10};
    Call::Run(&after);
    later = after.error;
    later_ns = after.elapsed_ns;
  });

  // ext2 reports a failed write-back as kReadOnly ("a write failed"); reads
  // that need the disk get kIo.
  EXPECT_EQ(writer.error, Error::kReadOnly) << ErrorName(writer.error);
  EXPECT_GE(writer.elapsed_ns, kTimeoutNs);
  for (const Call& reader : readers) EXPECT_EQ(reader.error, Error::kIo) << ErrorName(reader.error);
  EXPECT_EQ(later, Error::kIo) << ErrorName(later);
  EXPECT_LT(later_ns, kTimeoutNs) << "a failed disk fails requests without waiting";
  EXPECT_EQ(setup.disk->waits.load(), 1) << "only the hung request ever waited";
  EXPECT_EQ(setup.disk->timeouts.load(), 1);
  EXPECT_GE(setup.disk->refused.load(), 4);
  EXPECT_GE(setup.cache->stats().retired_pages, 1u);
  EXPECT_EQ(setup.cache->stats().retired_pages, setup.disk->lent.size());

  // The device writes into the pages it kept whenever it likes; what the
  // cache still serves (every core has stopped: this thread may look) is
  // the disk's data. The pages the hung write-back held are gone from it
  // (their lookups now fail), so only pages nobody wrote are left.
  setup.disk->ScribbleOnLent();
  std::vector<uint8_t> page(BlockCache::kPageSize);
  int served = 0;
  for (uint64_t offset = 0; offset < setup.bytes.size(); offset += page.size()) {
    if (!setup.cache->ReadBytes(offset, page.data(), page.size())) continue;
    ++served;
    ASSERT_EQ(0, std::memcmp(page.data(), &setup.bytes[offset], page.size())) << offset;
  }
  EXPECT_GT(served, 0) << "hello.txt's data, at least, was cached";
}

}  // namespace
}  // namespace uk::fs
