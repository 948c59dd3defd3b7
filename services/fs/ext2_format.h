#pragma once
// The ext2 on-disk layout this reader relies on: field offsets, constants and
// little-endian loads. Offsets rather than packed structs, so that a field is
// read only after the bytes holding it are known to be inside the image.
//
// Reference: "The Second Extended File System" (Dave Poirier) and Linux's
// fs/ext2/ext2.h. All fields are little-endian.

#include <cstddef>
#include <cstdint>

namespace uk::fs::ext2 {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "loads assume little-endian");

inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void Store16(uint8_t* p, uint16_t v) {
  __builtin_memcpy(p, &v, sizeof v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// ---- Superblock: 1024 bytes at byte offset 1024, whatever the block size.
inline constexpr uint64_t kSuperblockOffset = 1024;
inline constexpr size_t kSuperblockSize = 1024;
inline constexpr uint16_t kMagic = 0xEF53;

namespace sb {
inline constexpr size_t kInodesCount = 0;
inline constexpr size_t kBlocksCount = 4;
inline constexpr size_t kFreeBlocksCount = 12;
inline constexpr size_t kFreeInodesCount = 16;
inline constexpr size_t kFirstDataBlock = 20;
inline constexpr size_t kLogBlockSize = 24;
inline constexpr size_t kBlocksPerGroup = 32;
inline constexpr size_t kInodesPerGroup = 40;
inline constexpr size_t kWtime = 48;
inline constexpr size_t kMagic = 56;
inline constexpr size_t kRevLevel = 76;
inline constexpr size_t kFirstIno = 84;   // rev 1 only
inline constexpr size_t kInodeSize = 88;  // rev 1 only (u16)
inline constexpr size_t kFeatureCompat = 92;
inline constexpr size_t kFeatureIncompat = 96;
inline constexpr size_t kFeatureRoCompat = 100;
}  // namespace sb

inline constexpr uint32_t kGoodOldRev = 0;
inline constexpr uint32_t kDynamicRev = 1;
inline constexpr uint16_t kGoodOldInodeSize = 128;
inline constexpr uint32_t kGoodOldFirstIno = 11;

// Incompatible features a reader must understand. FILETYPE only adds a type
// byte to directory entries; FLEX_BG only moves metadata, which the group
// descriptors point to anyway. Anything else (extents, 64-bit descriptors,
// meta_bg, compression, a journal needing recovery, inline data) changes
// how data is found and is refused.
inline constexpr uint32_t kIncompatFiletype = 0x0002;
inline constexpr uint32_t kIncompatFlexBg = 0x0200;
inline constexpr uint32_t kIncompatSupported =
    kIncompatFiletype | kIncompatFlexBg;
// Read-only-compatible features never stop a reader; LARGE_FILE only means
// i_size_high may be set, which is read regardless.
//
// The writer is stricter: it refuses (kReadOnly) any incompatible feature
// but FILETYPE (FLEX_BG's shared metadata would need more checks) and any
// read-only-compatible feature but SPARSE_SUPER (only decides where backup
// superblocks live, which the bitmaps already record) and LARGE_FILE (the
// writer sets it itself when a file first passes 2 GiB). Compatible
// features (dir_index, resize_inode, ext_attr, a clean journal) are safe by
// definition: dir_index because the writer clears a directory's index flag
// when it changes the directory, as pre-htree drivers do.
inline constexpr uint32_t kIncompatWritable = kIncompatFiletype;
inline constexpr uint32_t kRoCompatSparseSuper = 0x0001;
inline constexpr uint32_t kRoCompatLargeFile = 0x0002;
inline constexpr uint32_t kRoCompatWritable =
    kRoCompatSparseSuper | kRoCompatLargeFile;
// Files of this size and above need LARGE_FILE.
inline constexpr uint64_t kLargeFileSize = uint64_t{1} << 31;

// ---- Block group descriptor: 32 bytes each, in the block after the one
// holding the superblock (block 2 with 1 KiB blocks, block 1 otherwise).
inline constexpr size_t kGroupDescSize = 32;
namespace gd {
inline constexpr size_t kBlockBitmap = 0;
inline constexpr size_t kInodeBitmap = 4;
inline constexpr size_t kInodeTable = 8;
inline constexpr size_t kFreeBlocksCount = 12;  // u16
inline constexpr size_t kFreeInodesCount = 14;  // u16
inline constexpr size_t kUsedDirsCount = 16;    // u16
}  // namespace gd

// ---- Inode: the first 128 bytes are the same in every revision.
inline constexpr size_t kInodeCoreSize = 128;
inline constexpr uint32_t kRootIno = 2;
inline constexpr int kDirectBlocks = 12;
inline constexpr int kIndirectSlot = 12;
inline constexpr int kDoubleSlot = 13;
inline constexpr int kTripleSlot = 14;
inline constexpr int kBlockSlots = 15;
inline constexpr size_t kFastSymlinkMax = 60;  // bytes of i_block

namespace ino {
inline constexpr size_t kMode = 0;
inline constexpr size_t kUid = 2;
inline constexpr size_t kSizeLo = 4;
inline constexpr size_t kAtime = 8;
inline constexpr size_t kCtime = 12;
inline constexpr size_t kMtime = 16;
inline constexpr size_t kDtime = 20;
inline constexpr size_t kGid = 24;
inline constexpr size_t kLinksCount = 26;
inline constexpr size_t kBlocks512 = 28;
inline constexpr size_t kFlags = 32;
inline constexpr size_t kBlock = 40;  // 15 x u32
inline constexpr size_t kFileAcl = 104;
inline constexpr size_t kSizeHigh = 108;  // i_dir_acl for directories
}  // namespace ino

// Inode flags that change how data is located; this reader has neither.
inline constexpr uint32_t kExtentsFlag = 0x00080000;
inline constexpr uint32_t kInlineDataFlag = 0x10000000;
// A hashed (htree) directory; its index is plain directory blocks to a
// reader, and the writer drops the flag rather than maintain the index.
inline constexpr uint32_t kIndexFlag = 0x00001000;

inline constexpr uint16_t kModeRegular = 0x8000;
inline constexpr uint16_t kModeDirectory = 0x4000;
inline constexpr uint16_t kModeSymlink = 0xA000;
inline constexpr uint16_t kMaxLinks = 32000;  // EXT2_LINK_MAX

// Extended attribute block header: magic, then a reference count shared by
// every inode whose i_file_acl points at the block.
inline constexpr uint32_t kXattrMagic = 0xEA020000;
inline constexpr size_t kXattrRefcount = 4;

// ---- Directory entry: inode u32, rec_len u16, name_len u8, file_type u8,
// then name_len bytes of name; entries are 4-byte aligned and never cross a
// block. Revision 0 has a 16-bit name_len, but names are at most 255 bytes,
// so its high byte is always zero and reading one byte is right for both.
inline constexpr size_t kDirEntryHeader = 8;
inline constexpr size_t kMaxNameLen = 255;
// Directory entry file_type values (FILETYPE feature only).
inline constexpr uint8_t kDirTypeRegular = 1;
inline constexpr uint8_t kDirTypeDirectory = 2;
inline constexpr uint8_t kDirTypeSymlink = 7;

// The space an entry with a name of `name_len` bytes needs.
inline constexpr uint32_t DirRecLen(size_t name_len) {
  return static_cast<uint32_t>((kDirEntryHeader + name_len + 3) & ~size_t{3});
}

}  // namespace uk::fs::ext2
