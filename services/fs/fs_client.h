#pragma once
// Client side of the filesystem service: blocking calls from any thread on
// any core. Each call parks the calling thread until the service replies
// (svc::Call without a timeout; see fs_protocol.h for why) and lends the
// service the paths and buffers it passes, until it returns.

#include <cstdint>
#include <span>
#include <string_view>

#include "services/fs/error.h"
#include "services/fs/ext2.h"
#include "services/fs/fs_protocol.h"
#include "services/runtime/service.h"

namespace uk::fs {

// A borrower's view of a lease (fs_protocol.h, LendRequest): `extents` point
// into fs memory, readable from any core and never writable, valid until
// Release(id). id 0 lends nothing and needs no release.
struct Lease {
  uint32_t id = 0;
  uint64_t bytes = 0;  // the extents' lengths, summed
  std::span<const LentExtent> extents;
};

class FsClient {
 public:
  explicit FsClient(svc::Address server) : server_(server) {}
  svc::Address server() const { return server_; }

  // Opens a file or directory (symlinks followed); returns a handle.
  Result<uint32_t> Open(std::string_view path);
  Error Close(uint32_t handle);
  // Reads up to out.size() bytes at `offset`; 0 at end of file.
  Result<size_t> Read(uint32_t handle, uint64_t offset, std::span<uint8_t> out);
  Result<Stat> StatPath(std::string_view path);
  Result<Stat> StatHandle(uint32_t handle);
  // The next entry of an open directory; false at its end.
  Result<bool> ReadDir(uint32_t handle, DirCursor* cursor, DirEntry* out);
  // Up to out.size() bytes of the file at `path` from `offset`, and its Stat,
  // (unless `stat` is null) in one round trip, with no handle to close. A
  // directory gives kIsDirectory, with *stat filled in.
  Result<size_t> ReadPath(std::string_view path, uint64_t offset, std::span<uint8_t> out,
                          Stat* stat);

  // Lends up to `max_length` bytes of the file at `path` from `offset` in
  // place (possibly fewer: at most LeaseExtents::kMaxExtents extents), and
  // its Stat unless `stat` is null. A directory gives kIsDirectory with
  // *stat filled in; kTooManyLeases or kCacheBusy when lending is at its
  // limits (read with ReadPath instead).
  // `release`, if not 0, is a lease of ours the service ends first (as
  // Release would, without a message of its own).
  Result<Lease> Lend(std::string_view path, uint64_t offset, uint32_t max_length, Stat* stat,
                     uint32_t release = 0);
  // Ends lease `id` without waiting for the service (svc::Send with no
  // reply wanted: it waits only while the ring to the service is full). After
  // it the lease's extents must not be read. kNoService if nothing is at the
  // service's address; id 0 sends nothing.
  Error Release(uint32_t id);

  // Write side. Create opens the new file and returns its handle.
  Result<uint32_t> Create(std::string_view path, uint16_t permissions = 0644);
  Result<size_t> Write(uint32_t handle, uint64_t offset, std::span<const uint8_t> data);
  Error Truncate(uint32_t handle, uint64_t size);
  Result<uint32_t> Mkdir(std::string_view path, uint16_t permissions = 0755);
  Result<uint32_t> Symlink(std::string_view path, std::string_view target);
  Error Unlink(std::string_view path);
  Error Rmdir(std::string_view path);
  Error Rename(std::string_view from, std::string_view to);
  Error Sync();

 private:
  // Sends `request` and waits for its reply; kNoService (in reply->error)
  // if the service did not answer it.
  template <typename Request>
  typename Request::Reply Ask(const Request& request);

  svc::Address server_;
};

}  // namespace uk::fs
