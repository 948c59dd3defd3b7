// The ext2 writer where things go wrong: a full disk gives kNoSpace and
// stays consistent for e2fsck; features it does not maintain and devices
// that refuse writes give kReadOnly; damaged images give errors, never a
// crash or a hang (run under --config=asan too).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "services/fs/ext2.h"
#include "services/fs/test_image.h"
#include "services/fs/write_test_image.h"

namespace uk::fs {
namespace {

using testing::Bytes;
using testing::EmptyTree;
using testing::Image;
using testing::ImageOptions;
using testing::MakeWritable;
using testing::MustCreate;
using testing::MustWrite;
using testing::WriteHostFile;

// ---- A full disk.

uint32_t SuperblockField(const Image& image, size_t field) {
  return ext2::Load32(image.bytes.data() + ext2::kSuperblockOffset + field);
}

TEST(WriteTest, FullDiskGivesNoSpaceAndStaysConsistent) {
  auto image = MakeWritable("full", {.size = "1M"}, EmptyTree());
  Ext2& fs = *image->fs;
  const uint32_t free_blocks =
      SuperblockField(*image, ext2::sb::kFreeBlocksCount);
  const uint32_t free_inodes =
      SuperblockField(*image, ext2::sb::kFreeInodesCount);

  // One file takes every block; the write that fills the disk is short.
  const uint32_t big = MustCreate(fs, "/big");
  std::vector<uint8_t> written;
  for (int i = 0;; ++i) {
    const auto chunk = Bytes("chunk" + std::to_string(i), 50000);
    Result<size_t> r = fs.WriteFile(big, written.size(), chunk);
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Error::kNoSpace);
      break;
    }
    written.insert(written.end(), chunk.begin(), chunk.begin() + r.value());
    ASSERT_LT(i, 100);
  }
  EXPECT_EQ(SuperblockField(*image, ext2::sb::kFreeBlocksCount), 0u);
  EXPECT_EQ(fs.Mkdir("/d", 0755).error(), Error::kNoSpace);
  EXPECT_EQ(fs.Symlink("/s", std::string(100, 's')).error(), Error::kNoSpace);
  // Empty files need only inodes, until the root directory needs a block.
  int files = 0;
  for (;; ++files) {
    Result<uint32_t> r = fs.Create("/f" + std::to_string(files), 0600);
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Error::kNoSpace);
      break;
    }
  }
  EXPECT_GT(files, 0);
  ASSERT_EQ(fs.Sync(), Error::kOk);
  EXPECT_EQ(image->Fsck(), "");
  ASSERT_EQ(image->Mount(), Error::kOk);
  Inode inode;
  ASSERT_EQ(image->fs->ReadInode(image->fs->Lookup("/big").value(), &inode),
            Error::kOk);
  EXPECT_TRUE(testing::ReadAll(*image->fs, inode) == written);

  // Removing it all gives every block and inode back.
  ASSERT_EQ(image->fs->Unlink("/big"), Error::kOk);
  for (int i = 0; i < files; ++i)
    ASSERT_EQ(image->fs->Unlink("/f" + std::to_string(i)), Error::kOk);
  ASSERT_EQ(image->fs->Sync(), Error::kOk);
  EXPECT_EQ(image->Fsck(), "");
  EXPECT_EQ(SuperblockField(*image, ext2::sb::kFreeInodesCount), free_inodes);
  // The root directory keeps the blocks it grew by.
  EXPECT_LE(SuperblockField(*image, ext2::sb::kFreeBlocksCount), free_blocks);
  EXPECT_GE(SuperblockField(*image, ext2::sb::kFreeBlocksCount),
            free_blocks - 8);
}

// ---- Features and devices the writer refuses.

TEST(WriteTest, UnsupportedFeaturesAreReadOnly) {
  for (auto [field, bit] : {std::pair<size_t, uint32_t>{
                                ext2::sb::kFeatureRoCompat, 0x10},   // gdt_csum
                            {ext2::sb::kFeatureIncompat, 0x200}}) {  // flex_bg
    auto image = MakeWritable("features", {.size = "2M"}, EmptyTree());
    uint8_t* at = image->bytes.data() + ext2::kSuperblockOffset + field;
    ext2::Store32(at, ext2::Load32(at) | bit);
    ASSERT_EQ(image->Mount(), Error::kOk);  // still readable
    Ext2& fs = *image->fs;
    EXPECT_FALSE(fs.writable());
    EXPECT_EQ(fs.Create("/x", 0644).error(), Error::kReadOnly);
    EXPECT_EQ(fs.Mkdir("/x", 0755).error(), Error::kReadOnly);
    EXPECT_EQ(fs.Unlink("/lost+found"), Error::kReadOnly);
    EXPECT_EQ(fs.Rename("/lost+found", "/y"), Error::kReadOnly);
    EXPECT_TRUE(fs.Lookup("/lost+found").ok());
  }
}

class ReadOnlyDevice final : public BlockDevice {
 public:
  explicit ReadOnlyDevice(BlockDevice& inner) : inner_(inner) {}
  uint64_t SizeBytes() const override { return inner_.SizeBytes(); }
  bool ReadBytes(uint64_t offset, void* out, size_t length) override {
    return inner_.ReadBytes(offset, out, length);
  }
  bool WriteBytes(uint64_t, const void*, size_t) override { return false; }
  bool Flush() override { return false; }

 private:
  BlockDevice& inner_;
};

TEST(WriteTest, FailedDeviceWritesGiveReadOnly) {
  auto image = MakeWritable("rodev", {.size = "2M"}, EmptyTree());
  const std::vector<uint8_t> before = image->bytes;
  ReadOnlyDevice device(*image->device);
  Ext2 fs;
  ASSERT_EQ(fs.Mount(device), Error::kOk);
  EXPECT_EQ(fs.Create("/x", 0644).error(), Error::kReadOnly);
  EXPECT_EQ(fs.Sync(), Error::kReadOnly);
  EXPECT_TRUE(image->bytes == before);
}

TEST(WriteTest, LargeFileFeatureSetOnFirstNeed) {
  // Revision 1 without large_file gets it; revision 0 cannot have it.
  auto image = MakeWritable("largefile", {.size = "2M"}, EmptyTree());
  uint8_t* ro = image->bytes.data() + ext2::kSuperblockOffset +
                ext2::sb::kFeatureRoCompat;
  ext2::Store32(ro, ext2::Load32(ro) & ~ext2::kRoCompatLargeFile);
  ASSERT_EQ(image->Fsck(), "");
  ASSERT_EQ(image->Mount(), Error::kOk);
  const uint32_t f = MustCreate(*image->fs, "/huge");
  MustWrite(*image->fs, f, 3ull << 30, Bytes("huge", 3000));
  EXPECT_NE(ext2::Load32(ro) & ext2::kRoCompatLargeFile, 0u);
  EXPECT_EQ(image->Fsck(), "");

  auto old =
      MakeWritable("largefile_r0", {.revision = 0, .size = "2M"}, EmptyTree());
  const uint32_t g = MustCreate(*old->fs, "/huge");
  EXPECT_EQ(old->fs->WriteFile(g, 3ull << 30, Bytes("huge", 10)).error(),
            Error::kFileTooLarge);
  EXPECT_EQ(old->fs->Truncate(g, 3ull << 30), Error::kFileTooLarge);
  ASSERT_EQ(old->fs->Sync(), Error::kOk);
  EXPECT_EQ(old->Fsck(), "");
}

// ---- Corrupt images: errors, never a crash or a hang.

const std::string& SmallTree() {
  static const std::string* root = [] {
    auto* r = new std::string(testing::MakeTempDir("ext2_write_small"));
    std::filesystem::create_directory(*r + "/d");
    for (int i = 0; i < 40; ++i) {
      WriteHostFile(*r + "/d/e_" + std::to_string(i),
                    Bytes(std::to_string(i), i * 50));
    }
    WriteHostFile(*r + "/file", Bytes("file", 300000));
    return r;
  }();
  return *root;
}

class CorruptWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pristine_ = MakeWritable("corrupt", {.size = "2M"}, SmallTree());
    ASSERT_FALSE(HasFailure());
    file_ = pristine_->fs->Lookup("/file").value();
  }
  // A fresh copy of the pristine image, mounted.
  std::unique_ptr<Image> Copy() {
    auto image = std::make_unique<Image>();
    image->path = pristine_->path + ".copy";
    image->bytes = pristine_->bytes;
    return image;
  }
  uint64_t InodeField(uint32_t number, size_t field) {
    return testing::InodeOffset(pristine_->bytes, number) + field;
  }
  uint64_t BlockOffset(uint32_t number, uint64_t index) {
    Inode inode;
    EXPECT_EQ(pristine_->fs->ReadInode(number, &inode), Error::kOk);
    return uint64_t{pristine_->fs->MapBlock(inode, index).value()} *
           pristine_->fs->block_size();
  }

  std::unique_ptr<Image> pristine_;
  uint32_t file_ = 0;
};

TEST_F(CorruptWriteTest, IndirectPointerOutOfRange) {
  auto image = Copy();
  ext2::Store32(
      image->bytes.data() + InodeField(file_, ext2::ino::kBlock + 12 * 4),
      pristine_->fs->blocks_count() + 5);
  ASSERT_EQ(image->Mount(), Error::kOk);
  Ext2& fs = *image->fs;
  EXPECT_EQ(fs.WriteFile(file_, 200000, Bytes("x", 10)).error(),
            Error::kBlockOutOfRange);
  EXPECT_EQ(fs.Truncate(file_, 0), Error::kBlockOutOfRange);
  EXPECT_EQ(fs.Unlink("/file"), Error::kBlockOutOfRange);
}

TEST_F(CorruptWriteTest, UsedBlockMarkedFree) {
  auto image = Copy();
  const Ext2& fs0 = *pristine_->fs;
  const uint32_t block =
      static_cast<uint32_t>(BlockOffset(file_, 0) / fs0.block_size());
  const uint32_t first_data_block = fs0.block_size() == 1024 ? 1 : 0;
  const uint8_t* desc =
      image->bytes.data() + uint64_t{first_data_block + 1} * fs0.block_size();
  const uint32_t bitmap = ext2::Load32(desc + ext2::gd::kBlockBitmap);
  const uint32_t bit = block - first_data_block;  // one group
  image->bytes[uint64_t{bitmap} * fs0.block_size() + bit / 8] &=
      static_cast<uint8_t>(~(1u << (bit % 8)));
  ASSERT_EQ(image->Mount(), Error::kOk);
  EXPECT_EQ(image->fs->Truncate(file_, 0), Error::kCorrupt);
}

TEST_F(CorruptWriteTest, BadDirectoryEntry) {
  auto image = Copy();
  const uint32_t d = pristine_->fs->Lookup("/d").value();
  ext2::Store16(image->bytes.data() + BlockOffset(d, 0) + 4, 3);  // "."
  ASSERT_EQ(image->Mount(), Error::kOk);
  EXPECT_EQ(image->fs->Create("/d/x", 0644).error(), Error::kBadDirEntry);
  EXPECT_EQ(image->fs->Rmdir("/d"), Error::kBadDirEntry);
  EXPECT_EQ(image->fs->Rename("/file", "/d/file"), Error::kBadDirEntry);
  EXPECT_TRUE(image->fs->Create("/y", 0644).ok());
}

uint32_t ValueOr(const Result<uint32_t>& r, uint32_t otherwise) {
  return r.ok() ? r.value() : otherwise;
}

// What a write may answer on a damaged disk: a parse error, or an error
// the damaged metadata explains (no free block in a damaged bitmap, a
// feature flag flipped to one the writer refuses, a type flipped to a
// directory...). Never kNotMounted, kInvalidPath (every path here is
// valid) or a service error.
bool IsWriteOnDamageError(Error e) {
  switch (e) {
    case Error::kIo:
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
    case Error::kNameTooLong:
    case Error::kTooManySymlinks:
    case Error::kExists:
    case Error::kNoSpace:
    case Error::kNotEmpty:
    case Error::kIsDirectory:
    case Error::kReadOnly:
    case Error::kInvalidArgument:
    case Error::kCrossesRoot:
    case Error::kTooManyLinks:
      return true;
    default:
      return false;
  }
}

// Random damage, then every kind of write: none may crash (ASan and UBSan
// in CI), and each either did what it says or failed with a reason.
TEST_F(CorruptWriteTest, RandomDamageNeverCrashes) {
  const uint32_t bs = pristine_->fs->block_size();
  const uint32_t d = pristine_->fs->Lookup("/d").value();
  const uint64_t inode_size = testing::InodeOffset(pristine_->bytes, 2) -
                              testing::InodeOffset(pristine_->bytes, 1);
  std::vector<std::pair<uint64_t, uint64_t>> regions = {
      {ext2::kSuperblockOffset, 256},
      {2048, 64},
      {testing::InodeOffset(pristine_->bytes, 1), 60 * inode_size},
      {BlockOffset(ext2::kRootIno, 0), bs},
      {BlockOffset(d, 0), bs},
      {BlockOffset(file_, 12), bs},  // the indirect block's first child
  };
  Inode file;
  ASSERT_EQ(pristine_->fs->ReadInode(file_, &file), Error::kOk);
  regions.push_back({uint64_t{file.block[12]} * bs, bs});
  const uint8_t* desc = pristine_->bytes.data() + 2 * 1024;
  regions.push_back({uint64_t{ext2::Load32(desc)} * bs, bs});
  regions.push_back({uint64_t{ext2::Load32(desc + 4)} * bs, bs});

  std::mt19937_64 rng(777);
  int mounted = 0;
  for (int iteration = 0; iteration < 400; ++iteration) {
    auto image = Copy();
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i) {
      const auto& [start, length] = regions[rng() % regions.size()];
      const uint64_t at = start + rng() % length;
      image->bytes[at] = rng() % 2 ? static_cast<uint8_t>(rng())
                                   : image->bytes[at] ^ (1u << (rng() % 8));
    }
    if (image->Mount() != Error::kOk) continue;
    ++mounted;
    Ext2& fs = *image->fs;
    // Each call either does what it says (checked by reading it back) or
    // fails with an error a damaged disk can explain.
    auto check = [&](const char* what, Error e) {
      EXPECT_TRUE(e == Error::kOk || IsWriteOnDamageError(e))
          << what << ": " << ErrorName(e) << " (iteration " << iteration << ")";
      return e == Error::kOk;
    };
    Result<uint32_t> n1 = fs.Create("/n1", 0644);
    if (check("create", n1.error())) {
      EXPECT_EQ(ValueOr(fs.Lookup("/n1"), 0), n1.value()) << iteration;
    }
    for (auto [offset, seed, size] :
         {std::tuple<uint64_t, const char*, size_t>{100000, "w", 5000},
          {300000 + rng() % 100000, "v", 3000}}) {
      const std::vector<uint8_t> data = Bytes(seed, size);
      Result<size_t> n = fs.WriteFile(file_, offset, data);
      if (!check("write", n.error())) continue;
      EXPECT_GT(n.value(), 0u) << iteration;  // kNoSpace when none
      // The damage may leave an inode the writer uses but the reader
      // refuses (kCorrupt, at iteration 289): not chased here.
      Inode inode;
      if (check("reread", fs.ReadInode(file_, &inode))) {
        EXPECT_GE(inode.size, offset + n.value()) << iteration;
      }
    }
    if (check("truncate", fs.Truncate(file_, 1000))) {
      Inode inode;
      if (check("reread", fs.ReadInode(file_, &inode))) {
        EXPECT_EQ(inode.size, 1000u) << iteration;
      }
    }
    Result<uint32_t> sub = fs.Mkdir("/d/sub", 0755);
    if (check("mkdir", sub.error())) {
      EXPECT_EQ(ValueOr(fs.Lookup("/d/sub"), 0), sub.value()) << iteration;
    }
    const std::string target(80, 'l');
    if (check("symlink", fs.Symlink("/d/link", target).error())) {
      Inode link;
      ASSERT_EQ(fs.ReadInode(ValueOr(fs.Lookup("/d/link", FollowLinks::kNo), 0),
                             &link),
                Error::kOk)
          << iteration;
      char got[kMaxPath];
      Result<size_t> length = fs.ReadLink(link, got);
      ASSERT_TRUE(length.ok()) << ErrorName(length.error()) << " " << iteration;
      EXPECT_EQ(std::string(got, length.value()), target) << iteration;
    }
    for (auto [from, to] :
         {std::pair<const char*, const char*>{"/d/sub", "/sub"},
          {"/d/e_3", "/d/e_4"}}) {
      const Result<uint32_t> moved = fs.Lookup(from, FollowLinks::kNo);
      if (check("rename", fs.Rename(from, to))) {
        // Gone (kNotFound, or an error from damage further on in the
        // directory).
        EXPECT_FALSE(fs.Lookup(from, FollowLinks::kNo).ok()) << iteration;
        EXPECT_EQ(ValueOr(fs.Lookup(to, FollowLinks::kNo), 0),
                  ValueOr(moved, ~0u))
            << iteration;
      }
    }
    for (const char* path : {"/d/e_5", "/d/link", "/file"}) {
      if (check("unlink", fs.Unlink(path))) {
        EXPECT_FALSE(fs.Lookup(path, FollowLinks::kNo).ok()) << iteration;
      }
    }
    if (check("rmdir", fs.Rmdir("/sub"))) {
      EXPECT_FALSE(fs.Lookup("/sub").ok()) << iteration;
    }
    check("sync", fs.Sync());
    if (HasFailure()) FAIL() << "iteration " << iteration;
  }
  EXPECT_GT(mounted, 100);
}

}  // namespace
}  // namespace uk::fs
