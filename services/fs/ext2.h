#pragma once
// An ext2 reader and writer: superblock and group descriptors, inodes, the
// direct/indirect block map, directories and path resolution with symlinks
// (ext2.cc, path.cc); block and inode allocation (ext2_alloc.cc); growing
// and trimming the block map (ext2_block_map.cc); directory entry changes
// (ext2_dir_write.cc); the write operations (ext2_write.cc, ext2_rename.cc).
//
// Every on-disk value is checked before it is used: block numbers against
// s_blocks_count (itself checked against the device size at Mount), inode
// numbers against s_inodes_count, directory entries against their block,
// file sizes against what the block map can address. A corrupt image gives
// an Error, never a crash or an out-of-bounds access.
//
// Writes keep the filesystem consistent for e2fsck after every call that
// returns: the bitmaps, the group descriptor counts and the superblock free
// counts are updated together, write-through, before the call returns.
// There is no journal, so a crash in the middle of a call can leave it
// inconsistent, as with any ext2 driver. Writes validate what they read as
// the reader does; on a corrupt image they stop with an Error, possibly
// after part of the change (e2fsck repairs it, as after a crash).
//
// No heap: the object holds a few block buffers and two path buffers
// (about 32 KiB), so it is not reentrant. One filesystem service thread
// owns it. Portable: compiled for host tests and for the kernel alike.

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
  uint32_t dtime = 0;       // deletion time; 0 while the inode is in use
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

struct RawDirEntry;  // one parsed entry header; dir_entry.h

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

  // ---- Writing (ext2_write.cc). Every call fails with kReadOnly when the
  // filesystem has features the writer does not maintain (see
  // ext2::kIncompatWritable) or the device refuses a write.

  // False when writes would be refused for the filesystem's features.
  bool writable() const { return writable_; }

  // The clock for new timestamps (atime/ctime/mtime, dtime, s_wtime), in
  // Unix seconds; the owner sets it. Until then it is the superblock's last
  // write time, so timestamps never lie in the future.
  void SetTime(uint32_t unix_seconds) { now_ = unix_seconds; }

  // Create a regular file / a directory / a symlink at `path` and return its
  // inode number. kExists if the name exists (a dangling symlink too). The
  // parent path's symlinks are followed; trailing slashes are only
  // accepted by Mkdir.
  Result<uint32_t> Create(std::string_view path, uint16_t permissions);
  Result<uint32_t> Mkdir(std::string_view path, uint16_t permissions);
  // Targets under 60 bytes live in the inode; longer ones (up to one block
  // minus one byte) in a data block.
  Result<uint32_t> Symlink(std::string_view path, std::string_view target);

  // Writes `data` at `offset` of a regular file, allocating blocks as
  // needed; writing past the end leaves a hole. Returns the bytes written:
  // fewer than asked when the disk fills after some were written (kNoSpace
  // when none were).
  Result<size_t> WriteFile(uint32_t inode, uint64_t offset,
                           std::span<const uint8_t> data);
  // Sets a regular file's size. Shrinking frees the blocks past the end,
  // indirect blocks included; growing leaves a hole.
  Error Truncate(uint32_t inode, uint64_t size);

  // Removes a non-directory's name (kIsDirectory for a directory); the
  // inode and its blocks are freed when its last link goes.
  Error Unlink(std::string_view path);
  // Removes an empty directory (kNotEmpty otherwise).
  Error Rmdir(std::string_view path);
  // Moves `from` to `to`, replacing a non-directory or an empty directory
  // there (a directory only by a directory, as rename(2)). kCrossesRoot
  // when a directory would move into its own subtree.
  Error Rename(std::string_view from, std::string_view to);

  // Writes the superblock's write time and flushes the device. Everything
  // else is already on the device when a write call returns.
  Error Sync();

 private:
  uint64_t GroupDescOffset(uint32_t group) const;
  Result<uint32_t> InodeTableBlock(uint32_t group);
  Result<uint64_t> InodeOffset(uint32_t number);
  Error ReadBlockPointer(uint32_t table_block, uint64_t slot, uint32_t* out);
  Error CheckBlock(uint32_t block) const;
  bool IsFastSymlink(const Inode& inode) const;
  // ReadFile without the span, so ReadLink can read into chars.
  Result<size_t> ReadRange(const Inode& inode, uint64_t offset, uint8_t* out,
                           size_t length);

  // A linear walk over a directory's entries, one block at a time in
  // block_buf_: lookup and the writer's entry changes share it (ReadDir
  // reads headers in place instead, to need no buffer). Start at {}.
  struct DirWalk {
    uint64_t next_block = 0;    // logical block to read next
    uint64_t block_offset = 0;  // device offset of the block in block_buf_
    uint32_t in_block = 0;      // the current entry: block_buf_ + in_block
    uint32_t previous = 0;      // the entry before it; only if in_block != 0
    // Where the next entry starts; past any block until one is read.
    uint32_t next_in_block = kMaxBlockSize;
  };
  // Moves `walk` to the next entry (unused ones too), reading the next
  // block into block_buf_ when the current one is done, and checks it with
  // ParseDirEntry. Returns false after the last entry. Changing block_buf_
  // ends the walk.
  Result<bool> NextDirEntry(const Inode& dir, DirWalk* walk,
                            RawDirEntry* entry);
  // Walks `dir` to its live entry `name`; kNotFound if absent.
  Error FindDirEntry(const Inode& dir, std::string_view name, DirWalk* walk,
                     RawDirEntry* entry);
  // Looks `name` up in directory `dir`; kNotFound if absent.
  Result<uint32_t> FindInDirectory(const Inode& dir, std::string_view name);

  // ---- Write helpers. A group descriptor's fields, validated.
  struct Group {
    uint32_t block_bitmap = 0;
    uint32_t inode_bitmap = 0;
    uint32_t inode_table = 0;
    uint16_t free_blocks = 0;
    uint16_t free_inodes = 0;
    uint16_t used_dirs = 0;
  };

  // ext2_alloc.cc: device writes, superblock, groups, bitmaps, inodes.
  Error BeginWrite() const;
  Error FinishWrite(Error result);
  Error Write(uint64_t offset, const void* data, size_t length);
  Error WriteZeros(uint64_t offset, size_t length);
  Error LoadGroup(uint32_t group, Group* out);
  Error StoreGroupCounts(uint32_t group, const Group& g);
  Error LoadBitmap(uint32_t block);
  Error SetBitmapBit(uint32_t block, uint32_t bit, bool value);
  uint32_t BlocksInGroup(uint32_t group) const;
  Result<uint32_t> AllocateBlock(uint32_t goal);
  Error FreeBlock(uint32_t block, Inode* owner);
  Result<uint32_t> AllocateInode(uint32_t parent, bool directory);
  Error FreeInodeNumber(uint32_t number, bool directory);
  Error WriteInode(const Inode& inode);

  // ext2_block_map.cc: the block map, grown and trimmed.
  Error WriteBlockPointer(uint32_t table_block, uint64_t slot, uint32_t value);
  Result<uint32_t> MapForWrite(Inode* inode, uint64_t index, bool* fresh);
  Error FreeBlocksFrom(Inode* inode, uint64_t first_index);
  Error TrimTree(Inode* inode, uint32_t table, int level, uint64_t keep,
                 bool* now_empty);
  Error NeedSize(uint64_t size);

  // ext2_dir_write.cc: directory entries.
  Error AddEntry(uint32_t dir, std::string_view name, uint32_t child,
                 uint16_t child_mode);
  Error RemoveEntry(uint32_t dir, std::string_view name);
  Error SetEntry(uint32_t dir, std::string_view name, uint32_t child,
                 uint16_t child_mode);
  Result<bool> IsEmptyDirectory(const Inode& dir);
  Error TouchDirectory(Inode* dir);

  // ext2_write.cc and ext2_rename.cc: the steps the public calls share.
  Result<uint32_t> LookupParent(std::string_view path, std::string_view* name,
                                bool allow_trailing_slash);
  Result<uint32_t> LookupChild(std::string_view path, std::string_view* name,
                               bool allow_trailing_slash, Inode* child);
  Result<uint32_t> CreateNode(std::string_view path, uint16_t mode,
                              std::string_view target);
  Error InitNode(Inode* inode, uint32_t parent, std::string_view target);
  Error AdjustLinks(uint32_t number, int delta);
  Error Release(Inode* inode);
  Error DropLink(uint32_t number);
  Error CheckNotAncestor(uint32_t ancestor, uint32_t dir);

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

  // Write state, read from the superblock at Mount.
  bool writable_ = false;
  uint32_t ro_compat_ = 0;
  uint32_t first_ino_ = 0;     // first inode that is not reserved
  uint32_t free_blocks_ = 0;   // s_free_blocks_count
  uint32_t free_inodes_ = 0;   // s_free_inodes_count
  uint32_t now_ = 0;           // SetTime
  uint32_t bitmap_block_ = 0;  // block held in bitmap_buf_, 0: none

  uint8_t block_buf_[kMaxBlockSize];   // directory blocks
  char path_buf_[2][kMaxPath];         // path rewritten by symlinks
  uint8_t bitmap_buf_[kMaxBlockSize];  // a block or inode bitmap, cached
  // One indirect block per level while truncating a tree of them.
  uint8_t table_buf_[3][kMaxBlockSize];
};

}  // namespace uk::fs
