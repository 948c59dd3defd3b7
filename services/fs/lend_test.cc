// Lending cache pages by reference (LendRequest / ReleaseRequest): the fs
// service over a real BlockCache on core 1 of a host machine (cores as
// threads), its client on core 0, against mke2fs -d images with 1 KiB and
// 4 KiB blocks. The lent bytes are read in place on core 0, as the net
// service will read them.
//
// Counters are read on core 0 after a reply: the service wrote them before
// publishing it. A Release sent without a reply is known to be handled once
// a later call on the same ring is answered (one ring per core, in order).

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/fs/block_cache.h"
#include "services/fs/fs_client.h"
#include "services/fs/fs_service.h"
#include "services/fs/lend.h"
#include "services/fs/test_image.h"
#include "services/runtime/host_machine.h"
#include "services/runtime/request_service.h"

namespace uk::fs {
namespace {

using svc::testing::Machine;

constexpr uint32_t kFsCore = 1;
constexpr size_t kSmallSize = 700;
constexpr size_t kBigSize = 64 * 1024;
constexpr int kOtherFiles = 40;             // 40 x 16 KiB: far more than a small cache
constexpr size_t kOtherSize = 16 * 1024;
constexpr uint32_t kSmallCache = BlockCache::kMinSlots;  // 64 pages, 32 lendable
// /sparse.bin: a page of data, three pages of hole, a page of data.
constexpr size_t kSparseSize = 5 * 4096;

class MemoryDisk final : public SectorDevice {
 public:
  explicit MemoryDisk(std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  uint64_t SectorCount() const override { return bytes_.size() / kSectorSize; }
  bool ReadOnly() const override { return false; }
  uint16_t MaxSegments() const override { return 32; }
  bool Transfer(IoRequest* requests, size_t count) override {
    for (size_t r = 0; r < count; ++r) {
      IoRequest& request = requests[r];
      uint64_t offset = request.sector * kSectorSize;
      for (uint16_t s = 0; s < request.segment_count; ++s) {
        const IoSegment& segment = request.segments[s];
        if (request.op == IoOp::kRead) std::memcpy(segment.data, &bytes_[offset], segment.length);
        else std::memcpy(&bytes_[offset], segment.data, segment.length);
        offset += segment.length;
      }
      request.result = IoResult::kOk;
    }
    return true;
  }
  bool Flush() override { return true; }

 private:
  std::vector<uint8_t>& bytes_;
};

struct AlignedDelete {
  void operator()(uint8_t* p) const { ::operator delete(p, std::align_val_t{4096}); }
};

struct LendFs {
  std::vector<uint8_t> bytes;
  uint32_t cache_pages = 512;
  bool with_cache = true;
  std::unique_ptr<MemoryDisk> disk;
  std::unique_ptr<MemoryBlockDevice> memory;
  std::unique_ptr<uint8_t, AlignedDelete> pages;
  std::unique_ptr<BlockCache> cache;
  std::unique_ptr<FsService> service;
};

std::string OtherName(int i) { return "/other" + std::to_string(i) + ".bin"; }

void WriteHostFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::vector<uint8_t> SparseBytes() {
  std::vector<uint8_t> bytes(kSparseSize, 0);
  std::memset(bytes.data(), 'A', 4096);
  std::memset(bytes.data() + 4 * 4096, 'B', 4096);
  return bytes;
}

std::vector<uint8_t> Image(const std::string& name, int block_size) {
  const std::string root = testing::MakeTempDir(name + "_src");
  std::filesystem::create_directories(root + "/dir");
  WriteHostFile(root + "/small.txt", testing::FileBytes("small", kSmallSize));
  WriteHostFile(root + "/big.bin", testing::FileBytes("big", kBigSize));
  WriteHostFile(root + "/big2.bin", testing::FileBytes("big2", kBigSize));
  WriteHostFile(root + "/big3.bin", testing::FileBytes("big3", kBigSize));
  for (int i = 0; i < kOtherFiles; ++i) {
    WriteHostFile(root + OtherName(i), testing::FileBytes(OtherName(i), kOtherSize));
  }
  // Written around the hole so mke2fs -d sees one (it keeps holes).
  {
    const std::vector<uint8_t> sparse = SparseBytes();
    std::ofstream out(root + "/sparse.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(sparse.data()), 4096);
    out.seekp(4 * 4096);
    out.write(reinterpret_cast<const char*>(sparse.data() + 4 * 4096), 4096);
  }
  return testing::MakeImage(root, testing::MakeTempDir(name) + "/disk.img",
                            {.block_size = block_size, .size = "8M"});
}

void StartOnCore(void* arg) {
  auto* fs = static_cast<LendFs*>(arg);
  if (fs->with_cache) {
    fs->disk = std::make_unique<MemoryDisk>(fs->bytes);
    fs->pages.reset(static_cast<uint8_t*>(::operator new(
        size_t{fs->cache_pages} * BlockCache::kPageSize, std::align_val_t{4096})));
    fs->cache = std::make_unique<BlockCache>(*fs->disk, fs->pages.get(), fs->cache_pages);
    fs->service = std::make_unique<FsService>(*fs->cache, 1700000000, fs->cache.get());
  } else {
    fs->memory = std::make_unique<MemoryBlockDevice>(fs->bytes.data(), fs->bytes.size());
    fs->service = std::make_unique<FsService>(*fs->memory, 1700000000);
  }
  (void)fs->service->Mount();  // a failed mount is what one test wants
  fs->service->Start();
}

template <typename Fn>
void WithService(LendFs& fs, Fn body) {
  Machine machine(2);
  machine.Run([&] {
    ASSERT_TRUE(svc::Join(svc::SpawnOn(kFsCore, &StartOnCore, &fs, "fs-start")));
    FsClient client(fs.service->address());
    body(client);
  });
}

// The lease's bytes, read in place, after checking its shape: at most
// kMaxExtents extents, each non-empty and inside one page, summing to bytes.
std::vector<uint8_t> LentBytes(const Lease& lease) {
  std::vector<uint8_t> out;
  EXPECT_LE(lease.extents.size(), LeaseExtents::kMaxExtents);
  for (const LentExtent& extent : lease.extents) {
    EXPECT_GT(extent.length, 0u);
    EXPECT_LE(reinterpret_cast<uintptr_t>(extent.data) % 4096 + extent.length, 4096u);
    out.insert(out.end(), extent.data, extent.data + extent.length);
  }
  EXPECT_EQ(out.size(), lease.bytes);
  return out;
}

std::vector<uint8_t> Slice(const std::vector<uint8_t>& bytes, size_t offset, size_t length) {
  return {bytes.begin() + offset, bytes.begin() + offset + length};
}

// Waits until every message sent before it on this core's ring is handled.
void Settle(FsClient& client) { ASSERT_TRUE(client.StatPath("/").ok()); }

class LendTest : public ::testing::TestWithParam<int> {};  // the block size

TEST_P(LendTest, LentBytesAreTheFileBytes) {
  const int block_size = GetParam();
  LendFs fs{Image("lend_bytes_" + std::to_string(block_size), block_size)};
  ASSERT_FALSE(fs.bytes.empty());
  WithService(fs, [&](FsClient& client) {
    const std::vector<uint8_t> small = testing::FileBytes("small", kSmallSize);
    for (size_t offset : {size_t{0}, size_t{1}, size_t{699}}) {
      Stat stat;
      const Result<Lease> lease = client.Lend("/small.txt", offset, 4096, &stat);
      ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
      EXPECT_EQ(stat.size, kSmallSize);
      EXPECT_EQ(stat.type, FileType::kRegular);
      EXPECT_NE(lease.value().id, 0u);
      EXPECT_EQ(lease.value().extents.size(), 1u);  // one block, one extent
      EXPECT_EQ(LentBytes(lease.value()), Slice(small, offset, kSmallSize - offset));
      EXPECT_EQ(client.Release(lease.value().id), Error::kOk);
    }

    const std::vector<uint8_t> big = testing::FileBytes("big", kBigSize);
    for (size_t offset : {size_t{0}, size_t{1}, size_t{1023}, size_t{4096}, size_t{10000},
                          size_t{65535}}) {
      for (uint32_t max_length : {1u, 3000u, 65536u}) {
        const Result<Lease> lease = client.Lend("/big.bin", offset, max_length, nullptr);
        ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
        const size_t asked = std::min<size_t>(max_length, kBigSize - offset);
        if (block_size == 4096) {
          // One extent per page touched, at most kMaxExtents of them.
          const size_t limit = LeaseExtents::kMaxExtents * 4096 - offset % 4096;
          EXPECT_EQ(lease.value().bytes, std::min(asked, limit)) << offset << " " << max_length;
        } else {
          EXPECT_GT(lease.value().bytes, 0u);
          EXPECT_LE(lease.value().bytes, asked);
        }
        EXPECT_EQ(LentBytes(lease.value()), Slice(big, offset, lease.value().bytes));
        EXPECT_EQ(client.Release(lease.value().id), Error::kOk);
      }
    }

    // The whole file, lease after lease, as a sender would walk it.
    std::vector<uint8_t> walked;
    for (;;) {
      const Result<Lease> lease = client.Lend("/big.bin", walked.size(), 65536, nullptr);
      ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
      if (lease.value().bytes == 0) {
        EXPECT_EQ(lease.value().id, 0u);  // nothing lent, nothing to release
        break;
      }
      const std::vector<uint8_t> part = LentBytes(lease.value());
      walked.insert(walked.end(), part.begin(), part.end());
      EXPECT_EQ(client.Release(lease.value().id), Error::kOk);
      ASSERT_LE(walked.size(), kBigSize);
    }
    EXPECT_EQ(walked, big);

    // Past the end: nothing, no lease.
    const Result<Lease> past = client.Lend("/big.bin", kBigSize + 5, 100, nullptr);
    ASSERT_TRUE(past.ok());
    EXPECT_EQ(past.value().bytes, 0u);
    EXPECT_EQ(past.value().id, 0u);

    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
    const FsService::LendStats stats = fs.service->lend_stats();
    EXPECT_EQ(stats.live, 0u);
    EXPECT_EQ(stats.granted, stats.released);
    EXPECT_EQ(stats.bad_releases, 0u);
    EXPECT_EQ(fs.cache->stats().unpins, fs.cache->stats().pins);
  });
}

TEST_P(LendTest, HolesAreLentFromTheZeroPage) {
  const int block_size = GetParam();
  LendFs fs{Image("lend_sparse_" + std::to_string(block_size), block_size)};
  WithService(fs, [&](FsClient& client) {
    const Result<Lease> lease = client.Lend("/sparse.bin", 0, kSparseSize, nullptr);
    ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
    EXPECT_EQ(lease.value().bytes, kSparseSize);
    EXPECT_EQ(LentBytes(lease.value()), SparseBytes());
    // The three hole pages: zero-page extents of at most a page each, no
    // pins. The data is pinned: two pages with 4 KiB blocks, the distinct
    // pages its blocks sit in with 1 KiB blocks (four blocks may straddle).
    uint32_t zero_bytes = 0;
    std::set<uintptr_t> data_pages;
    for (const LentExtent& extent : lease.value().extents) {
      if (extent.data == ZeroPage()) zero_bytes += extent.length;
      else data_pages.insert(reinterpret_cast<uintptr_t>(extent.data) / 4096);
    }
    EXPECT_EQ(zero_bytes, 3 * 4096u);
    if (block_size == 4096) EXPECT_EQ(data_pages.size(), 2u);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), data_pages.size());
    EXPECT_EQ(client.Release(lease.value().id), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
    EXPECT_EQ(fs.cache->stats().bad_unpins, 0u);
  });
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, LendTest, ::testing::Values(1024, 4096));

TEST(LendPinTest, LentPagesSurviveCachePressureAndSeeWrites) {
  LendFs fs{Image("lend_pressure", 4096), kSmallCache};
  WithService(fs, [&](FsClient& client) {
    const std::vector<uint8_t> big = testing::FileBytes("big", kBigSize);
    const Result<Lease> lease = client.Lend("/big.bin", 0, kBigSize, nullptr);
    ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
    ASSERT_EQ(lease.value().bytes, kBigSize);
    Settle(client);
    ASSERT_EQ(fs.cache->pinned_pages(), 16u);

    // 640 KiB of other files through a 256 KiB cache, twice: every unpinned
    // slot is reused many times over.
    const auto fetched = [&] {
      return fs.cache->stats().misses + fs.cache->stats().readahead_pages;
    };
    const uint64_t fetched_before = fetched();
    std::vector<uint8_t> buffer(kOtherSize);
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < kOtherFiles; ++i) {
        const Result<size_t> n = client.ReadPath(OtherName(i), 0, buffer, nullptr);
        ASSERT_TRUE(n.ok()) << ErrorName(n.error());
        ASSERT_EQ(buffer, testing::FileBytes(OtherName(i), kOtherSize));
      }
    }
    // Each round reads 160 data pages; at most the 48 unpinned slots can
    // still hold some of them when the second round starts.
    constexpr uint64_t kRoundPages = kOtherFiles * kOtherSize / 4096;
    EXPECT_GE(fetched() - fetched_before, 2 * kRoundPages - (kSmallCache - 16));
    EXPECT_EQ(LentBytes(lease.value()), big);
    EXPECT_EQ(fs.cache->pinned_pages(), 16u);

    // A write goes to the lent page: the borrower sees it (as with sendfile).
    const Result<uint32_t> file = client.Open("/big.bin");
    ASSERT_TRUE(file.ok());
    const uint8_t patch[4] = {0xde, 0xad, 0xbe, 0xef};
    ASSERT_EQ(client.Write(file.value(), 8192, patch).value(), 4u);
    EXPECT_EQ(std::memcmp(LentBytes(lease.value()).data() + 8192, patch, 4), 0);
    EXPECT_EQ(client.Close(file.value()), Error::kOk);

    EXPECT_EQ(client.Release(lease.value().id), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

TEST(LendPinTest, AtMostHalfTheCacheIsLent) {
  LendFs fs{Image("lend_bound", 4096), kSmallCache};
  WithService(fs, [&](FsClient& client) {
    ASSERT_EQ(fs.cache->MaxPinnedPages(), 32u);
    const Result<Lease> a = client.Lend("/big.bin", 0, kBigSize, nullptr);
    const Result<Lease> b = client.Lend("/big2.bin", 0, kBigSize - 4096, nullptr);
    ASSERT_TRUE(a.ok() && b.ok());
    Settle(client);
    ASSERT_EQ(fs.cache->pinned_pages(), 31u);

    // The third lease gets one page, then is refused; that page is unpinned.
    const Result<Lease> c = client.Lend("/big3.bin", 0, kBigSize, nullptr);
    EXPECT_EQ(c.error(), Error::kCacheBusy);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 31u);
    EXPECT_EQ(fs.cache->stats().pin_refusals, 1u);
    EXPECT_EQ(fs.service->lend_stats().refused, 1u);
    EXPECT_EQ(fs.service->lend_stats().live, 2u);

    // One more new page reaches the bound; past it no new page is lent...
    const Result<Lease> d = client.Lend("/small.txt", 0, 100, nullptr);
    ASSERT_TRUE(d.ok()) << ErrorName(d.error());
    EXPECT_EQ(client.Lend("/big3.bin", 0, kBigSize, nullptr).error(), Error::kCacheBusy);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 32u);
    EXPECT_EQ(fs.cache->stats().pin_refusals, 2u);
    // ...but pages already lent can be lent again.
    const Result<Lease> again = client.Lend("/big.bin", 0, kBigSize, nullptr);
    ASSERT_TRUE(again.ok()) << ErrorName(again.error());
    EXPECT_EQ(LentBytes(again.value()), testing::FileBytes("big", kBigSize));
    EXPECT_EQ(fs.cache->pinned_pages(), 32u);

    // Ordinary reads go on in the half that is not lent.
    std::vector<uint8_t> buffer(kOtherSize);
    for (int i = 0; i < kOtherFiles; ++i) {
      ASSERT_TRUE(client.ReadPath(OtherName(i), 0, buffer, nullptr).ok());
      ASSERT_EQ(buffer, testing::FileBytes(OtherName(i), kOtherSize));
    }

    for (const Result<Lease>* lease : {&a, &b, &d, &again}) {
      EXPECT_EQ(client.Release(lease->value().id), Error::kOk);
    }
    const Result<Lease> now = client.Lend("/big3.bin", 0, kBigSize, nullptr);
    ASSERT_TRUE(now.ok()) << ErrorName(now.error());
    EXPECT_EQ(LentBytes(now.value()), testing::FileBytes("big3", kBigSize));
    EXPECT_EQ(client.Release(now.value().id), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

// Every lease the service has, each on /small.txt; fewer if a Lend failed
// (reported).
std::vector<uint32_t> FillLeaseTable(FsClient& client) {
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < FsService::kMaxLeases; ++i) {
    const Result<Lease> lease = client.Lend("/small.txt", 0, 100, nullptr);
    if (!lease.ok()) {
      ADD_FAILURE() << i << ": " << ErrorName(lease.error());
      break;
    }
    ids.push_back(lease.value().id);
  }
  return ids;
}

TEST(LendLeaseTest, TheLeaseTableIsBounded) {
  LendFs fs{Image("lend_table", 4096)};
  WithService(fs, [&](FsClient& client) {
    std::vector<uint32_t> ids = FillLeaseTable(client);
    ASSERT_EQ(ids.size(), FsService::kMaxLeases);
    EXPECT_EQ(client.Lend("/small.txt", 0, 100, nullptr).error(), Error::kTooManyLeases);
    EXPECT_EQ(fs.service->lend_stats().refused, 1u);
    EXPECT_EQ(fs.service->lend_stats().live, FsService::kMaxLeases);
    // 256 leases of one page hold one page, pinned 256 times.
    EXPECT_EQ(fs.cache->pinned_pages(), 1u);

    EXPECT_EQ(client.Release(ids.back()), Error::kOk);
    ids.pop_back();
    const Result<Lease> lease = client.Lend("/small.txt", 0, 100, nullptr);
    ASSERT_TRUE(lease.ok()) << ErrorName(lease.error());
    ids.push_back(lease.value().id);
    for (uint32_t id : ids) EXPECT_EQ(client.Release(id), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.service->lend_stats().live, 0u);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

// A Lend can end the borrower's previous lease first: with the table full,
// that is what makes room for the new one. A bad lease to end is counted
// and the lend goes on.
TEST(LendLeaseTest, ALendEndsTheLeaseItNamesFirst) {
  LendFs fs{Image("lend_release_first", 4096)};
  WithService(fs, [&](FsClient& client) {
    std::vector<uint32_t> ids = FillLeaseTable(client);
    ASSERT_EQ(ids.size(), FsService::kMaxLeases);
    const Result<Lease> next = client.Lend("/small.txt", 0, 100, nullptr, ids.back());
    ASSERT_TRUE(next.ok()) << ErrorName(next.error());
    ids.back() = next.value().id;
    EXPECT_EQ(fs.service->lend_stats().live, FsService::kMaxLeases);
    EXPECT_EQ(fs.service->lend_stats().refused, 0u);

    const uint64_t bad_before = fs.service->lend_stats().bad_releases;
    const Result<Lease> after_bad = client.Lend("/small.txt", 0, 100, nullptr, 12345);
    EXPECT_EQ(after_bad.error(), Error::kTooManyLeases);  // nothing was ended
    EXPECT_EQ(fs.service->lend_stats().bad_releases, bad_before + 1);
    for (uint32_t id : ids) EXPECT_EQ(client.Release(id), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.service->lend_stats().live, 0u);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

TEST(LendLeaseTest, BadAndDoubleReleasesAreCountedAndHarmless) {
  LendFs fs{Image("lend_release", 4096)};
  WithService(fs, [&](FsClient& client) {
    const Result<Lease> lease = client.Lend("/small.txt", 0, 100, nullptr);
    ASSERT_TRUE(lease.ok());
    const Result<Lease> other = client.Lend("/big.bin", 0, 4096, nullptr);
    ASSERT_TRUE(other.ok());
    const uint32_t id = lease.value().id;
    EXPECT_EQ(client.Release(id), Error::kOk);
    EXPECT_EQ(client.Release(id), Error::kOk);          // sent; the service ignores it
    EXPECT_EQ(client.Release(id ^ 0x200), Error::kOk);  // another generation of the slot
    EXPECT_EQ(client.Release(12345), Error::kOk);       // never issued
    Settle(client);
    FsService::LendStats stats = fs.service->lend_stats();
    EXPECT_EQ(stats.released, 1u);
    EXPECT_EQ(stats.bad_releases, 3u);
    EXPECT_EQ(stats.live, 1u);
    EXPECT_EQ(fs.cache->pinned_pages(), 1u);  // the other lease's page only
    EXPECT_EQ(fs.cache->stats().bad_unpins, 0u);

    // A sender that does wait is told.
    StatusReply reply;
    ASSERT_EQ(svc::CallService(client.server(), ReleaseRequest{id}, &reply), svc::SendStatus::kOk);
    EXPECT_EQ(static_cast<Error>(reply.error), Error::kBadHandle);
    ASSERT_EQ(svc::CallService(client.server(), ReleaseRequest{other.value().id}, &reply),
              svc::SendStatus::kOk);
    EXPECT_EQ(static_cast<Error>(reply.error), Error::kOk);
    stats = fs.service->lend_stats();
    EXPECT_EQ(stats.released, 2u);
    EXPECT_EQ(stats.bad_releases, 4u);
    EXPECT_EQ(stats.live, 0u);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
    // Release(0) sends nothing.
    EXPECT_EQ(client.Release(0), Error::kOk);
    Settle(client);
    EXPECT_EQ(fs.service->lend_stats().bad_releases, 4u);
  });
}

TEST(LendLeaseTest, DirectoriesAndMissingPathsLendNothing) {
  LendFs fs{Image("lend_dirs", 1024)};
  WithService(fs, [&](FsClient& client) {
    Stat stat;
    EXPECT_EQ(client.Lend("/dir", 0, 100, &stat).error(), Error::kIsDirectory);
    EXPECT_EQ(stat.type, FileType::kDirectory);
    EXPECT_EQ(client.Lend("/", 0, 100, &stat).error(), Error::kIsDirectory);
    EXPECT_EQ(stat.inode, 2u);
    EXPECT_EQ(client.Lend("/nope", 0, 100, nullptr).error(), Error::kNotFound);
    EXPECT_EQ(client.Lend("relative", 0, 100, nullptr).error(), Error::kInvalidPath);
    Settle(client);
    EXPECT_EQ(fs.service->lend_stats().granted, 0u);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

TEST(LendLeaseTest, ADiskThatDidNotMountLendsNothing) {
  LendFs fs{Image("lend_corrupt", 1024)};
  fs.bytes[1024 + 56] = 0;  // the superblock magic
  WithService(fs, [&](FsClient& client) {
    EXPECT_EQ(client.Lend("/small.txt", 0, 100, nullptr).error(), Error::kBadMagic);
    EXPECT_EQ(client.Release(1), Error::kOk);  // refused quietly, no reply
    EXPECT_EQ(client.Lend("/small.txt", 0, 100, nullptr).error(), Error::kBadMagic);
    EXPECT_EQ(fs.service->lend_stats().granted, 0u);
    EXPECT_EQ(fs.cache->pinned_pages(), 0u);
  });
}

TEST(LendLeaseTest, AServiceWithoutACacheDoesNotLend) {
  LendFs fs{Image("lend_nocache", 1024)};
  fs.with_cache = false;
  WithService(fs, [&](FsClient& client) {
    EXPECT_EQ(client.Lend("/small.txt", 0, 100, nullptr).error(), Error::kUnsupported);
    std::vector<uint8_t> buffer(kSmallSize);
    EXPECT_EQ(client.ReadPath("/small.txt", 0, buffer, nullptr).value(), kSmallSize);
  });
}

}  // namespace
}  // namespace uk::fs
