// Directory entry changes for the ext2 writer: add, remove, repoint, and the
// emptiness test of Rmdir. Directories are linear lists of entries per
// block, as ext2 without htree has them:
//
//  - Adding reuses an unused entry (inode 0) that is big enough, or splits
//    an entry whose rec_len has room past its name; failing both, it
//    appends a block holding one entry that spans it.
//  - Removing merges the entry into the previous one's rec_len, or, when
//    it is first in its block, sets its inode to 0.
//
// Blocks are read into block_buf_ by NextDirEntry (ext2.cc), which checks
// every entry with ParseDirEntry before it is used or changed. A directory
// that had an htree index loses its index flag on any change: its index
// blocks already look like unused entries to a linear reader, and e2fsck
// accepts a former index that is no longer flagged.

#include "services/fs/dir_entry.h"
#include "services/fs/ext2.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

namespace {

uint8_t DirType(uint16_t mode) {
  switch (mode & 0xF000) {
    case kModeRegular:
      return kDirTypeRegular;
    case kModeDirectory:
      return kDirTypeDirectory;
    case kModeSymlink:
      return kDirTypeSymlink;
    default:
      return 0;
  }
}

}  // namespace

Error Ext2::TouchDirectory(Inode* dir) {
  dir->flags &= ~kIndexFlag;
  dir->mtime = now_;
  dir->ctime = now_;
  return WriteInode(*dir);
}

namespace {

// Writes an entry header and name. Without FILETYPE the type byte is the
// high byte of a 16-bit name_len (revision 0) or reserved: zero.
void PutEntry(uint8_t* at, uint32_t inode, uint32_t rec_len,
              std::string_view name, uint8_t type) {
  Store32(at, inode);
  Store16(at + 4, static_cast<uint16_t>(rec_len));
  at[6] = static_cast<uint8_t>(name.size());
  at[7] = type;
  __builtin_memcpy(at + kDirEntryHeader, name.data(), name.size());
}

}  // namespace

Error Ext2::AddEntry(uint32_t dir_number, std::string_view name, uint32_t child,
                     uint16_t child_mode) {
  Inode dir;
  if (Error e = ReadInode(dir_number, &dir); e != Error::kOk) return e;
  const uint8_t type = has_filetype_ ? DirType(child_mode) : 0;
  const uint32_t needed = DirRecLen(name.size());
  DirWalk walk;
  RawDirEntry entry;
  for (;;) {
    Result<bool> more = NextDirEntry(dir, &walk, &entry);
    if (!more.ok()) return more.error();
    if (!more.value()) break;
    const uint32_t used = entry.inode == 0 ? 0 : DirRecLen(entry.name_len);
    if (entry.rec_len >= used + needed) {
      uint8_t* at = block_buf_ + walk.in_block;
      if (used != 0) {  // split: the old entry keeps just what it needs
        Store16(at + 4, static_cast<uint16_t>(used));
      }
      PutEntry(at + used, child, entry.rec_len - used, name, type);
      if (Error e = Write(walk.block_offset + walk.in_block, at, entry.rec_len);
          e != Error::kOk) {
        return e;
      }
      return TouchDirectory(&dir);
    }
  }
  // No room: a new block, all of it one entry.
  bool fresh = false;
  Result<uint32_t> block = MapForWrite(&dir, dir.size / block_size_, &fresh);
  Error e = block.error();
  if (block.ok()) {
    __builtin_memset(block_buf_, 0, block_size_);
    PutEntry(block_buf_, child, block_size_, name, type);
    e = Write(uint64_t{block.value()} * block_size_, block_buf_, block_size_);
    if (e == Error::kOk) dir.size += block_size_;
  }
  // Whatever MapForWrite allocated is recorded in the inode, even on error.
  const Error written = TouchDirectory(&dir);
  return e != Error::kOk ? e : written;
}

Error Ext2::RemoveEntry(uint32_t dir_number, std::string_view name) {
  Inode dir;
  if (Error e = ReadInode(dir_number, &dir); e != Error::kOk) return e;
  DirWalk walk;
  RawDirEntry entry;
  if (Error e = FindDirEntry(dir, name, &walk, &entry); e != Error::kOk)
    return e;
  Error e;
  if (walk.in_block == 0) {
    Store32(block_buf_, 0);
    e = Write(walk.block_offset, block_buf_, 4);
  } else {
    // rec_lens of neighbours add up to at most the block: no overflow.
    uint8_t* rec_len = block_buf_ + walk.previous + 4;
    Store16(rec_len, static_cast<uint16_t>(walk.in_block - walk.previous +
                                           entry.rec_len));
    e = Write(walk.block_offset + walk.previous + 4, rec_len, 2);
  }
  if (e != Error::kOk) return e;
  return TouchDirectory(&dir);
}

// Points the existing entry `name` at `child` (Rename over a name, and a
// moved directory's "..").
Error Ext2::SetEntry(uint32_t dir_number, std::string_view name, uint32_t child,
                     uint16_t child_mode) {
  Inode dir;
  if (Error e = ReadInode(dir_number, &dir); e != Error::kOk) return e;
  DirWalk walk;
  RawDirEntry entry;
  if (Error e = FindDirEntry(dir, name, &walk, &entry); e != Error::kOk)
    return e;
  uint8_t* at = block_buf_ + walk.in_block;
  Store32(at, child);
  if (has_filetype_) at[7] = DirType(child_mode);
  if (Error e = Write(walk.block_offset + walk.in_block, at, kDirEntryHeader);
      e != Error::kOk) {
    return e;
  }
  return TouchDirectory(&dir);
}

Result<bool> Ext2::IsEmptyDirectory(const Inode& dir) {
  DirCursor cursor;
  DirEntry entry;
  for (;;) {
    Result<bool> more = ReadDir(dir, &cursor, &entry);
    if (!more.ok()) return more.error();
    if (!more.value()) return true;
    if (entry.Name() != "." && entry.Name() != "..") return false;
  }
}

}  // namespace uk::fs
