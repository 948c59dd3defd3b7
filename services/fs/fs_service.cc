#include "services/fs/fs_service.h"

#include <string_view>

#include "services/fs/lend.h"
#include "services/runtime/result.h"

namespace uk::fs {
namespace {

// A path lent by the caller; empty (so ext2 says kInvalidPath) if absent.
std::string_view PathOf(const Lent& lent) {
  if (lent.address == 0 || lent.length == 0 || lent.length >= kMaxPath) return {};
  return {reinterpret_cast<const char*>(lent.address), lent.length};
}

// The caller's buffer, or an empty span for none.
std::span<uint8_t> BufferOf(const Lent& lent) {
  return {reinterpret_cast<uint8_t*>(lent.address), lent.address == 0 ? 0 : lent.length};
}

// A null buffer with a non-zero length is the caller's mistake.
bool Valid(const Lent& lent) { return lent.address != 0 || lent.length == 0; }

int32_t Code(Error error) { return static_cast<int32_t>(error); }

StatusReply Status(Error error) { return {Code(error)}; }

template <typename T>
ValueReply Value(const Result<T>& result) {
  if (!result.ok()) return {Code(result.error()), 0, 0};
  return {0, 0, static_cast<uint64_t>(result.value())};
}

FsReplyStat ReplyStatOf(const Inode& inode) {
  return {inode.size, inode.number, inode.mtime, inode.mode,
          static_cast<uint8_t>(inode.Type()), 0};
}

Stat StatOf(const Inode& inode) {
  return Stat{inode.number, inode.Type(), inode.mode,  inode.links,
              inode.uid,    inode.gid,    inode.size, inode.mtime};
}

}  // namespace

std::span<const svc::Route<FsService>> FsService::Routes() {
  static constexpr svc::Route<FsService> kRoutes[] = {
      svc::On<&FsService::Open>(),     svc::On<&FsService::Close>(),
      svc::On<&FsService::Read>(),     svc::On<&FsService::StatPath>(),
      svc::On<&FsService::Fstat>(),    svc::On<&FsService::ReadDir>(),
      svc::On<&FsService::Create>(),   svc::On<&FsService::Write>(),
      svc::On<&FsService::Truncate>(), svc::On<&FsService::Mkdir>(),
      svc::On<&FsService::Unlink>(),   svc::On<&FsService::Rmdir>(),
      svc::On<&FsService::Rename>(),   svc::On<&FsService::Symlink>(),
      svc::On<&FsService::Sync>(),     svc::On<&FsService::ReadPath>(),
      svc::On<&FsService::Lend>(),     svc::On<&FsService::Release>(),
  };
  return kRoutes;
}

FsService::FsService(BlockDevice& device, uint32_t unix_time_at_boot, BlockCache* lender)
    : RequestService("fs", kFsServiceId),
      device_(device),
      unix_time_at_boot_(unix_time_at_boot),
      lender_(lender) {}

FsService::LendStats FsService::lend_stats() const {
  const uint64_t granted = leases_granted_.Get(), released = leases_released_.Get();
  return {granted, released, lends_refused_.Get(), bad_releases_.Get(), granted - released};
}

Error FsService::Mount() {
  mount_error_ = ext2_.Mount(device_);
  return mount_error_;
}

void FsService::UpdateClock() {
  const uint64_t seconds = sched::Scheduler::Current().NowNs() / 1000000000;
  ext2_.SetTime(static_cast<uint32_t>(unix_time_at_boot_ + seconds));
}

Error FsService::Flushed(Error error) { return error != Error::kOk ? error : ext2_.Sync(); }

Error FsService::ReadOpenInode(uint32_t handle, Inode* inode) {
  const OpenFile* file = files_.Find(handle);
  if (file == nullptr) return Error::kBadHandle;
  return ext2_.ReadInode(file->inode, inode);
}

Result<uint32_t> FsService::OpenInode(uint32_t inode) {
  uint32_t handle = 0;
  OpenFile* file = files_.Open(&handle);
  if (file == nullptr) return Error::kTooManyOpenFiles;
  file->inode = inode;
  return handle;
}

// ---- Reading ----

ValueReply FsService::Open(const OpenRequest& request) {
  const Result<uint32_t> number = ext2_.Lookup(PathOf(request.path));
  return Value(number.ok() ? OpenInode(number.value()) : number);
}

StatusReply FsService::Close(const CloseRequest& request) {
  return Status(files_.Close(request.handle) ? Error::kOk : Error::kBadHandle);
}

ValueReply FsService::Read(const ReadRequest& request) {
  Inode inode;
  if (const Error e = ReadOpenInode(request.handle, &inode); e != Error::kOk) return {Code(e)};
  if (!Valid(request.out)) return {Code(Error::kInvalidArgument)};
  if (inode.Type() == FileType::kDirectory) return {Code(Error::kIsDirectory)};
  return Value(ext2_.ReadFile(inode, request.offset, BufferOf(request.out)));
}

StatusReply FsService::StatPath(const StatRequest& request) {
  if (request.out == 0) return Status(Error::kInvalidArgument);
  const Result<Stat> stat = ext2_.StatPath(PathOf(request.path));
  if (!stat.ok()) return Status(stat.error());
  *reinterpret_cast<Stat*>(request.out) = stat.value();
  return Status(Error::kOk);
}

StatusReply FsService::Fstat(const FstatRequest& request) {
  Inode inode;
  if (const Error e = ReadOpenInode(request.handle, &inode); e != Error::kOk) return Status(e);
  if (request.out == 0) return Status(Error::kInvalidArgument);
  *reinterpret_cast<Stat*>(request.out) = StatOf(inode);
  return Status(Error::kOk);
}

ReadDirReply FsService::ReadDir(const ReadDirRequest& request) {
  Inode inode;
  if (const Error e = ReadOpenInode(request.handle, &inode); e != Error::kOk) return {Code(e)};
  if (request.out == 0) return {Code(Error::kInvalidArgument)};
  if (inode.Type() != FileType::kDirectory) return {Code(Error::kNotDirectory)};
  DirCursor cursor{request.cursor};
  const Result<bool> more =
      ext2_.ReadDir(inode, &cursor, reinterpret_cast<DirEntry*>(request.out));
  if (!more.ok()) return {Code(more.error())};
  return {0, more.value() ? 1u : 0u, cursor.offset};
}

ReadPathReply FsService::ReadPath(const ReadPathRequest& request) {
  if (!Valid(request.out)) return {Code(Error::kInvalidArgument)};
  const Result<uint32_t> number = ext2_.Lookup(PathOf(request.path));
  if (!number.ok()) return {Code(number.error())};
  Inode inode;
  if (const Error e = ext2_.ReadInode(number.value(), &inode); e != Error::kOk) return {Code(e)};
  ReadPathReply reply;
  reply.stat = ReplyStatOf(inode);
  if (inode.Type() == FileType::kDirectory) {
    reply.error = Code(Error::kIsDirectory);
    return reply;
  }
  const Result<size_t> read = ext2_.ReadFile(inode, request.offset, BufferOf(request.out));
  if (!read.ok()) return {Code(read.error())};
  reply.bytes = read.value();
  return reply;
}

// ---- Lending (fs_protocol.h has the borrower's rules) ----

LendReply FsService::Lend(const LendRequest& request) {
  if (lender_ == nullptr) return {Code(Error::kUnsupported)};
  // The borrower's previous lease first (one message fewer than a
  // ReleaseRequest of its own); a bad one is counted and ignored.
  if (request.release != 0) (void)Release(ReleaseRequest{request.release});
  const Result<uint32_t> number = ext2_.Lookup(PathOf(request.path));
  if (!number.ok()) return {Code(number.error())};
  Inode inode;
  if (const Error e = ext2_.ReadInode(number.value(), &inode); e != Error::kOk) return {Code(e)};
  LendReply reply;
  reply.stat = ReplyStatOf(inode);
  if (inode.Type() == FileType::kDirectory) {
    reply.error = Code(Error::kIsDirectory);
    return reply;
  }
  // Only regular files have their bytes in data blocks (symlinks were
  // followed; device nodes and fifos have none).
  if (inode.Type() != FileType::kRegular) return {Code(Error::kInvalidArgument)};
  uint32_t handle = 0;
  LeaseExtents* extents = leases_.Open(&handle);
  if (extents == nullptr) {
    lends_refused_.Add(1);
    return {Code(Error::kTooManyLeases)};
  }
  const Result<uint64_t> bytes =
      LendExtents(ext2_, *lender_, inode, request.offset, request.max_length, extents);
  if (!bytes.ok() || bytes.value() == 0) {
    (void)leases_.Close(handle);  // nothing pinned: a lease for nothing is not issued
    if (!bytes.ok()) {
      if (bytes.error() == Error::kCacheBusy) lends_refused_.Add(1);
      return {Code(bytes.error())};
    }
    return reply;  // at or past the end: lease 0, no extents
  }
  leases_granted_.Add(1);
  reply.lease = handle;
  reply.bytes = bytes.value();
  reply.extents = reinterpret_cast<uint64_t>(extents);
  return reply;
}

StatusReply FsService::Release(const ReleaseRequest& request) {
  LeaseExtents* extents = leases_.Find(request.lease);
  if (extents == nullptr || lender_ == nullptr) {
    bad_releases_.Add(1);  // never issued, or released already: nothing to undo
    return Status(Error::kBadHandle);
  }
  ReturnExtents(*lender_, extents);
  (void)leases_.Close(request.lease);
  leases_released_.Add(1);
  return Status(Error::kOk);
}

// ---- Writing: each change is flushed before the reply ----

template <typename T>
ValueReply FsService::FlushedValue(const Result<T>& result) {
  if (!result.ok()) return {Code(result.error())};
  if (const Error e = ext2_.Sync(); e != Error::kOk) return {Code(e)};
  return Value(result);
}

ValueReply FsService::Create(const CreateRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return {Code(e)};
  UpdateClock();
  const Result<uint32_t> number = ext2_.Create(PathOf(request.path), request.mode);
  const ValueReply flushed = FlushedValue(number);
  if (flushed.error != 0) return flushed;
  return Value(OpenInode(number.value()));
}

ValueReply FsService::Write(const WriteRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return {Code(e)};
  const OpenFile* file = files_.Find(request.handle);
  if (file == nullptr) return {Code(Error::kBadHandle)};
  if (!Valid(request.data)) return {Code(Error::kInvalidArgument)};
  UpdateClock();
  return FlushedValue(ext2_.WriteFile(file->inode, request.offset, BufferOf(request.data)));
}

StatusReply FsService::Truncate(const TruncateRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return Status(e);
  const OpenFile* file = files_.Find(request.handle);
  if (file == nullptr) return Status(Error::kBadHandle);
  UpdateClock();
  return Status(Flushed(ext2_.Truncate(file->inode, request.size)));
}

ValueReply FsService::Mkdir(const MkdirRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return {Code(e)};
  UpdateClock();
  return FlushedValue(ext2_.Mkdir(PathOf(request.path), request.mode));
}

ValueReply FsService::Symlink(const SymlinkRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return {Code(e)};
  UpdateClock();
  return FlushedValue(ext2_.Symlink(PathOf(request.path), PathOf(request.target)));
}

StatusReply FsService::Unlink(const UnlinkRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return Status(e);
  UpdateClock();
  return Status(Flushed(ext2_.Unlink(PathOf(request.path))));
}

StatusReply FsService::Rmdir(const RmdirRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return Status(e);
  UpdateClock();
  return Status(Flushed(ext2_.Rmdir(PathOf(request.path))));
}

StatusReply FsService::Rename(const RenameRequest& request) {
  if (const Error e = BeginChange(); e != Error::kOk) return Status(e);
  UpdateClock();
  return Status(Flushed(ext2_.Rename(PathOf(request.from), PathOf(request.to))));
}

StatusReply FsService::Sync(const SyncRequest&) {
  if (!stopped_) UpdateClock();  // after the stop the superblock stays as it was left
  return Status(ext2_.Sync());
}

int32_t FsService::Stop() {
  if (stopped_) return 0;
  stopped_ = true;
  if (mount_error_ != Error::kOk || !changed_) return 0;  // nothing to flush
  UpdateClock();
  return Code(ext2_.Sync());
}

}  // namespace uk::fs
