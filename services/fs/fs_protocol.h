#pragma once
// The filesystem service's messages (services/fs/fs_service.h).
//
// One request kind carries every operation (FsRequest.op) and one reply
// kind answers it (FsReply); both fit a ring slot's 48-byte payload.
//
// Memory: paths, data buffers and out-structures stay in the caller's
// memory and are passed by address ("by reference"). The caller lends them
// from the send until the reply arrives and must not touch them meanwhile;
// the service reads or writes them only while handling the request and
// never keeps a pointer afterwards. This is why fs calls never time out: a
// caller that gave up could reuse memory the service is still writing.
//
//   op         address / length          offset          reply.value
//   kOpen      path                      -               handle
//   kClose     -                         -               -
//   kRead      out buffer                file offset     bytes read
//   kStat      path, out Stat at addr2   -               -
//   kFstat     out Stat at address2      -               -
//   kReadDir   out DirEntry at address2  cursor          next cursor; value2 = 1 if
//                                                        an entry was produced
//   kCreate    path                      -  (mode)       handle of the new file
//   kWrite     data                      file offset     bytes written
//   kTruncate  -                         new size        -
//   kMkdir     path                      -  (mode)       inode
//   kUnlink    path                      -               -
//   kRmdir     path                      -               -
//   kRename    from path, to at addr2    -               -
//   kSymlink   path, target at addr2     -               inode
//   kSync      -                         -               -
//   kReadPath  path, out buffer at addr2     file offset     bytes read; the file's
//              (length2 = its size)                          Stat in reply.stat
//
// kReadPath is open + fstat + read + close in one round trip, for readers
// that want a file by name (the web server): a small file costs one
// message each way. For a directory it answers kIsDirectory with the
// directory's Stat, and reads nothing.
//
// Errors are fs::Error values in reply.error; kOk is 0.

#include <cstdint>

#include "ipc/message.h"
#include "services/runtime/registry.h"

namespace uk::fs {

inline constexpr const svc::Registration& kFs = svc::Registered("fs");
inline constexpr uint16_t kFsServiceId = kFs.id;


enum class FsOp : uint32_t {
  kOpen = 1,
  kClose,
  kRead,
  kStat,
  kFstat,
  kReadDir,
  kCreate,
  kWrite,
  kTruncate,
  kMkdir,
  kUnlink,
  kRmdir,
  kRename,
  kSymlink,
  kSync,
  kReadPath,
};

struct FsRequest {
  static constexpr auto kKind = svc::Kind(kFs, 0);
  FsOp op;
  uint32_t handle;
  uint64_t offset;
  uint64_t address;   // caller memory, lent until the reply
  uint64_t address2;  // a second path or an out-structure
  uint32_t length;
  uint32_t length2;
  uint16_t mode;      // permissions for kCreate/kMkdir
  uint16_t reserved[3];
};
static_assert(sizeof(FsRequest) == ipc::kPayloadBytes);

// The parts of a Stat a reply can carry (kReadPath).
struct FsReplyStat {
  uint64_t size;
  uint32_t inode;
  uint32_t mtime;
  uint16_t mode;
  uint8_t type;  // FileType
  uint8_t reserved;
};

struct FsReply {
  static constexpr auto kKind = svc::Kind(kFs, 1);
  int32_t error;  // fs::Error
  uint32_t reserved;
  uint64_t value;
  uint64_t value2;
  FsReplyStat stat;  // kReadPath only
};

static_assert(ipc::MessageBody<FsRequest>);
static_assert(ipc::MessageBody<FsReply>);

}  // namespace uk::fs
