#pragma once
// Parsing one ext2 directory entry header, shared by ReadDir (which reads
// headers from the device) and lookup (which scans a whole block). Internal
// to the ext2 reader.

#include <cstdint>

#include "services/fs/error.h"
#include "services/fs/ext2.h"
#include "services/fs/ext2_format.h"

namespace uk::fs {

struct RawDirEntry {
  uint32_t inode = 0;
  uint16_t rec_len = 0;
  uint8_t name_len = 0;
  uint8_t file_type = 0;
};

// `header` holds the entry's first 8 bytes, found `in_block` bytes into a
// block of `block_size`. Checks that the entry is aligned, at least a
// header long, ends inside its block, has room for its name and names an
// inode that exists (or 0, an unused slot).
inline Error ParseDirEntry(const uint8_t* header, uint32_t in_block,
                           uint32_t block_size, uint32_t inodes_count,
                           RawDirEntry* out) {
  if (in_block % 4 != 0 || in_block + ext2::kDirEntryHeader > block_size) {
    return Error::kBadDirEntry;
  }
  RawDirEntry entry;
  entry.inode = ext2::Load32(header);
  entry.rec_len = ext2::Load16(header + 4);
  entry.name_len = header[6];
  entry.file_type = header[7];
  if (entry.rec_len < ext2::kDirEntryHeader || entry.rec_len % 4 != 0 ||
      entry.rec_len > block_size - in_block ||
      entry.name_len > entry.rec_len - ext2::kDirEntryHeader ||
      entry.inode > inodes_count) {
    return Error::kBadDirEntry;
  }
  *out = entry;
  return Error::kOk;
}

inline FileType DirEntryFileType(uint8_t file_type) {
  switch (file_type) {
    case 1:
      return FileType::kRegular;
    case 2:
      return FileType::kDirectory;
    case 3:
      return FileType::kCharDevice;
    case 4:
      return FileType::kBlockDevice;
    case 5:
      return FileType::kFifo;
    case 6:
      return FileType::kSocket;
    case 7:
      return FileType::kSymlink;
    default:
      return FileType::kUnknown;
  }
}

}  // namespace uk::fs
