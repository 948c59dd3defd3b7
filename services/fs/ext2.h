#pragma once
// A read-only ext2 reader: superblock and group descriptors, inodes, the
// direct/indirect block map, directories and path resolution with symlinks.
//
// Every on-disk value is checked before it is used: block numbers against
// s_blocks_count (itself checked against the device size at Mount), inode
// numbers against s_inodes_count, directory entries against their block,
// file sizes against what the block map can address. A corrupt image gives
// an Error, never a crash or an out-of-bounds access.
//
// No heap: the object holds one block buffer and two path buffers (about
// 12 KiB), so it is not reentrant. One filesystem service thread owns it.
// Portable: compiled for host tests and for the kernel alike.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "services/fs/block_device.h"
#include "services/fs/error.h"
#include "services/fs/ext2_format.h"

namespace uk::fs {

inline constexpr size_t kMaxBlockSize = 4096;
inline constexpr size_t kMaxPath = 4096;    // Linux PATH_MAX, with the NUL
inline constexpr int kMaxSymlinkDepth = 8;  // links followed per lookup

enum class FileType : uint8_t {
  kUnknown,
  kRegular,
  kDirectory,
  kSymlink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
};

// The parts of an on-disk inode a reader needs, decoded and validated.
struct Inode {
  uint32_t number = 0;
  uint16_t mode = 0;  // type bits and permissions, as st_mode
  uint16_t uid = 0;
  uint16_t gid = 0;
  uint16_t links = 0;
  uint64_t size = 0;
  uint32_t atime = 0;
  uint32_t ctime = 0;
  uint32_t mtime = 0;
  uint32_t blocks_512 = 0;  // i_blocks: allocated 512-byte sectors
  uint32_t flags = 0;
  uint32_t file_acl = 0;
  uint32_t block[ext2::kBlockSlots] = {};

  FileType Type() const;
  uint16_t Permissions() const { return mode & 07777; }
};

// What stat(2) would say.
struct Stat {
  uint32_t inode = 0;
  FileType type = FileType::kUnknown;
  uint16_t mode = 0;
  uint16_t links = 0;
  uint16_t uid = 0;
  uint16_t gid = 0;
  uint64_t size = 0;
  uint32_t mtime = 0;
};

// One directory entry, name copied out of the block buffer.
struct DirEntry {
  uint32_t inode = 0;
  FileType type =
      FileType::kUnknown;  // from the entry if FILETYPE, else kUnknown
  uint8_t name_len = 0;
  char name[ext2::kMaxNameLen + 1] = {};  // NUL-terminated for convenience

  std::string_view Name() const { return {name, name_len}; }
};

// Position in a directory; start at {} and pass back to ReadDir unchanged.
struct DirCursor {
  uint64_t offset = 0;
};

enum class FollowLinks : uint8_t { kNo, kYes };  // for the final component

class Ext2 {
 public:
  Ext2() = default;
  Ext2(const Ext2&) = delete;
  Ext2& operator=(const Ext2&) = delete;

  // Reads and validates the superblock and every group descriptor. The
  // device must outlive this object.
  Error Mount(BlockDevice& device);
  bool mounted() const { return device_ != nullptr; }

  uint32_t block_size() const { return block_size_; }
  uint32_t blocks_count() const { return blocks_count_; }
  uint32_t inodes_count() const { return inodes_count_; }
  uint32_t revision() const { return revision_; }
  uint32_t group_count() const { return group_count_; }
  // Largest file size the direct + indirect map can address.
  uint64_t max_file_size() const { return max_file_size_; }

  Error ReadInode(uint32_t number, Inode* out);

  // Resolves an absolute path to an inode number. "//", "." and ".." are
  // normalized; ".." at the root stays at the root, including after a
  // symlink whose target climbs above it. Symlinks in the middle of a path
  // are always followed; the last one only with FollowLinks::kYes.
  Result<uint32_t> Lookup(std::string_view path,
                          FollowLinks follow = FollowLinks::kYes);
  Result<Stat> StatPath(std::string_view path,
                        FollowLinks follow = FollowLinks::kYes);

  // Reads up to out.size() bytes from `offset`; returns the bytes read
  // (0 at or past end of file). Holes read as zeros.
  Result<size_t> ReadFile(const Inode& inode, uint64_t offset,
                          std::span<uint8_t> out);

  // Copies a symlink's target into `out`; returns its length. Fails with
  // kNameTooLong if `out` is too small.
  Result<size_t> ReadLink(const Inode& inode, std::span<char> out);

  // Produces the next live entry (inode != 0) at or after `cursor` and
  // advances it. Returns false at the end of the directory. Indexed (htree)
  // directories are read linearly, which ext2 readers may do: the index
  // blocks look like empty entries.
  Result<bool> ReadDir(const Inode& dir, DirCursor* cursor, DirEntry* out);

  // Physical block holding logical block `index` of the file, 0 for a hole.
  Result<uint32_t> MapBlock(const Inode& inode, uint64_t index);

 private:
  Result<uint32_t> InodeTableBlock(uint32_t group);
  Error ReadBlockPointer(uint32_t table_block, uint64_t slot, uint32_t* out);
  Error CheckBlock(uint32_t block) const;
  bool IsFastSymlink(const Inode& inode) const;
  // ReadFile without the span, so ReadLink can read into chars.
  Result<size_t> ReadRange(const Inode& inode, uint64_t offset, uint8_t* out,
                           size_t length);
  // Looks `name` up in directory `dir`; kNotFound if absent.
  Result<uint32_t> FindInDirectory(const Inode& dir, std::string_view name);

  BlockDevice* device_ = nullptr;
  uint32_t block_size_ = 0;
  uint32_t blocks_count_ = 0;
  uint32_t inodes_count_ = 0;
  uint32_t first_data_block_ = 0;
  uint32_t blocks_per_group_ = 0;
  uint32_t inodes_per_group_ = 0;
  uint32_t inode_size_ = 0;
  uint32_t revision_ = 0;
  uint32_t group_count_ = 0;
  uint32_t inode_table_blocks_ = 0;  // per group
  uint64_t max_file_size_ = 0;
  bool has_filetype_ = false;

  uint8_t block_buf_[kMaxBlockSize];  // directory blocks during lookup
  char path_buf_[2][kMaxPath];        // path rewritten by symlinks
};

}  // namespace uk::fs
