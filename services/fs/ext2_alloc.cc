// Allocation for the ext2 writer: the superblock's free counts, group
// descriptors, block and inode bitmaps, inode writes. The block map's
// growth and trimming are in ext2_block_map.cc.
//
// Every change to a bitmap is written through at once together with its
// group descriptor's count; the superblock's counts are kept in memory and
// written by FinishWrite when the public call ends. Bits are checked before
// they flip: freeing a free block or allocating over a group's own metadata
// means the image is corrupt, and the call stops with kCorrupt.

#include "services/fs/ext2.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

namespace {

// The source of zeros for new indirect blocks, new inodes and the unwritten
// parts of new data blocks.
constexpr uint8_t kZeros[kMaxBlockSize] = {};

uint32_t Min(uint64_t a, uint64_t b) {
  return static_cast<uint32_t>(a < b ? a : b);
}

}  // namespace

Error Ext2::BeginWrite() const {
  if (device_ == nullptr) return Error::kNotMounted;
  if (!writable_) return Error::kReadOnly;
  return Error::kOk;
}

Error Ext2::FinishWrite(Error result) {
  uint8_t counts[8];
  Store32(counts, free_blocks_);
  Store32(counts + 4, free_inodes_);
  uint8_t time[4];
  Store32(time, now_);
  uint8_t features[4];
  Store32(features, ro_compat_);
  Error e =
      Write(kSuperblockOffset + sb::kFreeBlocksCount, counts, sizeof counts);
  if (e == Error::kOk)
    e = Write(kSuperblockOffset + sb::kWtime, time, sizeof time);
  if (e == Error::kOk && revision_ == kDynamicRev)
    e = Write(kSuperblockOffset + sb::kFeatureRoCompat, features,
              sizeof features);
  return result != Error::kOk ? result : e;
}

Error Ext2::Write(uint64_t offset, const void* data, size_t length) {
  // As the error says: a device that cannot write makes us read-only.
  return device_->WriteBytes(offset, data, length) ? Error::kOk
                                                   : Error::kReadOnly;
}

Error Ext2::WriteZeros(uint64_t offset, size_t length) {
  return Write(offset, kZeros, length);
}

// ---- Groups and bitmaps.

uint32_t Ext2::BlocksInGroup(uint32_t group) const {
  const uint64_t first =
      first_data_block_ + uint64_t{group} * blocks_per_group_;
  return Min(blocks_per_group_, blocks_count_ - first);
}

Error Ext2::LoadGroup(uint32_t group, Group* out) {
  if (group >= group_count_) return Error::kCorrupt;
  uint8_t desc[kGroupDescSize];
  if (!device_->ReadBytes(GroupDescOffset(group), desc, sizeof desc))
    return Error::kIo;
  Group g;
  g.block_bitmap = Load32(desc + gd::kBlockBitmap);
  g.inode_bitmap = Load32(desc + gd::kInodeBitmap);
  g.inode_table = Load32(desc + gd::kInodeTable);
  g.free_blocks = Load16(desc + gd::kFreeBlocksCount);
  g.free_inodes = Load16(desc + gd::kFreeInodesCount);
  g.used_dirs = Load16(desc + gd::kUsedDirsCount);
  if (CheckBlock(g.block_bitmap) != Error::kOk ||
      CheckBlock(g.inode_bitmap) != Error::kOk ||
      g.block_bitmap <= first_data_block_ ||
      g.inode_bitmap <= first_data_block_ ||
      uint64_t{g.inode_table} + inode_table_blocks_ > blocks_count_ ||
      g.free_blocks > BlocksInGroup(group) ||
      g.free_inodes > inodes_per_group_ || g.used_dirs > inodes_per_group_) {
    return Error::kCorrupt;
  }
  *out = g;
  return Error::kOk;
}

Error Ext2::StoreGroupCounts(uint32_t group, const Group& g) {
  uint8_t counts[6];
  Store16(counts, g.free_blocks);
  Store16(counts + 2, g.free_inodes);
  Store16(counts + 4, g.used_dirs);
  return Write(GroupDescOffset(group) + gd::kFreeBlocksCount, counts,
               sizeof counts);
}

Error Ext2::LoadBitmap(uint32_t block) {
  if (bitmap_block_ == block) return Error::kOk;
  bitmap_block_ = 0;
  if (!device_->ReadBytes(uint64_t{block} * block_size_, bitmap_buf_,
                          block_size_)) {
    return Error::kIo;
  }
  bitmap_block_ = block;
  return Error::kOk;
}

// Flips one bit of the cached bitmap `block` and writes its byte through.
Error Ext2::SetBitmapBit(uint32_t block, uint32_t bit, bool value) {
  if (Error e = LoadBitmap(block); e != Error::kOk) return e;
  uint8_t& byte = bitmap_buf_[bit / 8];
  const uint8_t mask = static_cast<uint8_t>(1u << (bit % 8));
  if (((byte & mask) != 0) == value) return Error::kCorrupt;
  byte = value ? (byte | mask) : (byte & ~mask);
  return Write(uint64_t{block} * block_size_ + bit / 8, &byte, 1);
}

namespace {

// First clear bit in [from, to) of `bitmap`, or `to`.
uint32_t FindClearBit(const uint8_t* bitmap, uint32_t from, uint32_t to) {
  for (uint32_t bit = from; bit < to; ++bit) {
    if (bitmap[bit / 8] == 0xFF && bit % 8 == 0 && bit + 8 <= to) {
      bit += 7;
      continue;
    }
    if ((bitmap[bit / 8] & (1u << (bit % 8))) == 0) return bit;
  }
  return to;
}

}  // namespace

// Searches from `goal` to the end of its group, then the rest of that
// group, then the following groups in turn.
Result<uint32_t> Ext2::AllocateBlock(uint32_t goal) {
  if (free_blocks_ == 0) return Error::kNoSpace;
  if (goal < first_data_block_ || goal >= blocks_count_)
    goal = first_data_block_;
  const uint32_t first_group = (goal - first_data_block_) / blocks_per_group_;
  uint32_t start = (goal - first_data_block_) % blocks_per_group_;
  for (uint32_t i = 0; i < group_count_; ++i, start = 0) {
    const uint32_t group = (first_group + i) % group_count_;
    Group g;
    if (Error e = LoadGroup(group, &g); e != Error::kOk) return e;
    if (g.free_blocks == 0) continue;
    if (Error e = LoadBitmap(g.block_bitmap); e != Error::kOk) return e;
    const uint32_t count = BlocksInGroup(group);
    uint32_t bit = FindClearBit(bitmap_buf_, start, count);
    if (bit == count) bit = FindClearBit(bitmap_buf_, 0, start);
    if (bit >= count) continue;  // the count was wrong; try elsewhere
    const uint32_t block = first_data_block_ + group * blocks_per_group_ + bit;
    // A clear bit over the group's own metadata is a corrupt bitmap.
    if (block == g.block_bitmap || block == g.inode_bitmap ||
        (block >= g.inode_table &&
         block - g.inode_table < inode_table_blocks_)) {
      return Error::kCorrupt;
    }
    if (Error e = SetBitmapBit(g.block_bitmap, bit, true); e != Error::kOk)
      return e;
    --g.free_blocks;
    --free_blocks_;
    if (Error e = StoreGroupCounts(group, g); e != Error::kOk) return e;
    return block;
  }
  return Error::kNoSpace;
}

// Frees `block` and takes it off `owner`'s i_blocks.
Error Ext2::FreeBlock(uint32_t block, Inode* owner) {
  if (Error e = CheckBlock(block); e != Error::kOk) return e;
  const uint32_t sectors = block_size_ / 512;
  if (owner->blocks_512 < sectors) return Error::kCorrupt;
  const uint32_t group = (block - first_data_block_) / blocks_per_group_;
  Group g;
  if (Error e = LoadGroup(group, &g); e != Error::kOk) return e;
  if (g.free_blocks >= BlocksInGroup(group) || free_blocks_ >= blocks_count_)
    return Error::kCorrupt;
  const uint32_t bit = (block - first_data_block_) % blocks_per_group_;
  if (Error e = SetBitmapBit(g.block_bitmap, bit, false); e != Error::kOk)
    return e;
  ++g.free_blocks;
  ++free_blocks_;
  owner->blocks_512 -= sectors;
  return StoreGroupCounts(group, g);
}

// Files go in their parent's group if it has room, directories in the group
// with the most free inodes, so that trees spread over the disk.
Result<uint32_t> Ext2::AllocateInode(uint32_t parent, bool directory) {
  if (free_inodes_ == 0) return Error::kNoSpace;
  if (first_ino_ <= kRootIno || first_ino_ > inodes_count_)
    return Error::kCorrupt;
  uint32_t first_group = (parent - 1) / inodes_per_group_;
  if (directory) {
    uint32_t most_free = 0;
    for (uint32_t group = 0; group < group_count_; ++group) {
      Group g;
      if (Error e = LoadGroup(group, &g); e != Error::kOk) return e;
      if (g.free_inodes > most_free) {
        most_free = g.free_inodes;
        first_group = group;
      }
    }
  }
  for (uint32_t i = 0; i < group_count_; ++i) {
    const uint32_t group = (first_group + i) % group_count_;
    Group g;
    if (Error e = LoadGroup(group, &g); e != Error::kOk) return e;
    if (g.free_inodes == 0) continue;
    if (Error e = LoadBitmap(g.inode_bitmap); e != Error::kOk) return e;
    const uint64_t group_first = uint64_t{group} * inodes_per_group_ + 1;
    // Reserved inodes (below s_first_ino) are never handed out, whatever
    // their bits say; nor are numbers past s_inodes_count.
    const uint32_t from = group_first >= first_ino_
                              ? 0
                              : static_cast<uint32_t>(first_ino_ - group_first);
    if (group_first > inodes_count_) continue;
    const uint32_t to = Min(inodes_per_group_, inodes_count_ - group_first + 1);
    if (from >= to) continue;
    const uint32_t bit = FindClearBit(bitmap_buf_, from, to);
    if (bit >= to) continue;
    if (Error e = SetBitmapBit(g.inode_bitmap, bit, true); e != Error::kOk)
      return e;
    --g.free_inodes;
    --free_inodes_;
    if (directory) ++g.used_dirs;
    if (Error e = StoreGroupCounts(group, g); e != Error::kOk) return e;
    return static_cast<uint32_t>(group_first + bit);
  }
  return Error::kNoSpace;
}

Error Ext2::FreeInodeNumber(uint32_t number, bool directory) {
  if (number < first_ino_ || number > inodes_count_) return Error::kCorrupt;
  const uint32_t group = (number - 1) / inodes_per_group_;
  Group g;
  if (Error e = LoadGroup(group, &g); e != Error::kOk) return e;
  if (g.free_inodes >= inodes_per_group_ || free_inodes_ >= inodes_count_ ||
      (directory && g.used_dirs == 0)) {
    return Error::kCorrupt;
  }
  const uint32_t bit = (number - 1) % inodes_per_group_;
  if (Error e = SetBitmapBit(g.inode_bitmap, bit, false); e != Error::kOk)
    return e;
  ++g.free_inodes;
  ++free_inodes_;
  if (directory) --g.used_dirs;
  return StoreGroupCounts(group, g);
}

// ---- Inodes.

// Rewrites the fields Inode holds, keeping the rest of the on-disk inode.
Error Ext2::WriteInode(const Inode& inode) {
  Result<uint64_t> at = InodeOffset(inode.number);
  if (!at.ok()) return at.error();
  const uint64_t offset = at.value();
  uint8_t raw[kInodeCoreSize];
  if (!device_->ReadBytes(offset, raw, sizeof raw)) return Error::kIo;
  Store16(raw + ino::kMode, inode.mode);
  Store16(raw + ino::kUid, inode.uid);
  Store16(raw + ino::kGid, inode.gid);
  Store16(raw + ino::kLinksCount, inode.links);
  Store32(raw + ino::kSizeLo, static_cast<uint32_t>(inode.size));
  if (inode.Type() == FileType::kRegular)
    Store32(raw + ino::kSizeHigh, static_cast<uint32_t>(inode.size >> 32));
  Store32(raw + ino::kAtime, inode.atime);
  Store32(raw + ino::kCtime, inode.ctime);
  Store32(raw + ino::kMtime, inode.mtime);
  Store32(raw + ino::kDtime, inode.dtime);
  Store32(raw + ino::kBlocks512, inode.blocks_512);
  Store32(raw + ino::kFlags, inode.flags);
  Store32(raw + ino::kFileAcl, inode.file_acl);
  __builtin_memcpy(raw + ino::kBlock, inode.block, sizeof inode.block);
  return Write(offset, raw, sizeof raw);
}

}  // namespace uk::fs
