#include "services/fs/fs_client.h"

#include "services/fs/fs_protocol.h"
#include "services/runtime/request_service.h"

namespace uk::fs {
namespace {

// The caller's bytes, lent until the reply. Lengths travel as 32 bits:
// larger requests are refused (kInvalidArgument), not truncated.
bool LendBuffer(const void* address, size_t length, Lent* out) {
  if (length > UINT32_MAX) return false;
  *out = {reinterpret_cast<uint64_t>(address), static_cast<uint32_t>(length), 0};
  return true;
}

Lent LendPath(std::string_view path) {
  Lent lent;
  // A path too long for 32 bits is longer than kMaxPath too: lend none, and
  // the service answers kInvalidPath.
  if (!LendBuffer(path.data(), path.size(), &lent)) return {};
  return lent;
}

template <typename Reply>
Error ErrorOf(const Reply& reply) {
  return static_cast<Error>(reply.error);
}

template <typename T>
Result<T> ValueOf(const ValueReply& reply) {
  if (reply.error != 0) return ErrorOf(reply);
  return static_cast<T>(reply.value);
}

Stat StatOf(const FsReplyStat& stat) {
  return Stat{stat.inode, static_cast<FileType>(stat.type), stat.mode, 0, 0, 0, stat.size,
              stat.mtime};
}

}  // namespace

template <typename Request>
typename Request::Reply FsClient::Ask(const Request& request) {
  typename Request::Reply reply{};
  if (svc::CallService(server_, request, &reply) != svc::SendStatus::kOk) {
    reply = {};
    reply.error = static_cast<int32_t>(Error::kNoService);
  }
  return reply;
}

Result<uint32_t> FsClient::Open(std::string_view path) {
  return ValueOf<uint32_t>(Ask(OpenRequest{LendPath(path)}));
}

Error FsClient::Close(uint32_t handle) { return ErrorOf(Ask(CloseRequest{handle})); }

Result<size_t> FsClient::Read(uint32_t handle, uint64_t offset, std::span<uint8_t> out) {
  ReadRequest request{handle, offset, {}};
  if (!LendBuffer(out.data(), out.size(), &request.out)) return Error::kInvalidArgument;
  return ValueOf<size_t>(Ask(request));
}

Result<Stat> FsClient::StatPath(std::string_view path) {
  Stat stat;
  const Error e = ErrorOf(Ask(StatRequest{LendPath(path), reinterpret_cast<uint64_t>(&stat)}));
  if (e != Error::kOk) return e;
  return stat;
}

Result<Stat> FsClient::StatHandle(uint32_t handle) {
  Stat stat;
  const Error e = ErrorOf(Ask(FstatRequest{handle, reinterpret_cast<uint64_t>(&stat)}));
  if (e != Error::kOk) return e;
  return stat;
}

Result<bool> FsClient::ReadDir(uint32_t handle, DirCursor* cursor, DirEntry* out) {
  const ReadDirReply reply =
      Ask(ReadDirRequest{handle, cursor->offset, reinterpret_cast<uint64_t>(out)});
  if (reply.error != 0) return ErrorOf(reply);
  cursor->offset = reply.next_cursor;
  return reply.produced != 0;
}

Result<size_t> FsClient::ReadPath(std::string_view path, uint64_t offset,
                                  std::span<uint8_t> out, Stat* stat) {
  ReadPathRequest request{LendPath(path), offset, {}};
  if (!LendBuffer(out.data(), out.size(), &request.out)) return Error::kInvalidArgument;
  const ReadPathReply reply = Ask(request);
  const Error e = ErrorOf(reply);
  if (stat != nullptr && (e == Error::kOk || e == Error::kIsDirectory)) *stat = StatOf(reply.stat);
  if (e != Error::kOk) return e;
  return static_cast<size_t>(reply.bytes);
}

Result<Lease> FsClient::Lend(std::string_view path, uint64_t offset, uint32_t max_length,
                             Stat* stat, uint32_t release) {
  const LendReply reply = Ask(LendRequest{LendPath(path), offset, max_length, release});
  const Error e = ErrorOf(reply);
  if (stat != nullptr && (e == Error::kOk || e == Error::kIsDirectory)) *stat = StatOf(reply.stat);
  if (e != Error::kOk) return e;
  if (reply.lease == 0) return Lease{};
  const auto* extents = reinterpret_cast<const LeaseExtents*>(reply.extents);
  return Lease{reply.lease, reply.bytes, {extents->extents, extents->count}};
}

Error FsClient::Release(uint32_t id) {
  if (id == 0) return Error::kOk;
  // No kFlagWantsReply: the service answers nobody, and we wait for nothing
  // but ring space.
  const svc::SendStatus status = svc::Send(server_, ipc::MakeMessage(ReleaseRequest{id}, 0, 0));
  return status == svc::SendStatus::kOk ? Error::kOk : Error::kNoService;
}

Result<uint32_t> FsClient::Create(std::string_view path, uint16_t permissions) {
  return ValueOf<uint32_t>(Ask(CreateRequest{LendPath(path), permissions}));
}

Result<size_t> FsClient::Write(uint32_t handle, uint64_t offset, std::span<const uint8_t> data) {
  WriteRequest request{handle, offset, {}};
  if (!LendBuffer(data.data(), data.size(), &request.data)) return Error::kInvalidArgument;
  return ValueOf<size_t>(Ask(request));
}

Error FsClient::Truncate(uint32_t handle, uint64_t size) {
  return ErrorOf(Ask(TruncateRequest{handle, size}));
}

Result<uint32_t> FsClient::Mkdir(std::string_view path, uint16_t permissions) {
  return ValueOf<uint32_t>(Ask(MkdirRequest{LendPath(path), permissions}));
}

Result<uint32_t> FsClient::Symlink(std::string_view path, std::string_view target) {
  return ValueOf<uint32_t>(Ask(SymlinkRequest{LendPath(path), LendPath(target)}));
}

Error FsClient::Unlink(std::string_view path) { return ErrorOf(Ask(UnlinkRequest{LendPath(path)})); }

Error FsClient::Rmdir(std::string_view path) { return ErrorOf(Ask(RmdirRequest{LendPath(path)})); }

Error FsClient::Rename(std::string_view from, std::string_view to) {
  return ErrorOf(Ask(RenameRequest{LendPath(from), LendPath(to)}));
}

Error FsClient::Sync() { return ErrorOf(Ask(SyncRequest{})); }

}  // namespace uk::fs
