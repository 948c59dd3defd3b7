#pragma once
// The filesystem service's messages (services/fs/fs_service.h): one body
// type per operation, each with its own kind from fs's range
// (services/runtime/registry.h), and four reply bodies. Every body fits a
// ring slot's 48-byte payload, and every reply starts with `error`, an
// fs::Error (kOk is 0).
//
// Memory: paths, data buffers and out-structures stay in the caller's
// memory and are passed by address ("by reference"). The caller lends them
// from the send until the reply arrives and must not touch them meanwhile;
// the service reads or writes them only while handling the request and
// never keeps a pointer afterwards. This is why fs calls never time out: a
// caller that gave up could reuse memory the service is still writing.
//
//   request           fields                            reply
//   OpenRequest       path                              ValueReply: handle
//   CloseRequest      handle                            StatusReply
//   ReadRequest       handle, offset, out buffer        ValueReply: bytes read (0 at the end)
//   StatRequest       path, out Stat                    StatusReply
//   FstatRequest      handle, out Stat                  StatusReply
//   ReadDirRequest    handle, cursor, out DirEntry      ReadDirReply: next cursor, and
//                                                       whether an entry was produced
//   CreateRequest     path, mode                        ValueReply: handle of the new file
//   WriteRequest      handle, offset, data              ValueReply: bytes written
//   TruncateRequest   handle, size                      StatusReply
//   MkdirRequest      path, mode                        ValueReply: inode
//   UnlinkRequest     path                              StatusReply
//   RmdirRequest      path                              StatusReply
//   RenameRequest     from, to                          StatusReply
//   SymlinkRequest    path, target                      ValueReply: inode
//   SyncRequest       -                                 StatusReply
//   ReadPathRequest   path, offset, out buffer          ReadPathReply: bytes read, the Stat
//
// ReadPath is open + fstat + read + close in one round trip, for readers
// that want a file by name (the web server): a small file costs one
// message each way. For a directory it answers kIsDirectory with the
// directory's Stat, and reads nothing.

#include <cstdint>

#include "ipc/message.h"
#include "services/runtime/registry.h"

namespace uk::fs {

inline constexpr const svc::Registration& kFs = svc::Registered("fs");
inline constexpr uint16_t kFsServiceId = kFs.id;

// Bytes in the caller's memory, lent until the reply.
struct Lent {
  uint64_t address = 0;
  uint32_t length = 0;
  uint32_t reserved = 0;
};

// ---- Replies ----

struct StatusReply {
  static constexpr auto kKind = svc::Kind(kFs, 0x20);
  int32_t error = 0;
};

struct ValueReply {  // a handle, an inode number or a byte count
  static constexpr auto kKind = svc::Kind(kFs, 0x21);
  int32_t error = 0;
  uint32_t reserved = 0;
  uint64_t value = 0;
};

struct ReadDirReply {
  static constexpr auto kKind = svc::Kind(kFs, 0x22);
  int32_t error = 0;
  uint32_t produced = 0;  // 1 if the out DirEntry holds an entry
  uint64_t next_cursor = 0;
};

// The parts of a Stat a reply can carry.
struct FsReplyStat {
  uint64_t size;
  uint32_t inode;
  uint32_t mtime;
  uint16_t mode;
  uint8_t type;  // FileType
  uint8_t reserved;
};

struct ReadPathReply {
  static constexpr auto kKind = svc::Kind(kFs, 0x23);
  int32_t error = 0;
  uint32_t reserved = 0;
  uint64_t bytes = 0;
  FsReplyStat stat{};
};

// ---- Requests ----

struct OpenRequest {
  static constexpr auto kKind = svc::Kind(kFs, 0);
  using Reply = ValueReply;
  Lent path;
};

struct CloseRequest {
  static constexpr auto kKind = svc::Kind(kFs, 1);
  using Reply = StatusReply;
  uint32_t handle = 0;
};

struct ReadRequest {
  static constexpr auto kKind = svc::Kind(kFs, 2);
  using Reply = ValueReply;
  uint32_t handle = 0;
  uint64_t offset = 0;
  Lent out;
};

struct StatRequest {
  static constexpr auto kKind = svc::Kind(kFs, 3);
  using Reply = StatusReply;
  Lent path;
  uint64_t out = 0;  // Stat*
};

struct FstatRequest {
  static constexpr auto kKind = svc::Kind(kFs, 4);
  using Reply = StatusReply;
  uint32_t handle = 0;
  uint64_t out = 0;  // Stat*
};

struct ReadDirRequest {
  static constexpr auto kKind = svc::Kind(kFs, 5);
  using Reply = ReadDirReply;
  uint32_t handle = 0;
  uint64_t cursor = 0;
  uint64_t out = 0;  // DirEntry*
};

struct CreateRequest {
  static constexpr auto kKind = svc::Kind(kFs, 6);
  using Reply = ValueReply;
  Lent path;
  uint16_t mode = 0;
};

struct WriteRequest {
  static constexpr auto kKind = svc::Kind(kFs, 7);
  using Reply = ValueReply;
  uint32_t handle = 0;
  uint64_t offset = 0;
  Lent data;
};

struct TruncateRequest {
  static constexpr auto kKind = svc::Kind(kFs, 8);
  using Reply = StatusReply;
  uint32_t handle = 0;
  uint64_t size = 0;
};

struct MkdirRequest {
  static constexpr auto kKind = svc::Kind(kFs, 9);
  using Reply = ValueReply;
  Lent path;
  uint16_t mode = 0;
};

struct UnlinkRequest {
  static constexpr auto kKind = svc::Kind(kFs, 10);
  using Reply = StatusReply;
  Lent path;
};

struct RmdirRequest {
  static constexpr auto kKind = svc::Kind(kFs, 11);
  using Reply = StatusReply;
  Lent path;
};

struct RenameRequest {
  static constexpr auto kKind = svc::Kind(kFs, 12);
  using Reply = StatusReply;
  Lent from;
  Lent to;
};

struct SymlinkRequest {
  static constexpr auto kKind = svc::Kind(kFs, 13);
  using Reply = ValueReply;
  Lent path;
  Lent target;
};

struct SyncRequest {
  static constexpr auto kKind = svc::Kind(kFs, 14);
  using Reply = StatusReply;
  uint32_t reserved = 0;
};

struct ReadPathRequest {
  static constexpr auto kKind = svc::Kind(kFs, 15);
  using Reply = ReadPathReply;
  Lent path;
  uint64_t offset = 0;
  Lent out;
};

}  // namespace uk::fs
