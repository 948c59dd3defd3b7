#include "services/fs/fs_service.h"

#include <span>
#include <string_view>

#include "services/runtime/call.h"

namespace uk::fs {
namespace {

constexpr uint32_t kIndexBits = 10;
static_assert(FsService::kMaxOpenFiles <= 1u << kIndexBits, "handles must hold every index");

// A path lent by the caller; empty (so ext2 says kInvalidPath) if absent.
std::string_view PathAt(uint64_t address, uint32_t length) {
  if (address == 0 || length == 0 || length >= kMaxPath) return {};
  return {reinterpret_cast<const char*>(address), length};
}

FsReply Status(Error error, uint64_t value = 0, uint64_t value2 = 0) {
  return FsReply{static_cast<int32_t>(error), 0, value, value2, {}};
}

FsReplyStat ReplyStatOf(const Inode& inode) {
  return {inode.size, inode.number, inode.mtime, inode.mode,
          static_cast<uint8_t>(inode.Type()), 0};
}

template <typename T>
FsReply FromResult(const Result<T>& result) {
  return result.ok() ? Status(Error::kOk, result.value()) : Status(result.error());
}

Stat StatOf(const Inode& inode) {
  return Stat{inode.number, inode.Type(), inode.mode,  inode.links,
              inode.uid,    inode.gid,    inode.size, inode.mtime};
}

bool IsWrite(FsOp op) {
  switch (op) {
    case FsOp::kCreate:
    case FsOp::kWrite:
    case FsOp::kTruncate:
    case FsOp::kMkdir:
    case FsOp::kUnlink:
    case FsOp::kRmdir:
    case FsOp::kRename:
    case FsOp::kSymlink:
    case FsOp::kSync:
      return true;
    default:
      return false;
  }
}

}  // namespace

FsService::FsService(BlockDevice& device, uint32_t unix_time_at_boot)
    : Service("fs", kFsServiceId), device_(device), unix_time_at_boot_(unix_time_at_boot) {}

Error FsService::Mount() {
  mount_error_ = ext2_.Mount(device_);
  return mount_error_;
}

void FsService::Handle(uint32_t, const ipc::Message& message) {
  FsRequest request;
  FsReply reply;
  if (!ipc::Decode(message, &request)) {
    reply = Status(Error::kInvalidArgument);
  } else if (mount_error_ != Error::kOk) {
    reply = Status(mount_error_);
  } else {
    reply = Execute(request);
  }
  if (message.header.flags & ipc::kFlagWantsReply) svc::Reply(message, ipc::MakeMessage(reply, 0, 0));
}

void FsService::UpdateClock() {
  const uint64_t seconds = sched::Scheduler::Current().NowNs() / 1000000000;
  ext2_.SetTime(static_cast<uint32_t>(unix_time_at_boot_ + seconds));
}

FsService::OpenFile* FsService::Find(uint32_t handle) {
  const uint32_t index = handle & ((1u << kIndexBits) - 1);
  if (index >= kMaxOpenFiles) return nullptr;
  OpenFile& file = files_[index];
  if (!file.in_use || file.generation != (handle >> kIndexBits)) return nullptr;
  return &file;
}

Result<uint32_t> FsService::OpenInode(uint32_t inode) {
  for (uint32_t index = 0; index < kMaxOpenFiles; ++index) {
    OpenFile& file = files_[index];
    if (file.in_use) continue;
    file.in_use = true;
    file.inode = inode;
    return (uint32_t{file.generation} << kIndexBits) | index;
  }
  return Error::kTooManyOpenFiles;
}

FsReply FsService::Execute(const FsRequest& request) {
  const std::string_view path = PathAt(request.address, request.length);
  const std::string_view path2 = PathAt(request.address2, request.length2);
  if (IsWrite(request.op)) UpdateClock();

  // Operations on an open file first: they start from its handle, and the
  // reading ones from its inode (write, truncate and close need only the
  // number).
  OpenFile* file = nullptr;
  Inode inode;
  switch (request.op) {
    case FsOp::kRead:
    case FsOp::kFstat:
    case FsOp::kReadDir:
    case FsOp::kClose:
    case FsOp::kWrite:
    case FsOp::kTruncate: {
      file = Find(request.handle);
      if (file == nullptr) return Status(Error::kBadHandle);
      const bool reads = request.op == FsOp::kRead || request.op == FsOp::kFstat ||
                         request.op == FsOp::kReadDir;
      if (const Error e = reads ? ext2_.ReadInode(file->inode, &inode) : Error::kOk;
          e != Error::kOk) {
        return Status(e);
      }
      break;
    }
    default:
      break;
  }
  const bool buffer_ok = request.address != 0 || request.length == 0;

  switch (request.op) {
    case FsOp::kOpen: {
      const Result<uint32_t> number = ext2_.Lookup(path);
      return FromResult(number.ok() ? OpenInode(number.value()) : number);
    }
    case FsOp::kClose:
      file->in_use = false;
      ++file->generation;
      return Status(Error::kOk);
    case FsOp::kRead:
      if (!buffer_ok) return Status(Error::kInvalidArgument);
      if (inode.Type() == FileType::kDirectory) return Status(Error::kIsDirectory);
      return FromResult(ext2_.ReadFile(
          inode, request.offset, {reinterpret_cast<uint8_t*>(request.address), request.length}));
    case FsOp::kStat: {
      if (request.address2 == 0) return Status(Error::kInvalidArgument);
      const Result<uint32_t> number = ext2_.Lookup(path);
      if (!number.ok()) return Status(number.error());
      if (const Error e = ext2_.ReadInode(number.value(), &inode); e != Error::kOk) {
        return Status(e);
      }
      *reinterpret_cast<Stat*>(request.address2) = StatOf(inode);
      return Status(Error::kOk);
    }
    case FsOp::kFstat:
      if (request.address2 == 0) return Status(Error::kInvalidArgument);
      *reinterpret_cast<Stat*>(request.address2) = StatOf(inode);
      return Status(Error::kOk);
    case FsOp::kReadDir: {
      if (request.address2 == 0) return Status(Error::kInvalidArgument);
      if (inode.Type() != FileType::kDirectory) return Status(Error::kNotDirectory);
      DirCursor cursor{request.offset};
      const Result<bool> more =
          ext2_.ReadDir(inode, &cursor, reinterpret_cast<DirEntry*>(request.address2));
      if (!more.ok()) return Status(more.error());
      return Status(Error::kOk, cursor.offset, more.value() ? 1 : 0);
    }
    case FsOp::kCreate: {
      const Result<uint32_t> number = ext2_.Create(path, request.mode);
      if (!number.ok()) return Status(number.error());
      const Error synced = ext2_.Sync();
      if (synced != Error::kOk) return Status(synced);
      return FromResult(OpenInode(number.value()));
    }
    case FsOp::kWrite: {
      if (!buffer_ok) return Status(Error::kInvalidArgument);
      const Result<size_t> written = ext2_.WriteFile(
          file->inode, request.offset,
          {reinterpret_cast<const uint8_t*>(request.address), request.length});
      if (!written.ok()) return Status(written.error());
      const Error synced = ext2_.Sync();
      return synced == Error::kOk ? Status(Error::kOk, written.value()) : Status(synced);
    }
    case FsOp::kTruncate: {
      const Error e = ext2_.Truncate(file->inode, request.offset);
      return Status(e != Error::kOk ? e : ext2_.Sync());
    }
    case FsOp::kMkdir: {
      const Result<uint32_t> number = ext2_.Mkdir(path, request.mode);
      if (!number.ok()) return Status(number.error());
      const Error synced = ext2_.Sync();
      return synced == Error::kOk ? Status(Error::kOk, number.value()) : Status(synced);
    }
    case FsOp::kSymlink: {
      const Result<uint32_t> number = ext2_.Symlink(path, path2);
      if (!number.ok()) return Status(number.error());
      const Error synced = ext2_.Sync();
      return synced == Error::kOk ? Status(Error::kOk, number.value()) : Status(synced);
    }
    case FsOp::kUnlink:
    case FsOp::kRmdir:
    case FsOp::kRename: {
      const Error e = request.op == FsOp::kUnlink  ? ext2_.Unlink(path)
                      : request.op == FsOp::kRmdir ? ext2_.Rmdir(path)
                                                   : ext2_.Rename(path, path2);
      return Status(e != Error::kOk ? e : ext2_.Sync());
    }
    case FsOp::kSync:
      return Status(ext2_.Sync());
    case FsOp::kReadPath: {
      if (request.address2 == 0 && request.length2 > 0) return Status(Error::kInvalidArgument);
      const Result<uint32_t> number = ext2_.Lookup(path);
      if (!number.ok()) return Status(number.error());
      if (const Error e = ext2_.ReadInode(number.value(), &inode); e != Error::kOk) {
        return Status(e);
      }
      FsReply reply = Status(Error::kOk);
      reply.stat = ReplyStatOf(inode);
      if (inode.Type() == FileType::kDirectory) {
        reply.error = static_cast<int32_t>(Error::kIsDirectory);
        return reply;
      }
      const Result<size_t> read = ext2_.ReadFile(
          inode, request.offset, {reinterpret_cast<uint8_t*>(request.address2), request.length2});
      if (!read.ok()) return Status(read.error());
      reply.value = read.value();
      return reply;
    }
  }
  return Status(Error::kInvalidArgument);  // an op this service does not know
}

}  // namespace uk::fs
