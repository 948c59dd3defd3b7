// Corrupt and hostile images: each damaged field must give an Error, never
// a crash, a hang or a read outside the image. Run it under ASan too:
//   bazel test --config=asan //services/fs:ext2_corrupt_test

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "services/fs/ext2.h"
#include "services/fs/test_image.h"

namespace uk::fs {
namespace {

const std::vector<uint8_t>& Pristine() {
  static const std::vector<uint8_t>* image = [] {
    const std::string source = testing::MakeTempDir("ext2_corrupt_source");
    testing::BuildSourceTree(source, /*large_file=*/true);
    const std::string dir = testing::MakeTempDir("ext2_corrupt_image");
    return new std::vector<uint8_t>(
        testing::MakeImage(source, dir + "/fs.img", {}));
  }();
  return *image;
}

class CorruptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = Pristine();
    ASSERT_FALSE(image_.empty());
    // A reader over the pristine copy tells where things are.
    pristine_bytes_ = Pristine();
    pristine_device_ = std::make_unique<MemoryBlockDevice>(
        pristine_bytes_.data(), pristine_bytes_.size());
    ASSERT_EQ(pristine_.Mount(*pristine_device_), Error::kOk);
  }

  Error Mount() {
    device_ = std::make_unique<MemoryBlockDevice>(image_.data(), image_.size());
    return fs_.Mount(*device_);
  }

  void Put8(uint64_t at, uint8_t v) { image_.at(at) = v; }
  void Put16(uint64_t at, uint16_t v) { memcpy(&image_.at(at + 1) - 1, &v, 2); }
  void Put32(uint64_t at, uint32_t v) { memcpy(&image_.at(at + 3) - 3, &v, 4); }
  static uint64_t Sb(size_t field) { return ext2::kSuperblockOffset + field; }

  Inode PristineInode(const std::string& path,
                      FollowLinks follow = FollowLinks::kYes) {
    Inode inode;
    Result<uint32_t> number = pristine_.Lookup(path, follow);
    EXPECT_TRUE(number.ok()) << path;
    EXPECT_EQ(pristine_.ReadInode(number.value(), &inode), Error::kOk);
    return inode;
  }
  uint64_t InodeField(const std::string& path, size_t field,
                      FollowLinks follow = FollowLinks::kYes) {
    return testing::InodeOffset(image_, PristineInode(path, follow).number) +
           field;
  }
  // Byte offset of logical block `index` of the file at `path`.
  uint64_t BlockOffset(const std::string& path, uint64_t index) {
    Result<uint32_t> block = pristine_.MapBlock(PristineInode(path), index);
    EXPECT_TRUE(block.ok() && block.value() != 0);
    return uint64_t{block.value()} * pristine_.block_size();
  }
  Error ReadDirError(const std::string& path) {
    Inode dir;
    Result<uint32_t> n = fs_.Lookup(path);
    if (!n.ok()) return n.error();
    if (Error e = fs_.ReadInode(n.value(), &dir); e != Error::kOk) return e;
    DirCursor cursor;
    DirEntry entry;
    for (;;) {
      Result<bool> more = fs_.ReadDir(dir, &cursor, &entry);
      if (!more.ok()) return more.error();
      if (!more.value()) return Error::kOk;
    }
  }
  Error ReadFileError(const std::string& path, uint64_t offset = 0) {
    Result<uint32_t> n = fs_.Lookup(path);
    if (!n.ok()) return n.error();
    Inode inode;
    if (Error e = fs_.ReadInode(n.value(), &inode); e != Error::kOk) return e;
    std::vector<uint8_t> buf(8192);
    return fs_.ReadFile(inode, offset, buf).error();
  }

  std::vector<uint8_t> image_;
  std::unique_ptr<MemoryBlockDevice> device_;
  Ext2 fs_;
  std::vector<uint8_t> pristine_bytes_;
  std::unique_ptr<MemoryBlockDevice> pristine_device_;
  Ext2 pristine_;
};

TEST_F(CorruptTest, PristineMounts) { EXPECT_EQ(Mount(), Error::kOk); }

TEST_F(CorruptTest, Superblock) {
  const std::vector<uint8_t> good = image_;
  struct Case {
    const char* what;
    size_t field;
    int width;
    uint32_t value;
    Error expected;
  };
  const Case cases[] = {
      {"magic", ext2::sb::kMagic, 2, 0xEF54, Error::kBadMagic},
      {"log_block_size 3", ext2::sb::kLogBlockSize, 4, 3,
       Error::kBadSuperblock},
      {"log_block_size huge", ext2::sb::kLogBlockSize, 4, 0xFFFFFFFF,
       Error::kBadSuperblock},
      {"revision 2", ext2::sb::kRevLevel, 4, 2, Error::kUnsupported},
      {"extents feature", ext2::sb::kFeatureIncompat, 4, 0x42,
       Error::kUnsupported},
      {"64bit feature", ext2::sb::kFeatureIncompat, 4, 0x82,
       Error::kUnsupported},
      {"inode size 100", ext2::sb::kInodeSize, 2, 100, Error::kBadSuperblock},
      {"inode size 129", ext2::sb::kInodeSize, 2, 129, Error::kBadSuperblock},
      {"inode size > block", ext2::sb::kInodeSize, 2, 2048,
       Error::kBadSuperblock},
      {"blocks per group 0", ext2::sb::kBlocksPerGroup, 4, 0,
       Error::kBadSuperblock},
      {"blocks per group huge", ext2::sb::kBlocksPerGroup, 4, 0xFFFFFFFF,
       Error::kBadSuperblock},
      {"inodes per group 0", ext2::sb::kInodesPerGroup, 4, 0,
       Error::kBadSuperblock},
      {"inodes per group huge", ext2::sb::kInodesPerGroup, 4, 1u << 30,
       Error::kBadSuperblock},
      {"inodes count huge", ext2::sb::kInodesCount, 4, 0xFFFFFFFF,
       Error::kBadSuperblock},
      {"inodes count 1", ext2::sb::kInodesCount, 4, 1, Error::kBadSuperblock},
      {"blocks count beyond image", ext2::sb::kBlocksCount, 4, 1u << 30,
       Error::kTruncated},
      {"blocks count 0", ext2::sb::kBlocksCount, 4, 0, Error::kBadSuperblock},
      {"first data block past end", ext2::sb::kFirstDataBlock, 4, 0xFFFFFFF0,
       Error::kBadSuperblock},
  };
  for (const Case& c : cases) {
    image_ = good;
    if (c.width == 2) {
      Put16(Sb(c.field), static_cast<uint16_t>(c.value));
    } else {
      Put32(Sb(c.field), c.value);
    }
    EXPECT_EQ(Mount(), c.expected) << c.what << ": got " << ErrorName(Mount());
    EXPECT_FALSE(fs_.mounted()) << c.what;
    EXPECT_EQ(fs_.Lookup("/").error(), Error::kNotMounted) << c.what;
  }
}

TEST_F(CorruptTest, TruncatedImage) {
  const std::vector<uint8_t> good = image_;
  for (size_t size : {size_t{0}, size_t{1500}, size_t{2047}, size_t{4096},
                      good.size() / 2, good.size() - 1}) {
    image_.assign(good.begin(), good.begin() + static_cast<long>(size));
    EXPECT_EQ(Mount(), Error::kTruncated) << size;
  }
}

TEST_F(CorruptTest, GroupDescriptorInodeTable) {
  const uint64_t desc =
      2 * 1024 + ext2::gd::kInodeTable;  // 1 KiB blocks: GDT in block 2
  for (uint32_t table : {0u, 1u, 0xFFFFFFFFu, pristine_.blocks_count() - 1}) {
    Put32(desc, table);
    EXPECT_EQ(Mount(), Error::kCorrupt) << table;
  }
}

TEST_F(CorruptTest, RootNotADirectory) {
  Put16(testing::InodeOffset(image_, ext2::kRootIno) + ext2::ino::kMode,
        0x81A4);
  EXPECT_EQ(Mount(), Error::kCorrupt);
}

TEST_F(CorruptTest, DirectoryEntries) {
  const std::vector<uint8_t> good = image_;
  // /nested's first block starts with ".": inode, rec_len 12, name_len 1.
  const uint64_t dot = BlockOffset("/nested", 0);
  const uint32_t block_size = pristine_.block_size();
  struct Case {
    const char* what;
    uint64_t at;
    int width;
    uint32_t value;
  };
  const Case cases[] = {
      {"rec_len 0", dot + 4, 2, 0},
      {"rec_len 4", dot + 4, 2, 4},
      {"rec_len unaligned", dot + 4, 2, 13},
      {"rec_len past block", dot + 4, 2, static_cast<uint16_t>(block_size + 4)},
      {"rec_len 0xFFFF", dot + 4, 2, 0xFFFF},
      {"name_len > rec_len - 8", dot + 6, 1, 5},
      {"inode out of range", dot, 4, pristine_.inodes_count() + 1},
      {"inode 0xFFFFFFFF", dot, 4, 0xFFFFFFFF},
  };
  for (const Case& c : cases) {
    image_ = good;
    if (c.width == 1) Put8(c.at, static_cast<uint8_t>(c.value));
    if (c.width == 2) Put16(c.at, static_cast<uint16_t>(c.value));
    if (c.width == 4) Put32(c.at, c.value);
    ASSERT_EQ(Mount(), Error::kOk) << c.what;  // directories are read lazily
    EXPECT_EQ(ReadDirError("/nested"), Error::kBadDirEntry) << c.what;
    EXPECT_EQ(fs_.Lookup("/nested/a").error(), Error::kBadDirEntry) << c.what;
    EXPECT_EQ(fs_.Lookup("/file_1").error(), Error::kOk) << c.what;
  }
}

TEST_F(CorruptTest, DirectoryHoleAndBadSize) {
  const std::vector<uint8_t> good = image_;
  Put32(InodeField("/nested", ext2::ino::kBlock), 0);
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(ReadDirError("/nested"), Error::kCorrupt);
  EXPECT_EQ(fs_.Lookup("/nested/a").error(), Error::kCorrupt);

  image_ = good;
  Put32(InodeField("/nested", ext2::ino::kSizeLo), 1000);  // not a whole block
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(ReadDirError("/nested"), Error::kCorrupt);
}

TEST_F(CorruptTest, BlockPointersBeyondFilesystem) {
  const std::vector<uint8_t> good = image_;
  const uint32_t beyond = pristine_.blocks_count() + 5;
  const uint64_t block_size = pristine_.block_size();
  struct Case {
    const char* what;
    uint64_t at;
    const char* path;
    uint64_t read_offset;
  };
  const Case cases[] = {
      {"direct", InodeField("/file_4097", ext2::ino::kBlock), "/file_4097", 0},
      {"single indirect",
       InodeField("/file_71680", ext2::ino::kBlock + 4 * ext2::kIndirectSlot),
       "/file_71680", 12 * block_size},
      {"inside the indirect block",
       uint64_t{PristineInode("/file_71680").block[ext2::kIndirectSlot]} *
           block_size,
       "/file_71680", 12 * block_size},
      {"double indirect",
       InodeField("/file_5242880", ext2::ino::kBlock + 4 * ext2::kDoubleSlot),
       "/file_5242880", (12 + block_size / 4) * block_size},
      {"triple indirect",
       InodeField("/sparse", ext2::ino::kBlock + 4 * ext2::kTripleSlot),
       "/sparse", testing::kSparseRun1},
      {"directory block", InodeField("/big", ext2::ino::kBlock), nullptr, 0},
  };
  for (const Case& c : cases) {
    for (uint32_t value : {beyond, 0xFFFFFFFFu}) {
      image_ = good;
      Put32(c.at, value);
      ASSERT_EQ(Mount(), Error::kOk) << c.what;
      if (c.path != nullptr) {
        EXPECT_EQ(ReadFileError(c.path, c.read_offset), Error::kBlockOutOfRange)
            << c.what;
      } else {
        EXPECT_EQ(ReadDirError("/big"), Error::kBlockOutOfRange) << c.what;
        EXPECT_EQ(fs_.Lookup("/big/entry_000").error(), Error::kBlockOutOfRange)
            << c.what;
      }
    }
  }
}

TEST_F(CorruptTest, InodeFields) {
  const std::vector<uint8_t> good = image_;
  Put32(InodeField("/file_1", ext2::ino::kSizeHigh), 0xFFFFFFFF);
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(fs_.Lookup("/file_1").error(), Error::kFileTooLarge);
  EXPECT_EQ(fs_.Lookup("/nested/a/b/escape").error(), Error::kFileTooLarge);

  image_ = good;
  Put32(InodeField("/file_1", ext2::ino::kFlags), ext2::kExtentsFlag);
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(fs_.Lookup("/file_1").error(), Error::kUnsupported);

  // A fast symlink claiming more than the 60 bytes of i_block.
  image_ = good;
  Put32(InodeField("/fast_link", ext2::ino::kSizeLo, FollowLinks::kNo), 200);
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(fs_.Lookup("/fast_link").error(), Error::kCorrupt);

  // A slow symlink longer than any path.
  image_ = good;
  Put32(InodeField("/slow_link", ext2::ino::kSizeLo, FollowLinks::kNo), 100000);
  ASSERT_EQ(Mount(), Error::kOk);
  EXPECT_EQ(fs_.Lookup("/slow_link").error(), Error::kNameTooLong);
}

// A device that fails every read from the n-th on.
class FailingDevice final : public BlockDevice {
 public:
  FailingDevice(BlockDevice& inner, int reads_before_failing)
      : inner_(inner), left_(reads_before_failing) {}
  uint64_t SizeBytes() const override { return inner_.SizeBytes(); }
  bool ReadBytes(uint64_t offset, void* out, size_t length) override {
    if (left_ <= 0) return false;
    --left_;
    return inner_.ReadBytes(offset, out, length);
  }
  bool WriteBytes(uint64_t, const void*, size_t) override { return false; }
  bool Flush() override { return false; }

 private:
  BlockDevice& inner_;
  int left_;
};

TEST_F(CorruptTest, IoErrorsPropagate) {
  MemoryBlockDevice memory(image_.data(), image_.size());
  bool reached_the_end = false;
  for (int n = 0; n < 5000 && !reached_the_end; ++n) {
    FailingDevice device(memory, n);
    Ext2 fs;
    Error e = fs.Mount(device);
    Result<uint32_t> ino =
        e == Error::kOk ? fs.Lookup("/slow_link") : Result<uint32_t>(e);
    Inode inode;
    if (ino.ok())
      e = fs.ReadInode(ino.value(), &inode);
    else
      e = ino.error();
    if (e == Error::kOk) {
      uint8_t buf[3000];
      e = fs.ReadFile(inode, 0, buf).error();
      if (e == Error::kOk) {
        EXPECT_TRUE(std::equal(buf, buf + 3000, testing::FileBytes("deep", 3000).begin()));
      }
    }
    if (e == Error::kOk) {
      reached_the_end = true;
    } else {
      ASSERT_EQ(e, Error::kIo) << "after " << n << " reads";
    }
  }
  EXPECT_TRUE(reached_the_end);
}

// What a read may answer on a damaged image: data, or one of the errors of
// parsing a disk. Never kOk as an error, never a write, caller or service
// error (kNotMounted, kExists, kNoSpace, kBadHandle...).
bool IsReadError(Error e) {
  switch (e) {
    case Error::kIo:  // a block pointer past the device's end
    case Error::kBadMagic:
    case Error::kBadSuperblock:
    case Error::kUnsupported:
    case Error::kTruncated:
    case Error::kCorrupt:
    case Error::kInodeOutOfRange:
    case Error::kBlockOutOfRange:
    case Error::kBadDirEntry:
    case Error::kFileTooLarge:
    case Error::kNotFound:
    case Error::kNotDirectory:
    case Error::kNotSymlink:
    case Error::kInvalidPath:  // a damaged symlink target may be empty
    case Error::kNameTooLong:
    case Error::kTooManySymlinks:
      return true;
    default:
      return false;
  }
}

// Reads everything reachable, with limits so a corrupt image cannot make
// the walk itself run long. Checks each answer for what must hold whatever
// the damage, and appends it to `transcript`, so that two walks of the same
// bytes can be compared.
void Walk(Ext2& fs, uint32_t number, int depth, int* budget,
          std::string* transcript) {
  if (depth > 6 || --*budget < 0) return;
  auto record = [transcript](const char* what, Error e, uint64_t value) {
    EXPECT_TRUE(e == Error::kOk || IsReadError(e))
        << what << ": " << ErrorName(e);
    *transcript += std::string(what) + " " + ErrorName(e) + " " +
                   std::to_string(value) + "\n";
  };
  Inode inode;
  const Error read_inode = fs.ReadInode(number, &inode);
  record("inode", read_inode, number);
  if (read_inode != Error::kOk) return;
  uint8_t buf[4096];
  char link[kMaxPath];
  switch (inode.Type()) {
    case FileType::kDirectory: {
      DirCursor cursor;
      DirEntry entry;
      for (int i = 0; i < 400; ++i) {
        Result<bool> more = fs.ReadDir(inode, &cursor, &entry);
        record("readdir", more.error(),
               more.ok() && more.value() ? entry.inode : 0);
        if (!more.ok() || !more.value()) break;
        // ReadDir produces live entries only. (It passes on names a damaged
        // block gives, empty or with a NUL inside.)
        EXPECT_NE(entry.inode, 0u);
        if (entry.Name() != "." && entry.Name() != "..")
          Walk(fs, entry.inode, depth + 1, budget, transcript);
      }
      break;
    }
    case FileType::kSymlink: {
      Result<size_t> n = fs.ReadLink(inode, link);
      record("readlink", n.error(), n.ok() ? n.value() : 0);
      if (n.ok()) EXPECT_EQ(n.value(), inode.size);  // the whole target
      break;
    }
    default:
      for (uint64_t offset : {uint64_t{0}, inode.size / 2, inode.size - 1}) {
        Result<size_t> n = fs.ReadFile(inode, offset, buf);
        record("read", n.error(), n.ok() ? n.value() : 0);
        if (!n.ok()) continue;
        // Never more than asked for, nor past the end of the file.
        EXPECT_LE(n.value(), sizeof(buf));
        EXPECT_EQ(n.value(),
                  offset >= inode.size
                      ? 0
                      : std::min<uint64_t>(sizeof(buf), inode.size - offset))
            << "offset " << offset << " of " << inode.size;
      }
      break;
  }
}

// Mounts `device` and walks it; returns what it read, or the mount error.
std::string MountAndWalk(BlockDevice& device) {
  Ext2 fs;
  const Error mount = fs.Mount(device);
  EXPECT_TRUE(mount == Error::kOk || IsReadError(mount)) << ErrorName(mount);
  if (mount != Error::kOk) return std::string("mount ") + ErrorName(mount);
  std::string transcript;
  int budget = 1000;
  Walk(fs, ext2::kRootIno, 0, &budget, &transcript);
  for (const char* path :
       {"/nested/a/b/c/deep.txt", "/slow_link", "/dir_link/b/escape",
        "/big/entry_123", "/chain_1", "/loop_a"}) {
    Result<Stat> stat = fs.StatPath(path);
    EXPECT_TRUE(stat.ok() || IsReadError(stat.error()))
        << path << ": " << ErrorName(stat.error());
    transcript += std::string("stat ") + path + " " + ErrorName(stat.error()) +
                  " " + std::to_string(stat.ok() ? stat.value().size : 0) +
                  "\n";
  }
  return transcript;
}

// The walk itself on the undamaged image: it reaches the tree, and every
// answer is data except the symlink loop's.
TEST_F(CorruptTest, WalkOfThePristineImageReadsEverything) {
  MemoryBlockDevice device(image_.data(), image_.size());
  const std::string transcript = MountAndWalk(device);
  std::vector<std::string> errors;
  for (size_t at = 0, end; at < transcript.size(); at = end + 1) {
    end = transcript.find('\n', at);
    const std::string line = transcript.substr(at, end - at);
    if (line.find(" kOk ") == std::string::npos) errors.push_back(line);
  }
  EXPECT_EQ(errors,
            std::vector<std::string>{"stat /loop_a kTooManySymlinks 0"});
  EXPECT_GT(std::count(transcript.begin(), transcript.end(), '\n'), 500);
}

// Random damage to the metadata that matters (superblock, group descriptor,
// the inodes in use, the directory blocks): whatever the reader returns,
// it must return, with an answer a damaged disk can explain (see Walk),
// the same answer every time for the same bytes, and without writing.
TEST_F(CorruptTest, RandomDamageNeverCrashes) {
  std::vector<std::pair<uint64_t, uint64_t>> regions = {
      {ext2::kSuperblockOffset, 256}, {2048, 64}};
  const uint64_t inode_size =
      testing::InodeOffset(image_, 2) - testing::InodeOffset(image_, 1);
  regions.push_back({testing::InodeOffset(image_, 1), 400 * inode_size});
  for (const char* dir : {"/", "/nested", "/nested/a/b", "/big"}) {
    regions.push_back({BlockOffset(dir, 0), pristine_.block_size()});
  }
  std::mt19937_64 rng(12345);
  MemoryBlockDevice device(image_.data(), image_.size());
  int mounted = 0;
  for (int iteration = 0; iteration < 1500; ++iteration) {
    std::vector<std::pair<uint64_t, uint8_t>> saved;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      const auto& [start, length] = regions[rng() % regions.size()];
      const uint64_t at = start + rng() % length;
      saved.push_back({at, image_[at]});
      image_[at] = rng() % 2 ? static_cast<uint8_t>(rng())
                             : image_[at] ^ (1u << (rng() % 8));
    }
    const std::string first = MountAndWalk(device);
    if (first.rfind("mount ", 0) != 0) ++mounted;
    // A second, fresh mount of the same bytes: no state carried over, no
    // uninitialized read deciding an answer.
    if (iteration % 4 == 0) {
      ASSERT_EQ(MountAndWalk(device), first) << "iteration " << iteration;
    }
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      image_[it->first] = it->second;
    if (HasFailure()) FAIL() << "iteration " << iteration;
  }
  EXPECT_GT(mounted, 100);  // the walk did run on damaged but mountable images
  // Undoing the flips restored every byte: reading wrote nothing.
  EXPECT_TRUE(image_ == Pristine());
}

}  // namespace
}  // namespace uk::fs
