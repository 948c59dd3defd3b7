// The block map of the ext2 writer: growing it for a write (MapForWrite)
// and trimming it for a truncate or a delete (FreeBlocksFrom). The reader's
// MapBlock in ext2.cc walks the same direct/indirect/double/triple layout.

#include "services/fs/ext2.h"

namespace uk::fs {

using namespace ext2;  // NOLINT: the on-disk constants, used throughout

Error Ext2::WriteBlockPointer(uint32_t table_block, uint64_t slot,
                              uint32_t value) {
  if (Error e = CheckBlock(table_block); e != Error::kOk) return e;
  uint8_t bytes[4];
  Store32(bytes, value);
  return Write(uint64_t{table_block} * block_size_ + slot * 4, bytes, 4);
}

// The walk of MapBlock, allocating each missing pointer on the way: the
// indirect blocks (zeroed) and the data block itself (left as it is, with
// *fresh set so the caller writes all of it). Before allocating anything it
// checks that the whole path fits, so a full disk leaves no empty indirect
// block behind.
Result<uint32_t> Ext2::MapForWrite(Inode* inode, uint64_t index, bool* fresh) {
  *fresh = false;
  const uint64_t p = block_size_ / 4;
  uint64_t rest = 0;
  uint64_t span = 1;  // data blocks under the current pointer
  int level = 0;      // indirect levels below the top pointer
  uint32_t* top = nullptr;
  if (index < kDirectBlocks) {
    top = &inode->block[index];
  } else {
    rest = index - kDirectBlocks;
    span = p;
    level = 1;
    while (level <= 3 && rest >= span) {
      rest -= span;
      span *= p;
      ++level;
    }
    if (level > 3) return Error::kFileTooLarge;
    top = &inode->block[kIndirectSlot + level - 1];
  }
  uint32_t goal = 0;
  uint32_t table = 0;  // block holding the current pointer; 0: the inode
  uint64_t slot = 0;
  uint32_t pointer = *top;
  for (int depth = 0;; ++depth) {
    const bool is_data = depth == level;
    if (pointer == 0) {
      if (goal == 0) {
        if (free_blocks_ < static_cast<uint32_t>(level - depth + 1))
          return Error::kNoSpace;
        // Next to the previous block of the file, else in the inode's group.
        Result<uint32_t> previous =
            index > 0 ? MapBlock(*inode, index - 1) : Result<uint32_t>(0u);
        if (!previous.ok()) return previous.error();
        goal = previous.value() != 0
                   ? previous.value() + 1
                   : first_data_block_ + (inode->number - 1) /
                                             inodes_per_group_ *
                                             blocks_per_group_;
      }
      Result<uint32_t> block = AllocateBlock(goal);
      if (!block.ok()) return block.error();
      pointer = block.value();
      goal = pointer + 1;
      inode->blocks_512 += block_size_ / 512;
      if (!is_data) {
        if (Error e = WriteZeros(uint64_t{pointer} * block_size_, block_size_);
            e != Error::kOk)
          return e;
      }
      *fresh = is_data;
      if (table == 0) {
        *top = pointer;
      } else if (Error e = WriteBlockPointer(table, slot, pointer);
                 e != Error::kOk) {
        return e;
      }
    } else if (Error e = CheckBlock(pointer); e != Error::kOk) {
      return e;
    }
    if (is_data) return pointer;
    span /= p;
    table = pointer;
    slot = rest / span;
    rest %= span;
    if (Error e = ReadBlockPointer(table, slot, &pointer); e != Error::kOk)
      return e;
  }
}

// Frees every block of the file from logical block `first_index` on,
// indirect blocks included once nothing under them is left.
Error Ext2::FreeBlocksFrom(Inode* inode, uint64_t first_index) {
  for (uint64_t i = first_index; i < kDirectBlocks; ++i) {
    if (inode->block[i] == 0) continue;
    if (Error e = FreeBlock(inode->block[i], inode); e != Error::kOk) return e;
    inode->block[i] = 0;
  }
  const uint64_t p = block_size_ / 4;
  uint64_t base = kDirectBlocks;  // first logical block under the slot
  uint64_t span = p;
  for (int level = 1; level <= 3; ++level, base += span, span *= p) {
    uint32_t& top = inode->block[kIndirectSlot + level - 1];
    if (top == 0 || first_index >= base + span) continue;
    const uint64_t keep = first_index > base ? first_index - base : 0;
    bool empty = false;
    if (Error e = TrimTree(inode, top, level, keep, &empty); e != Error::kOk)
      return e;
    if (empty) {
      if (Error e = FreeBlock(top, inode); e != Error::kOk) return e;
      top = 0;
    }
  }
  return Error::kOk;
}

// Frees the blocks under the indirect block `table` (of `level` levels)
// from its `keep`-th data block on; *now_empty tells whether every pointer
// in it is now zero, so the caller frees the table itself. Each level reads
// into its own buffer, and levels are at most 3, so the recursion is
// bounded and needs no stack buffers.
Error Ext2::TrimTree(Inode* inode, uint32_t table, int level, uint64_t keep,
                     bool* now_empty) {
  if (Error e = CheckBlock(table); e != Error::kOk) return e;
  uint8_t* buf = table_buf_[level - 1];
  if (!device_->ReadBytes(uint64_t{table} * block_size_, buf, block_size_))
    return Error::kIo;
  const uint32_t p = block_size_ / 4;
  uint64_t span = 1;  // data blocks under one slot
  for (int i = 1; i < level; ++i) span *= p;
  bool changed = false;
  bool empty = true;
  for (uint32_t slot = 0; slot < p; ++slot) {
    const uint32_t child = Load32(buf + slot * 4);
    if (child == 0) continue;
    const uint64_t first = slot * span;
    if (first + span <= keep) {
      empty = false;
      continue;
    }
    bool child_empty = true;
    if (level > 1) {
      if (Error e = TrimTree(inode, child, level - 1,
                             keep > first ? keep - first : 0, &child_empty);
          e != Error::kOk) {
        return e;
      }
    }
    if (!child_empty) {
      empty = false;
      continue;
    }
    if (Error e = FreeBlock(child, inode); e != Error::kOk) return e;
    Store32(buf + slot * 4, 0);
    changed = true;
  }
  *now_empty = empty;
  if (changed && !empty)
    return Write(uint64_t{table} * block_size_, buf, block_size_);
  return Error::kOk;
}

// Whether a regular file may grow to `size`: within the block map, and past
// 2 GiB only with LARGE_FILE, which revision 1 gets on first need (as Linux
// does); revision 0 has no feature flags, so it stays below.
Error Ext2::NeedSize(uint64_t size) {
  if (size > max_file_size_) return Error::kFileTooLarge;
  if (size >= kLargeFileSize && (ro_compat_ & kRoCompatLargeFile) == 0) {
    if (revision_ != kDynamicRev) return Error::kFileTooLarge;
    ro_compat_ |= kRoCompatLargeFile;  // written by FinishWrite
  }
  return Error::kOk;
}

}  // namespace uk::fs
