#pragma once
// Host-test support: a source tree of files, directories and symlinks that
// exercises every part of the ext2 reader, and ext2 images of it built with
// e2fsprogs' mke2fs -d at test time.

#include <cstdint>
#include <string>
#include <vector>

#include "services/fs/ext2.h"

namespace uk::fs::testing {

// Offsets of the data runs in the sparse file "/sparse"; everything else in
// it is a hole. 70 MiB is in the triple-indirect range with 1 KiB blocks;
// 5 GiB is triple-indirect at every block size.
inline constexpr uint64_t kSparseRun1 = 70ull << 20;
inline constexpr uint64_t kSparseRun2 = 5ull << 30;
inline constexpr size_t kSparseRunLength = 6000;  // crosses block boundaries

// The 5 GiB run makes "/sparse" larger than 2 GiB, which needs i_size_high:
// mke2fs then sets the large_file feature, and setting a feature upgrades
// the image to revision 1. So revision 0 images are built from a tree
// without it (large_file = false).
inline uint64_t SparseSize(bool large_file) {
  return (large_file ? kSparseRun2 : kSparseRun1) + kSparseRunLength;
}

inline constexpr int kBigDirEntries = 300;

// A fresh directory under $TEST_TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& name);

// The deterministic bytes of a test file of `size` bytes named `seed`.
std::vector<uint8_t> FileBytes(const std::string& seed, size_t size);

// Writes the test tree under `root` (which must exist and be empty).
void BuildSourceTree(const std::string& root, bool large_file);

struct ImageOptions {
  int block_size = 1024;
  int revision = 1;
  bool index_directories = false;  // run e2fsck -fyD to build htree indexes
  std::string size = "16M";
};

// Builds an image of `source` at `image_path` and returns its bytes; on
// failure records a gtest failure and returns an empty vector.
std::vector<uint8_t> MakeImage(const std::string& source,
                               const std::string& image_path,
                               const ImageOptions& options);

// Byte offset of inode `number` in `image`, computed from the raw
// superblock and group descriptors (tests use it to corrupt inodes).
uint64_t InodeOffset(const std::vector<uint8_t>& image, uint32_t number);

// Every byte of a file read through the reader, in one call.
std::vector<uint8_t> ReadAll(Ext2& fs, const Inode& inode);

std::vector<uint8_t> ReadHostFile(const std::string& path);

}  // namespace uk::fs::testing
