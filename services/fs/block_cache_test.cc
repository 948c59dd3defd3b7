#include "services/fs/block_cache.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace uk::fs {
namespace {

// A disk in memory that records what the cache asks of it. It can also
// time out requests (time_out_reads/writes: the next N of each) the way a
// failed virtio-blk device does: such a request ends kTimedOut and its
// segments stay "lent" to the device, which may write them at any time
// (ScribbleOnLent); handing any of that memory out again is counted.
class FakeDisk final : public SectorDevice {
 public:
  explicit FakeDisk(uint64_t sectors) : bytes(sectors * kSectorSize) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 31 + i / 509);
  }

  uint64_t SectorCount() const override { return bytes.size() / kSectorSize; }
  bool ReadOnly() const override { return read_only; }
  uint16_t MaxSegments() const override { return 62; }
  bool Transfer(IoRequest* requests, size_t count) override {
    ++transfers;
    bool all = true;
    for (size_t r = 0; r < count; ++r) {
      IoRequest& request = requests[r];
      ++(request.op == IoOp::kRead ? reads : writes);
      for (uint16_t s = 0; s < request.segment_count; ++s) {
        if (IsLent(request.segments[s])) ++lent_reused;
      }
      int& time_outs = request.op == IoOp::kRead ? time_out_reads : time_out_writes;
      if (time_outs > 0) {
        --time_outs;
        request.result = IoResult::kTimedOut;
        lent.insert(lent.end(), request.segments, request.segments + request.segment_count);
        all = false;
        continue;
      }
      uint64_t offset = request.sector * kSectorSize;
      bool ok = request.segment_count <= MaxSegments();
      for (uint16_t s = 0; s < request.segment_count && ok; ++s) {
        const IoSegment& segment = request.segments[s];
        const bool fails = offset < fail_end && offset + segment.length > fail_begin;
        if (fails || segment.length % kSectorSize != 0 ||
            offset + segment.length > bytes.size()) {
          ok = false;
          break;
        }
        if (request.op == IoOp::kRead) {
          std::memcpy(segment.data, &bytes[offset], segment.length);
        } else {
          std::memcpy(&bytes[offset], segment.data, segment.length);
        }
        offset += segment.length;
      }
      request.result = ok ? IoResult::kOk : IoResult::kError;
      all &= ok;
    }
    return all;
  }
  bool Flush() override {
    ++flushes;
    return true;
  }

  // The device completing a timed-out read late: DMA into memory it was lent.
  void ScribbleOnLent() {
    for (const IoSegment& segment : lent) std::memset(segment.data, 0xee, segment.length);
  }
  bool IsLent(const IoSegment& segment) const {
    const auto* begin = static_cast<const uint8_t*>(segment.data);
    for (const IoSegment& l : lent) {
      const auto* lent_begin = static_cast<const uint8_t*>(l.data);
      if (begin < lent_begin + l.length && lent_begin < begin + segment.length) return true;
    }
    return false;
  }
  uint64_t LentPages() const {
    uint64_t bytes_lent = 0;
    for (const IoSegment& segment : lent) bytes_lent += segment.length;
    return bytes_lent / BlockCache::kPageSize;
  }

  std::vector<uint8_t> bytes;
  bool read_only = false;
  uint64_t fail_begin = 0, fail_end = 0;  // byte range whose I/O fails
  int time_out_reads = 0, time_out_writes = 0;
  std::vector<IoSegment> lent;  // segments of timed-out requests
  int lent_reused = 0;          // segments handed to the device overlapping them
  int transfers = 0, reads = 0, writes = 0, flushes = 0;
};

struct Fixture {
  explicit Fixture(uint64_t sectors, uint32_t pages = 256) : disk(sectors) {
    memory.reset(static_cast<uint8_t*>(
        ::operator new(size_t{pages} * BlockCache::kPageSize, std::align_val_t{4096})));
    cache = std::make_unique<BlockCache>(disk, memory.get(), pages);
  }
  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete(p, std::align_val_t{4096}); }
  };
  FakeDisk disk;
  std::unique_ptr<uint8_t, AlignedDelete> memory;
  std::unique_ptr<BlockCache> cache;
};

TEST(BlockCacheTest, RandomReadsMatchTheDisk) {
  Fixture f(8192);  // 4 MiB
  ASSERT_TRUE(f.cache->ok());
  EXPECT_EQ(f.cache->SizeBytes(), 8192u * 512);
  std::mt19937_64 random(1);
  std::vector<uint8_t> out(10000);
  for (int i = 0; i < 2000; ++i) {
    const size_t length = random() % out.size();
    const uint64_t offset = random() % (f.disk.bytes.size() - length);
    ASSERT_TRUE(f.cache->ReadBytes(offset, out.data(), length));
    ASSERT_EQ(0, std::memcmp(out.data(), &f.disk.bytes[offset], length)) << offset;
  }
  EXPECT_GT(f.cache->stats().hits, 0u);
}

TEST(BlockCacheTest, SequentialReadsAreReadAheadInFewRequests) {
  Fixture f(8192);
  std::vector<uint8_t> out(4096);
  const uint32_t pages = 1024;
  for (uint64_t page = 0; page < pages; ++page) {
    ASSERT_TRUE(f.cache->ReadBytes(page * 4096, out.data(), out.size()));
    // Interleaved small reads elsewhere (like indirect blocks) are hits
    // after the first and must not break the sequence.
    uint8_t pointer[4];
    ASSERT_TRUE(f.cache->ReadBytes(3 * 1024 * 1024, pointer, sizeof(pointer)));
  }
  const CacheStats& stats = f.cache->stats();
  EXPECT_GT(stats.readahead_pages, pages / 2);
  // The window reaches 32 pages: about pages / 32 requests, plus the ramp.
  EXPECT_LT(stats.read_requests, pages / 16u);
  EXPECT_EQ(f.disk.reads, static_cast<int>(stats.read_requests));
}

TEST(BlockCacheTest, ScatteredReadsDoNotReadAhead) {
  Fixture f(8192);
  uint8_t byte;
  for (uint64_t page = 0; page < 1000; page += 7) {
    ASSERT_TRUE(f.cache->ReadBytes(page * 4096 + 5, &byte, 1));
  }
  EXPECT_EQ(f.cache->stats().readahead_pages, 0u);
}

TEST(BlockCacheTest, WritesStayInTheCacheUntilFlushThenGoOutInBatches) {
  Fixture f(8192);
  const std::vector<uint8_t> original = f.disk.bytes;
  std::vector<uint8_t> data(40 * 4096 + 100, 0xab);
  ASSERT_TRUE(f.cache->WriteBytes(50, data.data(), data.size()));
  EXPECT_EQ(f.disk.bytes, original) << "write-back: nothing reaches the disk before Flush";
  EXPECT_EQ(f.cache->dirty_pages(), 41u);

  ASSERT_TRUE(f.cache->Flush());
  EXPECT_EQ(f.cache->dirty_pages(), 0u);
  EXPECT_EQ(f.cache->stats().written_pages, 41u);
  EXPECT_EQ(f.cache->stats().write_batches, 2u);  // 32 + 9
  EXPECT_EQ(f.disk.flushes, 1);
  EXPECT_EQ(0, std::memcmp(&f.disk.bytes[50], data.data(), data.size()));
  EXPECT_EQ(0, std::memcmp(f.disk.bytes.data(), original.data(), 50)) << "head of page 0 kept";
}

TEST(BlockCacheTest, EvictionWritesDirtyPagesBack) {
  Fixture f(8192, BlockCache::kMinSlots);
  std::vector<uint8_t> page(4096);
  for (uint64_t i = 0; i < 200; ++i) {
    std::memset(page.data(), static_cast<int>(i), page.size());
    ASSERT_TRUE(f.cache->WriteBytes(i * 4096, page.data(), page.size()));
  }
  ASSERT_TRUE(f.cache->Flush());
  for (uint64_t i = 0; i < 200; ++i) {
    ASSERT_EQ(f.disk.bytes[i * 4096 + 17], static_cast<uint8_t>(i)) << i;
  }
  EXPECT_EQ(f.cache->stats().written_pages, 200u);
}

TEST(BlockCacheTest, IoErrorsAreReportedAndRetried) {
  Fixture f(8192);
  f.disk.fail_begin = 1 << 20;
  f.disk.fail_end = (1 << 20) + 4096;
  uint8_t buffer[16];
  EXPECT_FALSE(f.cache->ReadBytes((1 << 20) + 8, buffer, sizeof(buffer)));
  EXPECT_TRUE(f.cache->ReadBytes(8, buffer, sizeof(buffer)));

  // A page read before the fault, written after it: the write-back fails,
  // the page stays dirty, and the next Flush succeeds once the fault clears.
  f.disk.fail_begin = f.disk.fail_end = 0;
  ASSERT_TRUE(f.cache->ReadBytes(1 << 20, buffer, sizeof(buffer)));
  f.disk.fail_begin = 1 << 20;
  f.disk.fail_end = (1 << 20) + 4096;
  std::memset(buffer, 0x5a, sizeof(buffer));
  ASSERT_TRUE(f.cache->WriteBytes(1 << 20, buffer, sizeof(buffer)));
  EXPECT_FALSE(f.cache->Flush());
  EXPECT_EQ(f.cache->dirty_pages(), 1u);
  f.disk.fail_begin = f.disk.fail_end = 0;
  EXPECT_TRUE(f.cache->Flush());
  EXPECT_EQ(f.disk.bytes[1 << 20], 0x5a);
}

TEST(BlockCacheTest, PartialLastPageAndBounds) {
  Fixture f(8192 + 3);  // 1.5 KiB past the last whole page
  const uint64_t size = f.cache->SizeBytes();
  std::vector<uint8_t> tail(1536);
  ASSERT_TRUE(f.cache->ReadBytes(size - tail.size(), tail.data(), tail.size()));
  EXPECT_EQ(0, std::memcmp(tail.data(), &f.disk.bytes[size - tail.size()], tail.size()));
  std::memset(tail.data(), 0x77, tail.size());
  ASSERT_TRUE(f.cache->WriteBytes(size - tail.size(), tail.data(), tail.size()));
  ASSERT_TRUE(f.cache->Flush());
  EXPECT_EQ(f.disk.bytes[size - 1], 0x77);

  uint8_t byte;
  EXPECT_FALSE(f.cache->ReadBytes(size, &byte, 1));
  EXPECT_FALSE(f.cache->ReadBytes(size - 1, tail.data(), 2));
  EXPECT_FALSE(f.cache->WriteBytes(UINT64_MAX - 1, &byte, 4));
}

TEST(BlockCacheTest, ReadOnlyDeviceRefusesWrites) {
  Fixture f(64 * 8);
  f.disk.read_only = true;
  uint8_t byte = 1;
  EXPECT_FALSE(f.cache->WriteBytes(0, &byte, 1));
  EXPECT_TRUE(f.cache->ReadBytes(0, &byte, 1));
}

TEST(BlockCacheTest, TooLittleMemoryIsReported) {
  Fixture f(64, BlockCache::kMinSlots - 1);
  uint8_t byte;
  EXPECT_FALSE(f.cache->ok());
  EXPECT_FALSE(f.cache->ReadBytes(0, &byte, 1));
}

// ---- A device that times out (a failed virtio-blk disk) ----

TEST(BlockCacheTest, ATimedOutReadRetiresThePagesTheDeviceMayStillWrite) {
  Fixture f(8192);  // 4 MiB through 256 cache pages
  std::vector<uint8_t> out(4096);
  // Pages 0, 1-4 (readahead 4), then page 5 starts an 8-page window: that
  // request times out, with 8 cache pages lent to the device.
  for (uint64_t page = 0; page < 5; ++page) {
    ASSERT_TRUE(f.cache->ReadBytes(page * 4096, out.data(), out.size()));
  }
  f.disk.time_out_reads = 1;
  EXPECT_FALSE(f.cache->ReadBytes(5 * 4096, out.data(), out.size()));
  EXPECT_EQ(f.disk.LentPages(), 8u);
  EXPECT_EQ(f.cache->stats().retired_pages, 8u);
  for (const IoSegment& segment : f.disk.lent) EXPECT_TRUE(f.cache->IsRetired(segment.data));

  // The device writes into them whenever it likes. Reading the whole disk
  // twice (16 times the cache) must return the disk's bytes every time and
  // never hand a lent page to the device again.
  for (int round = 0; round < 2; ++round) {
    for (uint64_t offset = 0; offset < f.disk.bytes.size(); offset += out.size()) {
      f.disk.ScribbleOnLent();
      ASSERT_TRUE(f.cache->ReadBytes(offset, out.data(), out.size()));
      ASSERT_EQ(0, std::memcmp(out.data(), &f.disk.bytes[offset], out.size())) << offset;
    }
  }
  EXPECT_EQ(f.disk.lent_reused, 0);
  EXPECT_EQ(f.cache->stats().retired_pages, 8u);
}

TEST(BlockCacheTest, ATimedOutWriteBackRetiresTheDirtyPage) {
  Fixture f(8192);
  const std::vector<uint8_t> original = f.disk.bytes;
  const std::vector<uint8_t> data(3 * 4096, 0xab);
  ASSERT_TRUE(f.cache->WriteBytes(0, data.data(), data.size()));
  f.disk.time_out_writes = 1;  // the first write of the batch
  EXPECT_FALSE(f.cache->Flush());
  ASSERT_EQ(f.disk.lent.size(), 1u);
  EXPECT_TRUE(f.cache->IsRetired(f.disk.lent[0].data));
  EXPECT_EQ(f.cache->stats().retired_pages, 1u);
  EXPECT_EQ(f.cache->stats().written_pages, 2u);
  EXPECT_EQ(f.cache->dirty_pages(), 0u) << "the lost page's data went with it";

  // Nothing comes from the lent memory: each page reads back as the disk
  // has it (one never written: its write was lost, and Flush said so).
  f.disk.ScribbleOnLent();
  int unwritten = 0;
  std::vector<uint8_t> out(4096);
  for (uint64_t page = 0; page < 3; ++page) {
    ASSERT_TRUE(f.cache->ReadBytes(page * 4096, out.data(), out.size()));
    ASSERT_EQ(0, std::memcmp(out.data(), &f.disk.bytes[page * 4096], out.size()));
    unwritten += std::memcmp(out.data(), &original[page * 4096], out.size()) == 0;
  }
  EXPECT_EQ(unwritten, 1);
  EXPECT_EQ(f.disk.lent_reused, 0);
}

TEST(BlockCacheTest, ACacheWithEveryPageRetiredFailsCleanly) {
  Fixture f(8192, BlockCache::kMinSlots);
  f.disk.time_out_reads = 1000;
  uint8_t byte;
  for (uint64_t page = 0; page < 3 * BlockCache::kMinSlots; ++page) {
    EXPECT_FALSE(f.cache->ReadBytes(page * 4096, &byte, 1));
  }
  EXPECT_EQ(f.cache->stats().retired_pages, BlockCache::kMinSlots);
  f.disk.time_out_reads = 0;
  EXPECT_FALSE(f.cache->ReadBytes(0, &byte, 1)) << "no page left to read into";
  EXPECT_FALSE(f.cache->WriteBytes(0, &byte, 1));
  EXPECT_EQ(f.disk.lent_reused, 0);
}

}  // namespace
}  // namespace uk::fs
