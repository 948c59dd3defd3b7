#pragma once
// Errors of the filesystem layer, returned as values: nothing here throws,
// allocates or aborts, because every byte it parses comes from a disk image
// that may be corrupt or hostile. ErrorName (error.cc) must list them all.

#include <cstdint>

#include "services/runtime/result.h"

namespace uk::fs {

enum class Error : uint8_t {
  kOk = 0,
  kIo,               // the device could not read (I/O error or past its end)
  kBadMagic,         // superblock magic is not 0xEF53
  kBadSuperblock,    // superblock geometry is inconsistent or out of range
  kUnsupported,      // revision, incompatible feature or inode flag we lack
  kTruncated,        // the image is smaller than the superblock says
  kCorrupt,          // some other on-disk structure is malformed
  kInodeOutOfRange,  // inode number 0 or beyond s_inodes_count
  kBlockOutOfRange,  // a block pointer beyond the filesystem
  kBadDirEntry,      // rec_len/name_len do not fit the directory block
  kFileTooLarge,     // i_size beyond what the block map can address
  kNotFound,         // no such name in the directory
  kNotDirectory,     // a path component is not a directory
  kNotSymlink,       // ReadLink on something else
  kInvalidPath,      // empty or relative path
  kNameTooLong,      // component > 255 bytes or path > kMaxPath
  kTooManySymlinks,  // more than kMaxSymlinkDepth links, i.e. ELOOP
  kNotMounted,       // used before a successful Mount
  // Errors of the write path.
  kExists,           // the name to create is already in the directory
  kNoSpace,          // no free block or inode left
  kNotEmpty,         // Rmdir or Rename over a directory that has entries
  kIsDirectory,      // a file operation (write, unlink) on a directory
  kReadOnly,         // features we cannot write safely, or a write failed
  kInvalidArgument,  // "." or ".." as a name, a bad type for the call
  kCrossesRoot,      // Rename of a directory into its own subtree
  kTooManyLinks,     // a link count would pass ext2's limit of 32000
  // Errors of the fs service protocol (fs_service.h).
  kBadHandle,         // not an open handle (never opened, or closed)
  kTooManyOpenFiles,  // the service's open-file table is full
  kNoService,         // no fs service answered (no disk attached)
  kStopped,           // a change after the service stopped (a graceful shutdown)
  // Errors of lending cache pages (fs_protocol.h, LendRequest).
  kTooManyLeases,  // every lease is out; release some, or read by copy
  kCacheBusy,      // too many cache pages are lent already; read by copy
};

// A stable name for logs and test failure messages ("kBadMagic").
const char* ErrorName(Error error);

// A value or an Error (services/runtime/result.h).
template <typename T>
using Result = uk::Result<T, Error>;

}  // namespace uk::fs
