#pragma once
// The filesystem service's messages (services/fs/fs_service.h): one body
// type per operation, each with its own kind from fs's range
// (services/runtime/registry.h), and five reply bodies. Every body fits a
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
//   LendRequest       path, offset, max_length,         LendReply: lease, bytes, extents, Stat
//                     release (a lease to end first)
//   ReleaseRequest    lease                             StatusReply, if the sender wants one
//
// ReadPath is open + fstat + read + close in one round trip, for readers
// that want a file by name (the web server): a small file costs one
// message each way. For a directory it answers kIsDirectory with the
// directory's Stat, and reads nothing.
//
// Lend is ReadPath without the copy: the service pins the cache pages that
// hold [offset, offset + bytes) of the file and answers with a lease, which
// names a LeaseExtents list in the service's memory. The memory rules turn
// around here:
//   - the extent list and the pages it points into belong to the fs
//     service. The borrower may read them, from any core, from the reply
//     until it sends ReleaseRequest, and must never write them. (Both are
//     written before the reply is published, so the reply ring's release and
//     acquire make them visible to the borrower's core.)
//   - the lease holds the pages: they are not evicted or reused until the
//     release. Writes to the file are not held off: a concurrent write (or a
//     truncate or unlink whose blocks get reused) changes the lent bytes in
//     place, as Linux sendfile's pages do. Readers that need a snapshot copy.
//   - holes of a sparse file are lent as extents into one shared page of
//     zeros (fs memory too, never written).
//   - bytes may be fewer than max_length: at most LeaseExtents::kMaxExtents
//     extents are lent per lease (a page, or a block with 1 KiB blocks that
//     are not adjacent on the disk, is one extent); ask again at
//     offset + bytes for the rest. bytes 0 (at or past the end of the file)
//     comes with lease 0, which needs no release.
//   - leases are limited (FsService::kMaxLeases, then kTooManyLeases) and so
//     are lent pages (half the cache, then kCacheBusy), so a borrower that
//     never releases can starve lending but not ordinary reads.
// ReleaseRequest ends a lease. It is meant to be sent without waiting
// (svc::Send, no kFlagWantsReply): the service answers only a sender that
// asked. A lease already released, or never issued, is counted and ignored.

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

// Answers LendRequest. `extents` is the address of the lease's
// LeaseExtents in fs memory (see the top of the file), 0 with lease 0.
struct LendReply {
  static constexpr auto kKind = svc::Kind(kFs, 0x24);
  int32_t error = 0;
  uint32_t lease = 0;    // handle for ReleaseRequest; 0: nothing lent
  uint64_t bytes = 0;    // the extents' lengths, summed
  uint64_t extents = 0;  // const LeaseExtents*
  FsReplyStat stat{};
};

// One run of lent bytes, inside one cache page (or the shared zero page).
struct LentExtent {
  const uint8_t* data = nullptr;
  uint32_t length = 0;
  uint32_t reserved = 0;
};

// A lease's extents, in file order, covering [offset, offset + bytes).
// Written by the fs service before its reply, read-only to the borrower.
struct LeaseExtents {
  static constexpr uint32_t kMaxExtents = 16;
  uint32_t count = 0;
  uint32_t reserved = 0;
  LentExtent extents[kMaxExtents];
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

struct LendRequest {
  static constexpr auto kKind = svc::Kind(kFs, 16);
  using Reply = LendReply;
  Lent path;
  uint64_t offset = 0;
  uint32_t max_length = 0;
  uint32_t release = 0;  // a lease to end first, as a ReleaseRequest would; 0: none
};

struct ReleaseRequest {
  static constexpr auto kKind = svc::Kind(kFs, 17);
  using Reply = StatusReply;  // kOk, or kBadHandle; sent only if asked for
  uint32_t lease = 0;
};

}  // namespace uk::fs
