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
// Blocks are read into block_buf_ and every entry is checked with
// ParseDirEntry before it is used or changed. A directory that had an
// htree index loses its index flag on any change: its index blocks already
// look like unused entries to a linear reader, and e2fsck accepts a former
// index that is no longer flagged.

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

bool NameIs(const uint8_t* entry, const RawDirEntry& raw,
            std::string_view name) {
  return raw.inode != 0 && raw.name_len == name.size() &&
         __builtin_memcmp(entry + kDirEntryHeader, name.data(), name.size()) ==
             0;
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
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  if (dir.size % block_size_ != 0) return Error::kCorrupt;
  const uint8_t type = has_filetype_ ? DirType(child_mode) : 0;
  const uint32_t needed = DirRecLen(name.size());
  const uint64_t blocks = dir.size / block_size_;
  for (uint64_t index = 0; index < blocks; ++index) {
    Result<uint32_t> block = MapBlock(dir, index);
    if (!block.ok()) return block.error();
    if (block.value() == 0) return Error::kCorrupt;
    const uint64_t block_offset = uint64_t{block.value()} * block_size_;
    if (!device_->ReadBytes(block_offset, block_buf_, block_size_))
      return Error::kIo;
    for (uint32_t in_block = 0; in_block < block_size_;) {
      RawDirEntry entry;
      if (Error e = ParseDirEntry(block_buf_ + in_block, in_block, block_size_,
                                  inodes_count_, &entry);
          e != Error::kOk) {
        return e;
      }
      const uint32_t used = entry.inode == 0 ? 0 : DirRecLen(entry.name_len);
      if (entry.rec_len >= used + needed) {
        uint32_t at = in_block;
        if (used != 0) {  // split: the old entry keeps just what it needs
          Store16(block_buf_ + in_block + 4, static_cast<uint16_t>(used));
          at += used;
        }
        PutEntry(block_buf_ + at, child, entry.rec_len - used, name, type);
        if (Error e = Write(block_offset + in_block, block_buf_ + in_block,
                            entry.rec_len);
            e != Error::kOk) {
          return e;
        }
        return TouchDirectory(&dir);
      }
      in_block += entry.rec_len;
    }
  }
  // No room: a new block, all of it one entry.
  bool fresh = false;
  Result<uint32_t> block = MapForWrite(&dir, blocks, &fresh);
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
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  if (dir.size % block_size_ != 0) return Error::kCorrupt;
  const uint64_t blocks = dir.size / block_size_;
  for (uint64_t index = 0; index < blocks; ++index) {
    Result<uint32_t> block = MapBlock(dir, index);
    if (!block.ok()) return block.error();
    if (block.value() == 0) return Error::kCorrupt;
    const uint64_t block_offset = uint64_t{block.value()} * block_size_;
    if (!device_->ReadBytes(block_offset, block_buf_, block_size_))
      return Error::kIo;
    uint32_t previous = block_size_;  // none yet
    uint16_t previous_rec_len = 0;
    for (uint32_t in_block = 0; in_block < block_size_;) {
      RawDirEntry entry;
      if (Error e = ParseDirEntry(block_buf_ + in_block, in_block, block_size_,
                                  inodes_count_, &entry);
          e != Error::kOk) {
        return e;
      }
      if (NameIs(block_buf_ + in_block, entry, name)) {
        Error e;
        if (previous == block_size_) {
          Store32(block_buf_ + in_block, 0);
          e = Write(block_offset + in_block, block_buf_ + in_block, 4);
        } else {
          // rec_lens of neighbours add up to at most the block: no overflow.
          Store16(block_buf_ + previous + 4,
                  static_cast<uint16_t>(previous_rec_len + entry.rec_len));
          e = Write(block_offset + previous + 4, block_buf_ + previous + 4, 2);
        }
        if (e != Error::kOk) return e;
        return TouchDirectory(&dir);
      }
      previous = in_block;
      previous_rec_len = entry.rec_len;
      in_block += entry.rec_len;
    }
  }
  return Error::kNotFound;
}

// Points the existing entry `name` at `child` (Rename over a name, and a
// moved directory's "..").
Error Ext2::SetEntry(uint32_t dir_number, std::string_view name, uint32_t child,
                     uint16_t child_mode) {
  Inode dir;
  if (Error e = ReadInode(dir_number, &dir); e != Error::kOk) return e;
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  if (dir.size % block_size_ != 0) return Error::kCorrupt;
  const uint64_t blocks = dir.size / block_size_;
  for (uint64_t index = 0; index < blocks; ++index) {
    Result<uint32_t> block = MapBlock(dir, index);
    if (!block.ok()) return block.error();
    if (block.value() == 0) return Error::kCorrupt;
    const uint64_t block_offset = uint64_t{block.value()} * block_size_;
    if (!device_->ReadBytes(block_offset, block_buf_, block_size_))
      return Error::kIo;
    for (uint32_t in_block = 0; in_block < block_size_;) {
      RawDirEntry entry;
      if (Error e = ParseDirEntry(block_buf_ + in_block, in_block, block_size_,
                                  inodes_count_, &entry);
          e != Error::kOk) {
        return e;
      }
      if (NameIs(block_buf_ + in_block, entry, name)) {
        uint8_t* at = block_buf_ + in_block;
        Store32(at, child);
        if (has_filetype_) at[7] = DirType(child_mode);
        if (Error e = Write(block_offset + in_block, at, kDirEntryHeader);
            e != Error::kOk) {
          return e;
        }
        return TouchDirectory(&dir);
      }
      in_block += entry.rec_len;
    }
  }
  return Error::kNotFound;
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
