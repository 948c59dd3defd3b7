#include "services/fs/fs_client.h"

#include "services/fs/fs_protocol.h"
#include "services/runtime/call.h"

namespace uk::fs {

FsClient::Answer FsClient::Send(FsOp op, uint32_t handle, uint64_t offset, const void* address,
                                uint64_t length, const void* address2, uint64_t length2,
                                uint16_t mode) {
  // Lengths travel as 32 bits: larger requests are refused, not truncated.
  if (length > UINT32_MAX || length2 > UINT32_MAX) return {Error::kInvalidArgument, 0, 0, {}};
  FsRequest request{};
  request.op = op;
  request.handle = handle;
  request.offset = offset;
  request.address = reinterpret_cast<uint64_t>(address);
  request.length = static_cast<uint32_t>(length);
  request.address2 = reinterpret_cast<uint64_t>(address2);
  request.length2 = static_cast<uint32_t>(length2);
  request.mode = mode;
  ipc::Message message = ipc::MakeMessage(request, 0, 0);
  if (svc::Call(server_, message) != svc::SendStatus::kOk) return {Error::kNoService, 0, 0, {}};
  FsReply reply;
  if (!ipc::Decode(message, &reply)) return {Error::kNoService, 0, 0, {}};
  return {static_cast<Error>(reply.error), reply.value, reply.value2, reply.stat};
}

Result<uint32_t> FsClient::Open(std::string_view path) {
  const Answer a = Send(FsOp::kOpen, 0, 0, path.data(), path.size());
  if (a.error != Error::kOk) return a.error;
  return static_cast<uint32_t>(a.value);
}

Error FsClient::Close(uint32_t handle) { return Send(FsOp::kClose, handle, 0, nullptr, 0).error; }

Result<size_t> FsClient::Read(uint32_t handle, uint64_t offset, std::span<uint8_t> out) {
  const Answer a = Send(FsOp::kRead, handle, offset, out.data(), out.size());
  if (a.error != Error::kOk) return a.error;
  return static_cast<size_t>(a.value);
}

Result<Stat> FsClient::StatPath(std::string_view path) {
  Stat stat;
  const Answer a = Send(FsOp::kStat, 0, 0, path.data(), path.size(), &stat, sizeof(stat));
  if (a.error != Error::kOk) return a.error;
  return stat;
}

Result<Stat> FsClient::StatHandle(uint32_t handle) {
  Stat stat;
  const Answer a = Send(FsOp::kFstat, handle, 0, nullptr, 0, &stat, sizeof(stat));
  if (a.error != Error::kOk) return a.error;
  return stat;
}

Result<bool> FsClient::ReadDir(uint32_t handle, DirCursor* cursor, DirEntry* out) {
  const Answer a = Send(FsOp::kReadDir, handle, cursor->offset, nullptr, 0, out, sizeof(*out));
  if (a.error != Error::kOk) return a.error;
  cursor->offset = a.value;
  return a.value2 != 0;
}

Result<size_t> FsClient::ReadPath(std::string_view path, uint64_t offset,
                                  std::span<uint8_t> out, Stat* stat) {
  const Answer a = Send(FsOp::kReadPath, 0, offset, path.data(), path.size(), out.data(),
                        out.size());
  if (stat != nullptr && (a.error == Error::kOk || a.error == Error::kIsDirectory)) {
    *stat = Stat{a.stat.inode, static_cast<FileType>(a.stat.type), a.stat.mode, 0, 0, 0,
                 a.stat.size, a.stat.mtime};
  }
  if (a.error != Error::kOk) return a.error;
  return static_cast<size_t>(a.value);
}

Result<uint32_t> FsClient::Create(std::string_view path, uint16_t permissions) {
  const Answer a = Send(FsOp::kCreate, 0, 0, path.data(), path.size(), nullptr, 0, permissions);
  if (a.error != Error::kOk) return a.error;
  return static_cast<uint32_t>(a.value);
}

Result<size_t> FsClient::Write(uint32_t handle, uint64_t offset, std::span<const uint8_t> data) {
  const Answer a = Send(FsOp::kWrite, handle, offset, data.data(), data.size());
  if (a.error != Error::kOk) return a.error;
  return static_cast<size_t>(a.value);
}

Error FsClient::Truncate(uint32_t handle, uint64_t size) {
  return Send(FsOp::kTruncate, handle, size, nullptr, 0).error;
}

Result<uint32_t> FsClient::Mkdir(std::string_view path, uint16_t permissions) {
  const Answer a = Send(FsOp::kMkdir, 0, 0, path.data(), path.size(), nullptr, 0, permissions);
  if (a.error != Error::kOk) return a.error;
  return static_cast<uint32_t>(a.value);
}

Result<uint32_t> FsClient::Symlink(std::string_view path, std::string_view target) {
  const Answer a =
      Send(FsOp::kSymlink, 0, 0, path.data(), path.size(), target.data(), target.size());
  if (a.error != Error::kOk) return a.error;
  return static_cast<uint32_t>(a.value);
}

Error FsClient::Unlink(std::string_view path) {
  return Send(FsOp::kUnlink, 0, 0, path.data(), path.size()).error;
}

Error FsClient::Rmdir(std::string_view path) {
  return Send(FsOp::kRmdir, 0, 0, path.data(), path.size()).error;
}

Error FsClient::Rename(std::string_view from, std::string_view to) {
  return Send(FsOp::kRename, 0, 0, from.data(), from.size(), to.data(), to.size()).error;
}

Error FsClient::Sync() { return Send(FsOp::kSync, 0, 0, nullptr, 0).error; }

}  // namespace uk::fs
