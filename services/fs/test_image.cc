#include "services/fs/test_image.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace uk::fs::testing {

namespace stdfs = std::filesystem;

std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  stdfs::path dir = stdfs::path(base != nullptr ? base : "/tmp") / name;
  stdfs::remove_all(dir);
  stdfs::create_directories(dir);
  return dir.string();
}

std::vector<uint8_t> FileBytes(const std::string& seed, size_t size) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (char c : seed)
    state = (state ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

namespace {

void WriteFile(const stdfs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void WriteAt(const stdfs::path& path, uint64_t offset,
             const std::vector<uint8_t>& bytes) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out.seekp(static_cast<std::streamoff>(offset));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void Symlink(const std::string& target, const stdfs::path& link) {
  stdfs::create_symlink(target, link);
}

const char* FindTool(const char* name) {
  static std::string found;
  for (const char* dir : {"/sbin/", "/usr/sbin/", "/usr/bin/", "/bin/"}) {
    found = std::string(dir) + name;
    if (access(found.c_str(), X_OK) == 0) return found.c_str();
  }
  return nullptr;
}

}  // namespace

void BuildSourceTree(const std::string& root_dir, bool large_file) {
  const stdfs::path root(root_dir);
  for (size_t size : {0, 1, 1023, 1024, 4097, 70 * 1024, 5 * 1024 * 1024}) {
    const std::string name = "file_" + std::to_string(size);
    WriteFile(root / name, FileBytes(name, size));
  }
  // Sparse: holes everywhere except two runs; mke2fs -d keeps the holes.
  WriteFile(root / "sparse", {});
  stdfs::resize_file(root / "sparse", SparseSize(large_file));
  WriteAt(root / "sparse", kSparseRun1, FileBytes("run1", kSparseRunLength));
  if (large_file)
    WriteAt(root / "sparse", kSparseRun2, FileBytes("run2", kSparseRunLength));

  stdfs::create_directories(root / "nested/a/b/c");
  stdfs::create_directories(root / "nested/empty_dir");
  WriteFile(root / "nested/a/b/c/deep.txt", FileBytes("deep", 3000));
  WriteFile(root / std::string(255, 'L'), FileBytes("long", 10));
  stdfs::create_directory(root / "big");
  for (int i = 0; i < kBigDirEntries; ++i) {
    char name[32];
    snprintf(name, sizeof name, "entry_%03d", i);
    WriteFile(root / "big" / name, FileBytes(name, 1 + i % 7));
  }
  chmod((root / "file_1").c_str(), 0600);
  chmod((root / "nested/a").c_str(), 0711);

  Symlink("file_1023", root / "fast_link");  // < 60 bytes: stored in i_block
  std::string slow = "/nested/a/b/c";
  while (slow.size() < 100) slow += "/../c";
  slow += "/deep.txt";
  Symlink(slow, root / "slow_link");  // > 60 bytes: a data block
  Symlink("../../../../../../../file_1", root / "nested/a/b/escape");
  Symlink("../../../../..", root / "nested/a/b/up_and_out");
  Symlink("nested/a", root / "dir_link");
  Symlink("does_not_exist", root / "dangling");
  Symlink("loop_b", root / "loop_a");
  Symlink("loop_a", root / "loop_b");
  // chain_0 -> chain_1 -> ... -> chain_8 -> file_1: 9 links from chain_0.
  for (int i = 0; i < 8; ++i) {
    Symlink("chain_" + std::to_string(i + 1),
            root / ("chain_" + std::to_string(i)));
  }
  Symlink("file_1", root / "chain_8");
}

std::vector<uint8_t> MakeImage(const std::string& source,
                               const std::string& image_path,
                               const ImageOptions& options) {
  const char* mke2fs = FindTool("mke2fs");
  if (mke2fs == nullptr) {
    ADD_FAILURE() << "mke2fs not found (e2fsprogs; tools/setup.sh installs it)";
    return {};
  }
  const std::string command = std::string(mke2fs) + " -q -F -t ext2 -b " +
                              std::to_string(options.block_size) + " -r " +
                              std::to_string(options.revision) + " -d '" +
                              source + "' '" + image_path + "' " +
                              options.size + " >'" + image_path + ".log' 2>&1";
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "failed: " << command;
    return {};
  }
  if (options.index_directories) {
    const char* e2fsck = FindTool("e2fsck");
    if (e2fsck == nullptr) {
      ADD_FAILURE() << "e2fsck not found";
      return {};
    }
    // Exit status 1 means "file system modified", which -D does on purpose.
    const std::string fsck = std::string(e2fsck) + " -fyD '" + image_path +
                             "' >>'" + image_path + ".log' 2>&1";
    const int status = std::system(fsck.c_str());
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      ADD_FAILURE() << "failed: " << fsck;
      return {};
    }
  }
  return ReadHostFile(image_path);
}

uint64_t InodeOffset(const std::vector<uint8_t>& image, uint32_t number) {
  const uint8_t* sb = image.data() + ext2::kSuperblockOffset;
  const uint32_t block_size = 1024u
                              << ext2::Load32(sb + ext2::sb::kLogBlockSize);
  const uint32_t first_data_block =
      ext2::Load32(sb + ext2::sb::kFirstDataBlock);
  const uint32_t inodes_per_group =
      ext2::Load32(sb + ext2::sb::kInodesPerGroup);
  const uint32_t inode_size = ext2::Load32(sb + ext2::sb::kRevLevel) == 0
                                  ? 128
                                  : ext2::Load16(sb + ext2::sb::kInodeSize);
  const uint32_t group = (number - 1) / inodes_per_group;
  const uint8_t* desc = image.data() +
                        uint64_t{first_data_block + 1} * block_size +
                        uint64_t{group} * ext2::kGroupDescSize;
  const uint32_t table = ext2::Load32(desc + ext2::gd::kInodeTable);
  return uint64_t{table} * block_size +
         uint64_t{(number - 1) % inodes_per_group} * inode_size;
}

std::vector<uint8_t> ReadAll(Ext2& fs, const Inode& inode) {
  std::vector<uint8_t> bytes(inode.size);
  Result<size_t> n = fs.ReadFile(inode, 0, bytes);
  EXPECT_TRUE(n.ok()) << ErrorName(n.error());
  EXPECT_EQ(n.value(), inode.size);
  return bytes;
}

std::vector<uint8_t> ReadHostFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<uint8_t> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()),
          static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

}  // namespace uk::fs::testing
