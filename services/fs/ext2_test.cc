// The ext2 reader against images mke2fs builds from a known tree: every
// file's bytes, every directory's names, every symlink's target and every
// stat field must match the source, at 1, 2 and 4 KiB blocks, revisions 0
// and 1, and with htree-indexed directories.

#include "services/fs/ext2.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "services/fs/test_image.h"

namespace uk::fs {
namespace {

namespace stdfs = std::filesystem;
using testing::ImageOptions;

// Two trees, built once each: with and without a file over 2 GiB.
const std::string& SourceTree(bool large_file) {
  static std::string* roots[2] = {};
  std::string*& root = roots[large_file];
  if (root == nullptr) {
    root = new std::string(
        testing::MakeTempDir(large_file ? "ext2_source_large" : "ext2_source"));
    testing::BuildSourceTree(*root, large_file);
  }
  return *root;
}

// One mounted image per parameter set, built on first use.
struct Mounted {
  std::vector<uint8_t> bytes;
  std::unique_ptr<MemoryBlockDevice> device;
  std::unique_ptr<Ext2> fs;
};

std::string Describe(const ImageOptions& o) {
  return "b" + std::to_string(o.block_size) + "_r" +
         std::to_string(o.revision) + (o.index_directories ? "_htree" : "");
}

class Ext2ImageTest : public ::testing::TestWithParam<ImageOptions> {
 protected:
  void SetUp() override {
    static std::map<std::string, Mounted>* cache =
        new std::map<std::string, Mounted>;
    const std::string key = Describe(GetParam());
    Mounted& m = (*cache)[key];
    if (m.fs == nullptr) {
      const std::string dir = testing::MakeTempDir("ext2_image_" + key);
      m.bytes = testing::MakeImage(SourceTree(GetParam().revision == 1),
                                   dir + "/fs.img", GetParam());
      ASSERT_FALSE(m.bytes.empty());
      m.device =
          std::make_unique<MemoryBlockDevice>(m.bytes.data(), m.bytes.size());
      m.fs = std::make_unique<Ext2>();
      Error e = m.fs->Mount(*m.device);
      ASSERT_EQ(e, Error::kOk) << ErrorName(e);
    }
    fs_ = m.fs.get();
  }

  uint32_t MustLookup(const std::string& path,
                      FollowLinks follow = FollowLinks::kYes) {
    Result<uint32_t> r = fs_->Lookup(path, follow);
    EXPECT_TRUE(r.ok()) << path << ": " << ErrorName(r.error());
    return r.ok() ? r.value() : 0;
  }
  Error LookupError(const std::string& path,
                    FollowLinks follow = FollowLinks::kYes) {
    return fs_->Lookup(path, follow).error();
  }
  Inode MustInode(const std::string& path,
                  FollowLinks follow = FollowLinks::kYes) {
    Inode inode;
    EXPECT_EQ(fs_->ReadInode(MustLookup(path, follow), &inode), Error::kOk)
        << path;
    return inode;
  }
  std::set<std::string> ListDir(const Inode& dir) {
    std::set<std::string> names;
    DirCursor cursor;
    DirEntry entry;
    for (;;) {
      Result<bool> more = fs_->ReadDir(dir, &cursor, &entry);
      EXPECT_TRUE(more.ok()) << ErrorName(more.error());
      if (!more.ok() || !more.value()) break;
      EXPECT_TRUE(names.insert(std::string(entry.Name())).second)
          << "duplicate " << entry.Name();
      if (GetParam().revision == 1) {
        Inode child;
        EXPECT_EQ(fs_->ReadInode(entry.inode, &child), Error::kOk);
        EXPECT_EQ(entry.type, child.Type()) << entry.Name();
      }
    }
    return names;
  }

  // Revision 0 images cannot hold a file over 2 GiB (see SparseSize).
  bool large_file() const { return GetParam().revision == 1; }
  const std::string& Source() const { return SourceTree(large_file()); }

  Ext2* fs_ = nullptr;
};

TEST_P(Ext2ImageTest, Geometry) {
  EXPECT_EQ(fs_->block_size(), static_cast<uint32_t>(GetParam().block_size));
  EXPECT_EQ(fs_->revision(), static_cast<uint32_t>(GetParam().revision));
  EXPECT_GE(fs_->max_file_size(), testing::SparseSize(large_file()));
}

// Walks the source tree and checks each entry against the image.
TEST_P(Ext2ImageTest, EveryEntryMatchesTheSource) {
  int checked = 0;
  for (const stdfs::directory_entry& e :
       stdfs::recursive_directory_iterator(Source())) {
    const std::string host = e.path().string();
    const std::string path =
        "/" + e.path().lexically_relative(Source()).string();
    SCOPED_TRACE(path);
    struct stat st;
    ASSERT_EQ(lstat(host.c_str(), &st), 0);
    Result<Stat> s = fs_->StatPath(path, FollowLinks::kNo);
    ASSERT_TRUE(s.ok()) << ErrorName(s.error());
    EXPECT_EQ(s.value().mode, st.st_mode & 0xFFFF);
    EXPECT_EQ(s.value().uid, st.st_uid);
    EXPECT_EQ(s.value().gid, st.st_gid);
    EXPECT_EQ(s.value().mtime, static_cast<uint32_t>(st.st_mtime));
    Inode inode;
    ASSERT_EQ(fs_->ReadInode(s.value().inode, &inode), Error::kOk);
    if (S_ISREG(st.st_mode)) {
      EXPECT_EQ(s.value().type, FileType::kRegular);
      EXPECT_EQ(s.value().size, static_cast<uint64_t>(st.st_size));
      EXPECT_EQ(s.value().links, st.st_nlink);
      if (inode.size < (64u << 20)) {  // the sparse file has its own test
        EXPECT_TRUE(testing::ReadAll(*fs_, inode) ==
                    testing::ReadHostFile(host));
      }
    } else if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(s.value().type, FileType::kDirectory);
      std::set<std::string> expected = {".", ".."};
      for (const stdfs::directory_entry& child :
           stdfs::directory_iterator(e.path())) {
        expected.insert(child.path().filename().string());
      }
      EXPECT_EQ(ListDir(inode), expected);
    } else if (S_ISLNK(st.st_mode)) {
      EXPECT_EQ(s.value().type, FileType::kSymlink);
      EXPECT_EQ(s.value().size, static_cast<uint64_t>(st.st_size));
      char target[kMaxPath];
      Result<size_t> n = fs_->ReadLink(inode, target);
      ASSERT_TRUE(n.ok()) << ErrorName(n.error());
      EXPECT_EQ(std::string(target, n.value()),
                stdfs::read_symlink(e.path()).string());
    }
    ++checked;
  }
  EXPECT_GT(checked, testing::kBigDirEntries + 20);
}

TEST_P(Ext2ImageTest, RootListsSourceAndLostFound) {
  std::set<std::string> expected = {".", "..", "lost+found"};
  for (const stdfs::directory_entry& child :
       stdfs::directory_iterator(Source())) {
    expected.insert(child.path().filename().string());
  }
  EXPECT_EQ(ListDir(MustInode("/")), expected);
}

TEST_P(Ext2ImageTest, BigDirectory) {
  const Inode big = MustInode("/big");
  EXPECT_EQ(ListDir(big).size(), testing::kBigDirEntries + 2u);
  if (GetParam().index_directories) {
    EXPECT_NE(big.flags & 0x1000, 0u) << "e2fsck -D did not index /big";
  }
  for (int i = 0; i < testing::kBigDirEntries; i += 37) {
    char name[32];
    snprintf(name, sizeof name, "entry_%03d", i);
    const Inode file = MustInode(std::string("/big/") + name);
    EXPECT_TRUE(testing::ReadAll(*fs_, file) ==
                testing::FileBytes(name, 1 + i % 7));
  }
}

TEST_P(Ext2ImageTest, ChunkedReadsAtOddOffsets) {
  const Inode file = MustInode("/file_5242880");
  const std::vector<uint8_t> expected =
      testing::FileBytes("file_5242880", 5 << 20);
  std::vector<uint8_t> got(expected.size());
  uint64_t offset = 0;
  for (size_t chunk = 1; offset < expected.size();
       chunk = chunk * 3 % 9973 + 1) {
    Result<size_t> n = fs_->ReadFile(
        file, offset,
        std::span(got).subspan(offset,
                               std::min<size_t>(chunk, got.size() - offset)));
    ASSERT_TRUE(n.ok()) << ErrorName(n.error());
    ASSERT_GT(n.value(), 0u);
    offset += n.value();
  }
  EXPECT_TRUE(got == expected);

  uint8_t buf[100];
  Result<size_t> tail = fs_->ReadFile(file, expected.size() - 10, buf);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail.value(), 10u);
  EXPECT_EQ(0, memcmp(buf, expected.data() + expected.size() - 10, 10));
  EXPECT_EQ(fs_->ReadFile(file, expected.size(), buf).value(), 0u);
  EXPECT_EQ(fs_->ReadFile(file, expected.size() + 12345, buf).value(), 0u);
  EXPECT_EQ(fs_->ReadFile(MustInode("/file_0"), 0, buf).value(), 0u);
}

TEST_P(Ext2ImageTest, SparseFileThroughTripleIndirect) {
  const Inode sparse = MustInode("/sparse");
  ASSERT_EQ(sparse.size, testing::SparseSize(large_file()));
  // Triple indirect: 70 MiB at 1 KiB blocks, 5 GiB at any block size.
  EXPECT_EQ(sparse.block[ext2::kTripleSlot] != 0,
            large_file() || fs_->block_size() == 1024);
  std::vector<std::pair<uint64_t, const char*>> runs = {
      {testing::kSparseRun1, "run1"}};
  if (large_file()) runs.push_back({testing::kSparseRun2, "run2"});
  for (auto [offset, seed] : runs) {
    // A window from before the run to its end: zeros, then the run.
    std::vector<uint8_t> got(testing::kSparseRunLength + 5000);
    Result<size_t> n = fs_->ReadFile(sparse, offset - 5000, got);
    ASSERT_TRUE(n.ok()) << ErrorName(n.error());
    ASSERT_EQ(n.value(), got.size());
    std::vector<uint8_t> expected(5000, 0);
    const std::vector<uint8_t> run =
        testing::FileBytes(seed, testing::kSparseRunLength);
    expected.insert(expected.end(), run.begin(), run.end());
    EXPECT_TRUE(got == expected) << seed;
  }
  std::vector<uint8_t> hole(100000, 0xAA);
  ASSERT_EQ(fs_->ReadFile(sparse, 1 << 20, hole).value(), hole.size());
  EXPECT_EQ(std::count(hole.begin(), hole.end(), 0),
            static_cast<long>(hole.size()));
  EXPECT_EQ(fs_->MapBlock(sparse, 3).value(), 0u);
  EXPECT_NE(
      fs_->MapBlock(sparse, runs.back().first / fs_->block_size()).value(), 0u);
}

TEST_P(Ext2ImageTest, PathNormalizationStaysInside) {
  const uint32_t root = MustLookup("/");
  EXPECT_EQ(root, ext2::kRootIno);
  const uint32_t file_1 = MustLookup("/file_1");
  for (const char* path :
       {"//file_1", "/./file_1", "/nested/../file_1", "/../../file_1",
        "/nested/a/b/c/../../../../../../file_1", "/nested/a/b/escape",
        "/nested/a/b/up_and_out/file_1", "/dir_link/b/escape", "/chain_1",
        "///nested//.//..//file_1"}) {
    EXPECT_EQ(MustLookup(path), file_1) << path;
  }
  for (const char* path :
       {"/..", "/../..", "/.", "//", "/nested/..", "/nested/a/b/up_and_out",
        "/nested/a/b/up_and_out/..", "/dir_link/../.."}) {
    EXPECT_EQ(MustLookup(path), root) << path;
  }
  EXPECT_EQ(MustLookup("/dir_link/b/c/deep.txt"),
            MustLookup("/nested/a/b/c/deep.txt"));
  EXPECT_EQ(MustLookup("/dir_link/.."),
            MustLookup("/nested"));  // physical parent
  EXPECT_EQ(MustLookup("/slow_link"), MustLookup("/nested/a/b/c/deep.txt"));
  EXPECT_EQ(MustLookup("/fast_link"), MustLookup("/file_1023"));
  EXPECT_EQ(MustLookup("/dir_link/"), MustLookup("/nested/a"));
  EXPECT_EQ(MustLookup("/nested/"), MustLookup("/nested"));
  // The longest name ext2 allows finds its own file (test_image.cc writes
  // 10 bytes from seed "long"), not the root or some other entry.
  const Inode longest = MustInode("/" + std::string(255, 'L'));
  ASSERT_EQ(longest.Type(), FileType::kRegular);
  std::vector<uint8_t> got(64);
  Result<size_t> n = fs_->ReadFile(longest, 0, got);
  ASSERT_TRUE(n.ok()) << ErrorName(n.error());
  got.resize(n.value());
  EXPECT_EQ(got, testing::FileBytes("long", 10));
}

TEST_P(Ext2ImageTest, FinalSymlinkNotFollowedWhenAsked) {
  const Inode link = MustInode("/fast_link", FollowLinks::kNo);
  EXPECT_EQ(link.Type(), FileType::kSymlink);
  EXPECT_EQ(link.blocks_512, 0u);  // a fast symlink
  const Inode slow = MustInode("/slow_link", FollowLinks::kNo);
  EXPECT_NE(slow.blocks_512, 0u);
  EXPECT_EQ(MustInode("/dangling", FollowLinks::kNo).Type(),
            FileType::kSymlink);
  EXPECT_EQ(MustInode("/loop_a", FollowLinks::kNo).Type(), FileType::kSymlink);
  // A trailing slash follows even then.
  EXPECT_EQ(MustLookup("/dir_link/", FollowLinks::kNo),
            MustLookup("/nested/a"));
}

TEST_P(Ext2ImageTest, LookupErrors) {
  EXPECT_EQ(LookupError("/missing"), Error::kNotFound);
  EXPECT_EQ(LookupError("/nested/missing/x"), Error::kNotFound);
  EXPECT_EQ(LookupError("/dangling"), Error::kNotFound);
  EXPECT_EQ(LookupError("/loop_a"), Error::kTooManySymlinks);
  EXPECT_EQ(LookupError("/loop_a/x"), Error::kTooManySymlinks);
  EXPECT_EQ(LookupError("/chain_0"), Error::kTooManySymlinks);  // 9 links
  EXPECT_EQ(LookupError("/file_1/x"), Error::kNotDirectory);
  EXPECT_EQ(LookupError("/file_1/"), Error::kNotDirectory);
  EXPECT_EQ(LookupError("/fast_link/"), Error::kNotDirectory);
  EXPECT_EQ(LookupError("/file_1/.."), Error::kNotDirectory);
  EXPECT_EQ(LookupError(""), Error::kInvalidPath);
  EXPECT_EQ(LookupError("file_1"), Error::kInvalidPath);
  EXPECT_EQ(LookupError("/" + std::string(256, 'L')), Error::kNameTooLong);
  EXPECT_EQ(LookupError("/" + std::string(5000, 'a')), Error::kNameTooLong);
  std::string deep;
  while (deep.size() < kMaxPath + 10) deep += "/.";
  EXPECT_EQ(LookupError(deep), Error::kNameTooLong);

  Inode inode;
  EXPECT_EQ(fs_->ReadInode(0, &inode), Error::kInodeOutOfRange);
  EXPECT_EQ(fs_->ReadInode(fs_->inodes_count() + 1, &inode),
            Error::kInodeOutOfRange);
  EXPECT_EQ(fs_->ReadInode(fs_->inodes_count(), &inode), Error::kOk);
  const Inode file = MustInode("/file_1");
  DirCursor cursor;
  DirEntry entry;
  EXPECT_EQ(fs_->ReadDir(file, &cursor, &entry).error(), Error::kNotDirectory);
  char small[4];
  EXPECT_EQ(fs_->ReadLink(file, small).error(), Error::kNotSymlink);
  EXPECT_EQ(
      fs_->ReadLink(MustInode("/slow_link", FollowLinks::kNo), small).error(),
      Error::kNameTooLong);
}

INSTANTIATE_TEST_SUITE_P(
    Images, Ext2ImageTest,
    ::testing::Values(ImageOptions{.block_size = 1024, .revision = 1},
                      ImageOptions{.block_size = 2048, .revision = 1},
                      ImageOptions{.block_size = 4096, .revision = 1},
                      ImageOptions{.block_size = 1024, .revision = 0},
                      ImageOptions{.block_size = 4096, .revision = 0},
                      ImageOptions{.block_size = 1024,
                                   .revision = 1,
                                   .index_directories = true}),
    [](const ::testing::TestParamInfo<ImageOptions>& info) {
      return Describe(info.param);
    });

TEST(Ext2, NotMounted) {
  Ext2 fs;
  Inode inode;
  EXPECT_FALSE(fs.mounted());
  EXPECT_EQ(fs.Lookup("/").error(), Error::kNotMounted);
  EXPECT_EQ(fs.ReadInode(2, &inode), Error::kNotMounted);
}

}  // namespace
}  // namespace uk::fs
