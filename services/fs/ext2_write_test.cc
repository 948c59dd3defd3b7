// The ext2 writer against images mke2fs builds: after each sequence of
// writes, `e2fsck -fn` must find the filesystem clean (exit status 0, no
// question asked), and the reader (and debugfs, independently) must read
// back what was written. A randomized test mirrors many operations in an
// in-memory model. Full disks, damaged images and refused features are in
// ext2_write_errors_test.cc.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "services/fs/ext2.h"
#include "services/fs/test_image.h"
#include "services/fs/write_test_image.h"

namespace uk::fs {
namespace {

using testing::Bytes;
using testing::Describe;
using testing::EmptyTree;
using testing::Image;
using testing::ImageOptions;
using testing::MakeWritable;
using testing::MustCreate;
using testing::MustWrite;
using testing::SourceTree;

// ---- The model: what the tree should hold after the operations.
struct Node {
  FileType type = FileType::kRegular;
  std::vector<uint8_t> data;  // regular files
  std::string target;         // symlinks
};
using Model = std::map<std::string, Node>;

void ModelWrite(std::vector<uint8_t>* data, uint64_t offset,
                const std::vector<uint8_t>& bytes) {
  if (data->size() < offset + bytes.size()) data->resize(offset + bytes.size());
  std::copy(bytes.begin(), bytes.end(), data->begin() + offset);
}

// Checks that every path in `model` reads back as recorded, and, for the
// directories in `exact_dirs`, that they hold nothing else.
void ExpectMatches(Ext2& fs, const Model& model,
                   const std::set<std::string>& exact_dirs) {
  for (const auto& [path, node] : model) {
    Result<uint32_t> number = fs.Lookup(path, FollowLinks::kNo);
    ASSERT_TRUE(number.ok()) << path << ": " << ErrorName(number.error());
    Inode inode;
    ASSERT_EQ(fs.ReadInode(number.value(), &inode), Error::kOk) << path;
    ASSERT_EQ(inode.Type(), node.type) << path;
    if (node.type == FileType::kRegular) {
      ASSERT_EQ(inode.size, node.data.size()) << path;
      EXPECT_TRUE(testing::ReadAll(fs, inode) == node.data) << path;
    } else if (node.type == FileType::kSymlink) {
      char target[kMaxPath];
      Result<size_t> n = fs.ReadLink(inode, target);
      ASSERT_TRUE(n.ok()) << path;
      EXPECT_EQ(std::string(target, n.value()), node.target) << path;
    }
  }
  for (const std::string& dir : exact_dirs) {
    Result<uint32_t> number = fs.Lookup(dir);
    ASSERT_TRUE(number.ok()) << dir;
    Inode inode;
    ASSERT_EQ(fs.ReadInode(number.value(), &inode), Error::kOk);
    std::set<std::string> names;
    DirCursor cursor;
    DirEntry entry;
    int subdirs = 0;
    for (;;) {
      Result<bool> more = fs.ReadDir(inode, &cursor, &entry);
      ASSERT_TRUE(more.ok()) << dir << ": " << ErrorName(more.error());
      if (!more.value()) break;
      if (entry.Name() == "." || entry.Name() == "..") continue;
      const std::string child =
          (dir == "/" ? "" : dir) + "/" + std::string(entry.Name());
      EXPECT_TRUE(model.count(child)) << "unexpected " << child;
      names.insert(child);
      if (model.count(child) && model.at(child).type == FileType::kDirectory)
        ++subdirs;
    }
    EXPECT_EQ(inode.links, 2 + subdirs) << dir;
    for (const auto& [path, node] : model) {
      const size_t slash = path.rfind('/');
      if (path.substr(0, slash == 0 ? 1 : slash) == dir) {
        EXPECT_TRUE(names.count(path)) << "missing " << path;
      }
    }
  }
}

class WriteImageTest : public ::testing::TestWithParam<ImageOptions> {};

TEST_P(WriteImageTest, ScriptedOperationsLeaveACleanFilesystem) {
  const ImageOptions options = GetParam();
  auto image =
      MakeWritable("scripted_" + Describe(options), options, SourceTree());
  Ext2& fs = *image->fs;
  ASSERT_TRUE(fs.writable());
  const uint32_t bs = fs.block_size();
  const uint64_t p = bs / 4;
  Model model;

  // Small and block-crossing writes.
  uint32_t small = MustCreate(fs, "/new.txt");
  MustWrite(fs, small, 0, Bytes("hello", 100));
  MustWrite(fs, small, bs - 3, Bytes("cross", 10));
  model["/new.txt"].data = Bytes("hello", 100);
  model["/new.txt"].data.resize(bs - 3);
  ModelWrite(&model["/new.txt"].data, bs - 3, Bytes("cross", 10));

  // Into the double-indirect range, in odd-sized chunks.
  const size_t big_size = (12 + p + 10) * bs + 123;
  uint32_t big = MustCreate(fs, "/dbl");
  MustWrite(fs, big, 0, Bytes("dbl", big_size), 7777);
  model["/dbl"].data = Bytes("dbl", big_size);

  // Sparse: a run far out (triple-indirect with 1 KiB blocks), one near 0.
  uint32_t sparse = MustCreate(fs, "/sparse2");
  MustWrite(fs, sparse, 70ull << 20, Bytes("far", 5000));
  MustWrite(fs, sparse, 3, Bytes("near", 100));
  model["/sparse2"].data.resize(70ull << 20);
  ModelWrite(&model["/sparse2"].data, 70ull << 20, Bytes("far", 5000));
  ModelWrite(&model["/sparse2"].data, 3, Bytes("near", 100));

  // Overwrite the middle of a file mke2fs wrote.
  Result<uint32_t> existing = fs.Lookup("/file_71680");
  ASSERT_TRUE(existing.ok());
  model["/file_71680"].data = Bytes("file_71680", 71680);
  MustWrite(fs, existing.value(), 30000, Bytes("over", 20000));
  ModelWrite(&model["/file_71680"].data, 30000, Bytes("over", 20000));

  // Shrink across the double/single and single/direct boundaries, grow
  // (a hole), write into the hole.
  std::vector<uint8_t>& dbl = model["/dbl"].data;
  for (uint64_t size : {(12 + 5) * uint64_t{bs} + 100, 3 * uint64_t{bs} + 7}) {
    ASSERT_EQ(fs.Truncate(big, size), Error::kOk);
    dbl.resize(size);
  }
  ASSERT_EQ(fs.Truncate(big, 20 * uint64_t{bs}), Error::kOk);
  dbl.resize(20 * bs);
  MustWrite(fs, big, 15 * uint64_t{bs} + 5, Bytes("hole", 300));
  ModelWrite(&dbl, 15 * bs + 5, Bytes("hole", 300));

  // Empty a large file mke2fs wrote, then reuse it.
  Result<uint32_t> five = fs.Lookup("/file_5242880");
  ASSERT_TRUE(five.ok());
  ASSERT_EQ(fs.Truncate(five.value(), 0), Error::kOk);
  MustWrite(fs, five.value(), 0, Bytes("again", 5000));
  model["/file_5242880"].data = Bytes("again", 5000);

  // Directories: nesting, rmdir refusing, moving to another parent.
  ASSERT_TRUE(fs.Mkdir("/m", 0755).ok());
  ASSERT_TRUE(fs.Mkdir("/m/sub", 0700).ok());
  uint32_t f = MustCreate(fs, "/m/sub/f");
  MustWrite(fs, f, 0, Bytes("f", 3000));
  EXPECT_EQ(fs.Rmdir("/m"), Error::kNotEmpty);
  EXPECT_EQ(fs.Rename("/m", "/m/sub/inside"), Error::kCrossesRoot);
  EXPECT_EQ(fs.Rename("/m", "/m/sub"), Error::kCrossesRoot);
  ASSERT_EQ(fs.Rename("/m/sub", "/nested/moved"), Error::kOk);
  EXPECT_EQ(fs.Lookup("/nested/moved/..").value(),
            fs.Lookup("/nested").value());
  ASSERT_EQ(fs.Rmdir("/m"), Error::kOk);
  EXPECT_EQ(fs.Lookup("/m").error(), Error::kNotFound);
  model["/nested/moved"].type = FileType::kDirectory;
  model["/nested/moved/f"].data = Bytes("f", 3000);
  ASSERT_TRUE(fs.Mkdir("/empty_target", 0755).ok());
  ASSERT_EQ(fs.Rename("/nested/empty_dir", "/empty_target"), Error::kOk);
  model["/empty_target"].type = FileType::kDirectory;

  // Rename a file over a file.
  MustWrite(fs, MustCreate(fs, "/a"), 0, Bytes("a", 1500));
  MustWrite(fs, MustCreate(fs, "/b"), 0, Bytes("b", 2500));
  ASSERT_EQ(fs.Rename("/a", "/b"), Error::kOk);
  EXPECT_EQ(fs.Lookup("/a").error(), Error::kNotFound);
  model["/b"].data = Bytes("a", 1500);

  // Symlinks, fast and slow.
  ASSERT_TRUE(fs.Symlink("/fl", "new.txt").ok());
  std::string slow = "/nested/moved";
  while (slow.size() < 200) slow += "/.";
  slow += "/f";
  ASSERT_TRUE(fs.Symlink("/sl", slow).ok());
  model["/fl"] = {FileType::kSymlink, {}, "new.txt"};
  model["/sl"] = {FileType::kSymlink, {}, slow};
  EXPECT_EQ(fs.Lookup("/sl").value(), fs.Lookup("/nested/moved/f").value());

  // Unlinks: a file, a symlink, the moved-over name, a directory (refused).
  ASSERT_EQ(fs.Unlink("/file_1"), Error::kOk);
  ASSERT_EQ(fs.Unlink("/fast_link"), Error::kOk);
  EXPECT_EQ(fs.Unlink("/nested"), Error::kIsDirectory);
  EXPECT_EQ(fs.Lookup("/file_1").error(), Error::kNotFound);

  // Churn in the big (htree-indexed in the _htree image) directory: the
  // first change drops the index flag.
  Inode big_dir;
  ASSERT_EQ(fs.ReadInode(fs.Lookup("/big").value(), &big_dir), Error::kOk);
  EXPECT_EQ((big_dir.flags & ext2::kIndexFlag) != 0, options.index_directories);
  for (int i = 0; i < testing::kBigDirEntries; ++i) {
    char name[32];
    snprintf(name, sizeof name, "/big/entry_%03d", i);
    if (i % 3 == 0) {
      ASSERT_EQ(fs.Unlink(name), Error::kOk) << name;
    } else {
      model[name].data = Bytes(name + 5, 1 + i % 7);
    }
  }
  for (int i = 0; i < 60; ++i) {
    const std::string name = "/big/new_" + std::to_string(i);
    MustWrite(fs, MustCreate(fs, name), 0, Bytes(name, i * 37));
    model[name].data = Bytes(name, i * 37);
  }

  ASSERT_EQ(fs.ReadInode(big_dir.number, &big_dir), Error::kOk);
  EXPECT_EQ(big_dir.flags & ext2::kIndexFlag, 0u);

  // Errors that change nothing.
  EXPECT_EQ(fs.Create("/new.txt", 0644).error(), Error::kExists);
  EXPECT_EQ(fs.Mkdir("/nested", 0755).error(), Error::kExists);
  EXPECT_EQ(fs.Create("/dangling", 0644).error(), Error::kExists);
  EXPECT_EQ(fs.Rmdir("/new.txt"), Error::kNotDirectory);
  EXPECT_EQ(fs.Unlink("/nope"), Error::kNotFound);
  EXPECT_EQ(fs.Create("/nope/x", 0644).error(), Error::kNotFound);
  EXPECT_EQ(fs.Create("/new.txt/x", 0644).error(), Error::kNotDirectory);
  EXPECT_EQ(fs.Mkdir("/", 0755).error(), Error::kInvalidArgument);
  EXPECT_EQ(fs.Create("/nested/..", 0644).error(), Error::kInvalidArgument);
  EXPECT_EQ(fs.Rename("/new.txt", "/nested"), Error::kIsDirectory);
  EXPECT_EQ(fs.Rename("/nested", "/new.txt"), Error::kNotDirectory);
  EXPECT_EQ(fs.Rename("/empty_target", "/big"), Error::kNotEmpty);
  EXPECT_EQ(
      fs.WriteFile(fs.Lookup("/nested").value(), 0, Bytes("x", 1)).error(),
      Error::kIsDirectory);
  EXPECT_EQ(fs.Create(std::string("/") + std::string(256, 'n'), 0644).error(),
            Error::kNameTooLong);

  ASSERT_EQ(fs.Sync(), Error::kOk);
  const std::string fsck = image->Fsck();
  EXPECT_EQ(fsck, "");

  // Read back through a fresh mount, and through debugfs.
  ASSERT_EQ(image->Mount(), Error::kOk);
  ExpectMatches(*image->fs, model, {"/big"});
  for (const char* path : {"/new.txt", "/dbl", "/b", "/nested/moved/f",
                           "/file_71680", "/big/new_59"}) {
    EXPECT_TRUE(image->DebugfsCat(path) == model[path].data) << path;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Images, WriteImageTest,
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

// The e2fsck harness itself: damage it must notice.
TEST(WriteTest, FsckNoticesDamage) {
  auto image = MakeWritable("fsck_sanity", {.size = "2M"}, EmptyTree());
  EXPECT_EQ(image->Fsck(), "");
  ext2::Store32(image->bytes.data() + ext2::kSuperblockOffset +
                    ext2::sb::kFreeBlocksCount,
                7);
  EXPECT_NE(image->Fsck(), "");
}

// ---- Random operations mirrored in a model.

class RandomOps {
 public:
  RandomOps(Image* image, uint64_t seed) : image_(image), rng_(seed) {}

  void Step() {
    Ext2& fs = *image_->fs;
    switch (rng_() % 10) {
      case 0:
      case 1: {  // create (or find the name taken)
        const std::string path = NewPath();
        Result<uint32_t> r = fs.Create(path, 0644);
        Expect(r.error(), CreateError(path), "create " + path);
        if (r.ok()) model_[path] = Node{};
        break;
      }
      case 2:
      case 3:
      case 4: {  // write
        const std::string path = Pick(FileType::kRegular);
        if (path.empty()) break;
        const uint32_t bs = fs.block_size();
        const uint64_t offset =
            rng_() % 4 == 0 ? rng_() % (300 * uint64_t{bs}) : rng_() % (4 * bs);
        const auto bytes =
            Bytes(path + std::to_string(rng_()), 1 + rng_() % (3 * bs));
        Result<size_t> r = fs.WriteFile(fs.Lookup(path).value(), offset, bytes);
        Expect(r.error(), Error::kOk, "write " + path);
        if (r.ok()) ModelWrite(&model_[path].data, offset, bytes);
        break;
      }
      case 5: {  // truncate
        const std::string path = Pick(FileType::kRegular);
        if (path.empty()) break;
        std::vector<uint8_t>& data = model_[path].data;
        const uint64_t size = rng_() % 3 == 0 ? data.size() + rng_() % 5000
                                              : rng_() % (data.size() + 1);
        Expect(fs.Truncate(fs.Lookup(path).value(), size), Error::kOk,
               "truncate " + path);
        data.resize(size);
        break;
      }
      case 6: {  // mkdir or symlink
        const std::string path = NewPath();
        if (rng_() % 2) {
          Expect(fs.Mkdir(path, 0755).error(), CreateError(path),
                 "mkdir " + path);
          if (!model_.count(path)) model_[path].type = FileType::kDirectory;
        } else {
          std::string target(1 + rng_() % 150, 'x');
          target += std::to_string(rng_());
          Expect(fs.Symlink(path, target).error(), CreateError(path),
                 "symlink " + path);
          if (!model_.count(path))
            model_[path] = {FileType::kSymlink, {}, target};
        }
        break;
      }
      case 7: {  // unlink or rmdir
        const std::string path = Pick(FileType::kUnknown);
        if (path.empty()) break;
        if (model_[path].type == FileType::kDirectory) {
          const bool empty = Children(path) == 0;
          Expect(fs.Rmdir(path), empty ? Error::kOk : Error::kNotEmpty,
                 "rmdir " + path);
          if (empty) model_.erase(path);
        } else {
          Expect(fs.Unlink(path), Error::kOk, "unlink " + path);
          model_.erase(path);
        }
        break;
      }
      default: {  // rename
        const std::string from = Pick(FileType::kUnknown);
        if (from.empty()) break;
        const std::string to =
            rng_() % 3 ? NewPath() : Pick(FileType::kUnknown);
        if (to.empty()) break;
        const Error expected = RenameError(from, to);
        Expect(fs.Rename(from, to), expected, "rename " + from + " " + to);
        if (expected == Error::kOk && from != to) ModelRename(from, to);
        break;
      }
    }
  }

  const Model& model() const { return model_; }
  std::set<std::string> Dirs() const {
    std::set<std::string> dirs = {"/r"};
    for (const auto& [path, node] : model_)
      if (node.type == FileType::kDirectory) dirs.insert(path);
    return dirs;
  }

 private:
  void Expect(Error got, Error want, const std::string& what) {
    EXPECT_EQ(got, want) << what << ": " << ErrorName(got) << " want "
                         << ErrorName(want);
  }
  static std::string Parent(const std::string& path) {
    return path.substr(0, path.rfind('/'));
  }
  bool IsDir(const std::string& path) const {
    return path == "/r" ||
           (model_.count(path) && model_.at(path).type == FileType::kDirectory);
  }
  int Children(const std::string& dir) const {
    int n = 0;
    for (const auto& [path, node] : model_) n += Parent(path) == dir;
    return n;
  }
  // A path in an existing directory, with a name from a small pool so that
  // names collide.
  std::string NewPath() {
    const std::set<std::string> all = Dirs();
    std::vector<std::string> dirs(all.begin(), all.end());
    return dirs[rng_() % dirs.size()] + "/n" + std::to_string(rng_() % 12);
  }
  // An existing path of `type` (kUnknown: any), or "".
  std::string Pick(FileType type) {
    std::vector<std::string> paths;
    for (const auto& [path, node] : model_)
      if (type == FileType::kUnknown || node.type == type)
        paths.push_back(path);
    return paths.empty() ? "" : paths[rng_() % paths.size()];
  }
  Error CreateError(const std::string& path) const {
    return model_.count(path) ? Error::kExists : Error::kOk;
  }
  Error RenameError(const std::string& from, const std::string& to) const {
    if (from == to) return Error::kOk;
    const bool dir = IsDir(from);
    if (dir && (to + "/").rfind(from + "/", 0) == 0) return Error::kCrossesRoot;
    if (!model_.count(to)) return Error::kOk;
    if (IsDir(to) && !dir) return Error::kIsDirectory;
    if (!IsDir(to) && dir) return Error::kNotDirectory;
    if (dir && Children(to) > 0) return Error::kNotEmpty;
    return Error::kOk;
  }
  void ModelRename(const std::string& from, const std::string& to) {
    model_.erase(to);
    Model moved;
    for (auto it = model_.begin(); it != model_.end();) {
      if (it->first == from || it->first.rfind(from + "/", 0) == 0) {
        moved[to + it->first.substr(from.size())] = it->second;
        it = model_.erase(it);
      } else {
        ++it;
      }
    }
    model_.insert(moved.begin(), moved.end());
  }

  Image* image_;
  std::mt19937_64 rng_;
  Model model_;
};

class RandomWriteTest : public ::testing::TestWithParam<ImageOptions> {};

TEST_P(RandomWriteTest, ModelAndFsckAgree) {
  auto image =
      MakeWritable("random_" + Describe(GetParam()), GetParam(), EmptyTree());
  ASSERT_TRUE(image->fs->Mkdir("/r", 0755).ok());
  RandomOps ops(image.get(), GetParam().block_size * 7 + GetParam().revision);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 150; ++i) {
      ops.Step();
      if (HasFailure()) break;
    }
    ASSERT_FALSE(HasFailure()) << "round " << round;
    ASSERT_EQ(image->fs->Sync(), Error::kOk);
    ASSERT_EQ(image->Fsck(), "") << "after round " << round;
    ASSERT_EQ(image->Mount(), Error::kOk);
    ExpectMatches(*image->fs, ops.model(), ops.Dirs());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Images, RandomWriteTest,
    ::testing::Values(ImageOptions{.block_size = 1024, .revision = 1},
                      ImageOptions{.block_size = 4096, .revision = 0},
                      ImageOptions{.block_size = 2048, .revision = 1}),
    [](const ::testing::TestParamInfo<ImageOptions>& info) {
      return Describe(info.param);
    });

}  // namespace
}  // namespace uk::fs
