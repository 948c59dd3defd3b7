#include "services/fs/ext2.h"

#include "services/fs/dir_entry.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

FileType Inode::Type() const {
  switch (mode & 0xF000) {
    case 0x8000:
      return FileType::kRegular;
    case 0x4000:
      return FileType::kDirectory;
    case 0xA000:
      return FileType::kSymlink;
    case 0x2000:
      return FileType::kCharDevice;
    case 0x6000:
      return FileType::kBlockDevice;
    case 0x1000:
      return FileType::kFifo;
    case 0xC000:
      return FileType::kSocket;
    default:
      return FileType::kUnknown;
  }
}

static uint64_t DivRoundUp(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

Error Ext2::Mount(BlockDevice& device) {
  device_ = nullptr;
  const uint64_t device_size = device.SizeBytes();
  if (device_size < kSuperblockOffset + kSuperblockSize)
    return Error::kTruncated;
  // The superblock is parsed from block_buf_, which is free at this point.
  uint8_t* sb = block_buf_;
  if (!device.ReadBytes(kSuperblockOffset, sb, kSuperblockSize))
    return Error::kIo;

  if (Load16(sb + sb::kMagic) != kMagic) return Error::kBadMagic;
  const uint32_t log_block_size = Load32(sb + sb::kLogBlockSize);
  if (log_block_size > 2) return Error::kBadSuperblock;  // 1, 2 or 4 KiB
  const uint32_t block_size = 1024u << log_block_size;

  const uint32_t revision = Load32(sb + sb::kRevLevel);
  uint32_t inode_size = kGoodOldInodeSize;
  bool has_filetype = false;
  bool writable = true;
  uint32_t ro_compat = 0;
  uint32_t first_ino = kGoodOldFirstIno;
  if (revision == kDynamicRev) {
    inode_size = Load16(sb + sb::kInodeSize);
    if (inode_size < kInodeCoreSize || inode_size > block_size ||
        (inode_size & (inode_size - 1)) != 0) {
      return Error::kBadSuperblock;
    }
    const uint32_t incompat = Load32(sb + sb::kFeatureIncompat);
    if ((incompat & ~kIncompatSupported) != 0) return Error::kUnsupported;
    has_filetype = (incompat & kIncompatFiletype) != 0;
    ro_compat = Load32(sb + sb::kFeatureRoCompat);
    first_ino = Load32(sb + sb::kFirstIno);
    writable = (incompat & ~kIncompatWritable) == 0 &&
               (ro_compat & ~kRoCompatWritable) == 0;
  } else if (revision != kGoodOldRev) {
    return Error::kUnsupported;
  }

  const uint32_t blocks_count = Load32(sb + sb::kBlocksCount);
  const uint32_t first_data_block = Load32(sb + sb::kFirstDataBlock);
  const uint32_t blocks_per_group = Load32(sb + sb::kBlocksPerGroup);
  const uint32_t inodes_per_group = Load32(sb + sb::kInodesPerGroup);
  const uint32_t inodes_count = Load32(sb + sb::kInodesCount);
  // A group's bitmaps are one block each, so a group has at most 8 x block
  // size blocks and inodes.
  if (blocks_per_group == 0 || blocks_per_group > 8 * block_size ||
      inodes_per_group == 0 || inodes_per_group > 8 * block_size ||
      first_data_block >= blocks_count) {
    return Error::kBadSuperblock;
  }
  if (uint64_t{blocks_count} * block_size > device_size)
    return Error::kTruncated;

  const uint64_t group_count =
      DivRoundUp(uint64_t{blocks_count} - first_data_block, blocks_per_group);
  if (inodes_count < kRootIno ||
      inodes_count > group_count * inodes_per_group) {
    return Error::kBadSuperblock;
  }
  // Group descriptors start in the block after the superblock's.
  const uint64_t gdt_blocks =
      DivRoundUp(group_count * kGroupDescSize, block_size);
  if (uint64_t{first_data_block} + 1 + gdt_blocks > blocks_count)
    return Error::kBadSuperblock;

  block_size_ = block_size;
  blocks_count_ = blocks_count;
  inodes_count_ = inodes_count;
  first_data_block_ = first_data_block;
  blocks_per_group_ = blocks_per_group;
  inodes_per_group_ = inodes_per_group;
  inode_size_ = inode_size;
  revision_ = revision;
  group_count_ = static_cast<uint32_t>(group_count);
  inode_table_blocks_ = static_cast<uint32_t>(
      DivRoundUp(uint64_t{inodes_per_group} * inode_size, block_size));
  has_filetype_ = has_filetype;
  writable_ = writable;
  ro_compat_ = ro_compat;
  first_ino_ = first_ino;
  free_blocks_ = Load32(sb + sb::kFreeBlocksCount);
  free_inodes_ = Load32(sb + sb::kFreeInodesCount);
  now_ = Load32(sb + sb::kWtime);
  bitmap_block_ = 0;
  const uint64_t p = block_size / 4;  // pointers per indirect block
  max_file_size_ = (kDirectBlocks + p + p * p + p * p * p) * block_size;
  device_ = &device;

  // Every group's inode table must lie inside the filesystem; checking them
  // all now reports a bad table at Mount rather than at some later lookup.
  for (uint32_t group = 0; group < group_count_; ++group) {
    Result<uint32_t> table = InodeTableBlock(group);
    if (!table.ok()) {
      device_ = nullptr;
      return table.error();
    }
  }
  Inode root;
  if (Error e = ReadInode(kRootIno, &root);
      e != Error::kOk || root.Type() != FileType::kDirectory) {
    device_ = nullptr;
    return e != Error::kOk ? e : Error::kCorrupt;
  }
  return Error::kOk;
}

// Group descriptors start in the block after the superblock's.
uint64_t Ext2::GroupDescOffset(uint32_t group) const {
  return (uint64_t{first_data_block_} + 1) * block_size_ +
         uint64_t{group} * kGroupDescSize;
}

Result<uint32_t> Ext2::InodeTableBlock(uint32_t group) {
  uint8_t desc[kGroupDescSize];
  if (!device_->ReadBytes(GroupDescOffset(group), desc, sizeof desc))
    return Error::kIo;
  const uint32_t table = Load32(desc + gd::kInodeTable);
  if (table <= first_data_block_ ||
      uint64_t{table} + inode_table_blocks_ > blocks_count_) {
    return Error::kCorrupt;
  }
  return table;
}

Result<uint64_t> Ext2::InodeOffset(uint32_t number) {
  if (number == 0 || number > inodes_count_) return Error::kInodeOutOfRange;
  const uint32_t group = (number - 1) / inodes_per_group_;
  const uint32_t index = (number - 1) % inodes_per_group_;
  Result<uint32_t> table = InodeTableBlock(group);
  if (!table.ok()) return table.error();
  return uint64_t{table.value()} * block_size_ + uint64_t{index} * inode_size_;
}

Error Ext2::ReadInode(uint32_t number, Inode* out) {
  if (device_ == nullptr) return Error::kNotMounted;
  Result<uint64_t> offset = InodeOffset(number);
  if (!offset.ok()) return offset.error();
  uint8_t raw[kInodeCoreSize];
  if (!device_->ReadBytes(offset.value(), raw, sizeof raw)) return Error::kIo;

  Inode inode;
  inode.number = number;
  inode.mode = Load16(raw + ino::kMode);
  inode.uid = Load16(raw + ino::kUid);
  inode.gid = Load16(raw + ino::kGid);
  inode.links = Load16(raw + ino::kLinksCount);
  inode.size = Load32(raw + ino::kSizeLo);
  inode.atime = Load32(raw + ino::kAtime);
  inode.ctime = Load32(raw + ino::kCtime);
  inode.mtime = Load32(raw + ino::kMtime);
  inode.dtime = Load32(raw + ino::kDtime);
  inode.blocks_512 = Load32(raw + ino::kBlocks512);
  inode.flags = Load32(raw + ino::kFlags);
  inode.file_acl = Load32(raw + ino::kFileAcl);
  __builtin_memcpy(inode.block, raw + ino::kBlock, sizeof inode.block);
  // As Linux does: the high half of the size only for regular files; for
  // directories the field was i_dir_acl.
  if (inode.Type() == FileType::kRegular) {
    inode.size |= uint64_t{Load32(raw + ino::kSizeHigh)} << 32;
  }
  if ((inode.flags & (kExtentsFlag | kInlineDataFlag)) != 0)
    return Error::kUnsupported;
  if (inode.size > max_file_size_) return Error::kFileTooLarge;
  *out = inode;
  return Error::kOk;
}

Error Ext2::CheckBlock(uint32_t block) const {
  if (block < first_data_block_ || block >= blocks_count_)
    return Error::kBlockOutOfRange;
  return Error::kOk;
}

Error Ext2::ReadBlockPointer(uint32_t table_block, uint64_t slot,
                             uint32_t* out) {
  if (Error e = CheckBlock(table_block); e != Error::kOk) return e;
  const uint64_t offset =
      uint64_t{table_block} * block_size_ + slot * sizeof(uint32_t);
  uint8_t bytes[4];
  if (!device_->ReadBytes(offset, bytes, sizeof bytes)) return Error::kIo;
  *out = Load32(bytes);
  return Error::kOk;
}

Result<uint32_t> Ext2::MapBlock(const Inode& inode, uint64_t index) {
  if (device_ == nullptr) return Error::kNotMounted;
  uint32_t block = 0;
  if (index < kDirectBlocks) {
    block = inode.block[index];
  } else {
    // Find the level: 1 (single indirect) covers p blocks, 2 covers p^2,
    // 3 covers p^3; `span` is the number of data blocks one slot at the
    // top level stands for, times p.
    const uint64_t p = block_size_ / 4;
    uint64_t rest = index - kDirectBlocks;
    uint64_t span = p;
    int level = 1;
    while (level <= 3 && rest >= span) {
      rest -= span;
      span *= p;
      ++level;
    }
    if (level > 3) return Error::kFileTooLarge;
    block = inode.block[kIndirectSlot + level - 1];
    for (; level > 0 && block != 0; --level) {
      span /= p;
      if (Error e = ReadBlockPointer(block, rest / span, &block);
          e != Error::kOk)
        return e;
      rest %= span;
    }
  }
  if (block != 0) {
    if (Error e = CheckBlock(block); e != Error::kOk) return e;
  }
  return block;
}

bool Ext2::IsFastSymlink(const Inode& inode) const {
  // Linux's test: a symlink with no data blocks other than an xattr block.
  const uint32_t xattr_sectors = inode.file_acl != 0 ? block_size_ / 512 : 0;
  return inode.Type() == FileType::kSymlink &&
         inode.blocks_512 == xattr_sectors;
}

Result<size_t> Ext2::ReadRange(const Inode& inode, uint64_t offset,
                               uint8_t* out, size_t length) {
  if (device_ == nullptr) return Error::kNotMounted;
  if (offset >= inode.size) return size_t{0};
  const uint64_t available = inode.size - offset;
  const size_t total =
      length < available ? length : static_cast<size_t>(available);
  if (IsFastSymlink(inode)) {
    // The target lives in i_block itself.
    if (inode.size > kFastSymlinkMax) return Error::kCorrupt;
    __builtin_memcpy(
        out, reinterpret_cast<const uint8_t*>(inode.block) + offset, total);
    return total;
  }
  size_t done = 0;
  while (done < total) {
    const uint64_t position = offset + done;
    const uint32_t in_block = static_cast<uint32_t>(position % block_size_);
    const size_t left = total - done;
    const size_t chunk =
        block_size_ - in_block < left ? block_size_ - in_block : left;
    Result<uint32_t> block = MapBlock(inode, position / block_size_);
    if (!block.ok()) return block.error();
    if (block.value() == 0) {
      for (size_t i = 0; i < chunk; ++i) out[done + i] = 0;  // a hole
    } else {
      const uint64_t at = uint64_t{block.value()} * block_size_ + in_block;
      if (!device_->ReadBytes(at, out + done, chunk)) return Error::kIo;
    }
    done += chunk;
  }
  return total;
}

Result<size_t> Ext2::ReadFile(const Inode& inode, uint64_t offset,
                              std::span<uint8_t> out) {
  return ReadRange(inode, offset, out.data(), out.size());
}

Result<size_t> Ext2::ReadLink(const Inode& inode, std::span<char> out) {
  if (inode.Type() != FileType::kSymlink) return Error::kNotSymlink;
  if (inode.size > out.size()) return Error::kNameTooLong;
  Result<size_t> n =
      ReadRange(inode, 0, reinterpret_cast<uint8_t*>(out.data()), out.size());
  if (n.ok() && n.value() != inode.size) return Error::kCorrupt;
  return n;
}

Result<bool> Ext2::ReadDir(const Inode& dir, DirCursor* cursor, DirEntry* out) {
  if (device_ == nullptr) return Error::kNotMounted;
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  if (dir.size % block_size_ != 0) return Error::kCorrupt;
  if (cursor->offset % 4 != 0) return Error::kBadDirEntry;
  // Reads entry headers straight from the device rather than whole blocks:
  // one call per entry, no buffer. Each step advances by rec_len >= 8.
  while (cursor->offset < dir.size) {
    const uint32_t in_block =
        static_cast<uint32_t>(cursor->offset % block_size_);
    Result<uint32_t> block = MapBlock(dir, cursor->offset / block_size_);
    if (!block.ok()) return block.error();
    if (block.value() == 0)
      return Error::kCorrupt;  // directories have no holes
    const uint64_t at = uint64_t{block.value()} * block_size_ + in_block;
    uint8_t header[kDirEntryHeader];
    if (in_block + kDirEntryHeader > block_size_) return Error::kBadDirEntry;
    if (!device_->ReadBytes(at, header, sizeof header)) return Error::kIo;
    RawDirEntry entry;
    if (Error e =
            ParseDirEntry(header, in_block, block_size_, inodes_count_, &entry);
        e != Error::kOk) {
      return e;
    }
    cursor->offset += entry.rec_len;
    if (entry.inode == 0) continue;  // unused slot, or an htree index block
    if (!device_->ReadBytes(at + kDirEntryHeader, out->name, entry.name_len))
      return Error::kIo;
    out->name[entry.name_len] = '\0';
    out->name_len = entry.name_len;
    out->inode = entry.inode;
    out->type =
        has_filetype_ ? DirEntryFileType(entry.file_type) : FileType::kUnknown;
    return true;
  }
  return false;
}

Result<bool> Ext2::NextDirEntry(const Inode& dir, DirWalk* walk,
                                RawDirEntry* entry) {
  if (dir.Type() != FileType::kDirectory) return Error::kNotDirectory;
  if (dir.size % block_size_ != 0) return Error::kCorrupt;
  if (walk->next_in_block >= block_size_) {
    if (walk->next_block >= dir.size / block_size_) return false;
    Result<uint32_t> block = MapBlock(dir, walk->next_block);
    if (!block.ok()) return block.error();
    if (block.value() == 0)
      return Error::kCorrupt;  // directories have no holes
    walk->block_offset = uint64_t{block.value()} * block_size_;
    if (!device_->ReadBytes(walk->block_offset, block_buf_, block_size_))
      return Error::kIo;
    ++walk->next_block;
    walk->next_in_block = 0;
  }
  walk->previous = walk->in_block;
  walk->in_block = walk->next_in_block;
  if (Error e = ParseDirEntry(block_buf_ + walk->in_block, walk->in_block,
                              block_size_, inodes_count_, entry);
      e != Error::kOk) {
    return e;
  }
  // ParseDirEntry checked rec_len >= 8, so every step moves forward.
  walk->next_in_block = walk->in_block + entry->rec_len;
  return true;
}

Error Ext2::FindDirEntry(const Inode& dir, std::string_view name,
                         DirWalk* walk, RawDirEntry* entry) {
  for (;;) {
    Result<bool> more = NextDirEntry(dir, walk, entry);
    if (!more.ok()) return more.error();
    if (!more.value()) return Error::kNotFound;
    if (entry->inode != 0 && entry->name_len == name.size() &&
        __builtin_memcmp(block_buf_ + walk->in_block + kDirEntryHeader,
                         name.data(), name.size()) == 0) {
      return Error::kOk;
    }
  }
}

Result<uint32_t> Ext2::FindInDirectory(const Inode& dir,
                                       std::string_view name) {
  DirWalk walk;
  RawDirEntry entry;
  if (Error e = FindDirEntry(dir, name, &walk, &entry); e != Error::kOk)
    return e;
  return entry.inode;
}

}  // namespace uk::fs
