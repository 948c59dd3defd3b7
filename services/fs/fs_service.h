#pragma once
// The filesystem service: one thread on the core that owns the disk, serving
// the requests of fs_protocol.h from any core through its inbox, one handler
// per request (Routes()). It owns the ext2 filesystem object, the block
// cache under it and the open-file table; no other thread touches them, so
// none of them needs a lock.
//
// A disk that does not mount (corrupt, not ext2, unsupported features) does
// not stop the service: it answers every request with the mount error, so
// clients get a clear reason instead of a hang.
//
// Write-side requests end with a cache flush: when the reply arrives, the
// change is on the disk, unless the change failed halfway: then what it
// left in the cache stays dirty until the next flush. A graceful shutdown
// stops the service (Stop(), services/runtime/service.h): after every
// request sent before it, it flushes once more if anything was written
// since the mount, and from then on it refuses every change with kStopped;
// reads go on. So the disk the VM leaves behind is the one the
// last change before the stop wrote, never half of a later one.
//
// Lending (LendRequest, fs_protocol.h): a service given the block cache
// lends pinned cache pages by reference. The leases live in a table here
// (kMaxLeases); each holds its LeaseExtents, which the borrower reads in
// place until it releases the lease. Without a cache (a MemoryBlockDevice)
// Lend answers kUnsupported.
//
// Portable: host tests run it over an in-memory disk with cores as threads.

#include <cstdint>
#include <span>

#include "ipc/stat_counter.h"
#include "services/fs/block_cache.h"
#include "services/fs/block_device.h"
#include "services/fs/ext2.h"
#include "services/fs/fs_protocol.h"
#include "services/runtime/handle_table.h"
#include "services/runtime/request_service.h"

namespace uk::fs {

class FsService final : public svc::RequestService<FsService> {
 public:
  static constexpr uint32_t kMaxOpenFiles = 1024;  // a web server opens one per busy connection

  // Live leases at most; each holds up to LeaseExtents::kMaxExtents pins.
  static constexpr uint32_t kMaxLeases = 256;

  // Lease counters, readable from any core.
  struct LendStats {
    uint64_t granted = 0;       // leases handed out
    uint64_t released = 0;      // leases ended by ReleaseRequest
    uint64_t refused = 0;       // Lend refused: kTooManyLeases or kCacheBusy
    uint64_t bad_releases = 0;  // Release of a lease that was not live
    uint64_t live = 0;          // granted - released
  };

  // `unix_time_at_boot`: wall-clock seconds when the scheduler clock read 0,
  // for file timestamps (0 if unknown). `lender`: the cache under `device`
  // (usually `device` itself), whose pages Lend pins; nullptr for none.
  FsService(BlockDevice& device, uint32_t unix_time_at_boot, BlockCache* lender = nullptr);

  // Mounts the device (on the service's core, before Start). The result is
  // also what every request gets back if it failed.
  Error Mount();
  Ext2& filesystem() { return ext2_; }

  static std::span<const svc::Route<FsService>> Routes();
  // Non-zero (the mount error) while the disk is not mounted.
  int32_t Refusal() const { return static_cast<int32_t>(mount_error_); }

  LendStats lend_stats() const;

 protected:
  int32_t Stop() override;

 private:
  struct OpenFile {
    uint32_t inode = 0;
  };

  ValueReply Open(const OpenRequest& request);
  StatusReply Close(const CloseRequest& request);
  ValueReply Read(const ReadRequest& request);
  StatusReply StatPath(const StatRequest& request);
  StatusReply Fstat(const FstatRequest& request);
  ReadDirReply ReadDir(const ReadDirRequest& request);
  ValueReply Create(const CreateRequest& request);
  ValueReply Write(const WriteRequest& request);
  StatusReply Truncate(const TruncateRequest& request);
  ValueReply Mkdir(const MkdirRequest& request);
  StatusReply Unlink(const UnlinkRequest& request);
  StatusReply Rmdir(const RmdirRequest& request);
  StatusReply Rename(const RenameRequest& request);
  ValueReply Symlink(const SymlinkRequest& request);
  StatusReply Sync(const SyncRequest& request);
  ReadPathReply ReadPath(const ReadPathRequest& request);
  LendReply Lend(const LendRequest& request);
  StatusReply Release(const ReleaseRequest& request);

  // The inode of the open file `handle`, read from the disk, into *inode.
  Error ReadOpenInode(uint32_t handle, Inode* inode);
  Result<uint32_t> OpenInode(uint32_t inode);
  // Flushes a change to the disk: `error` if the change failed, else the
  // flush's result.
  Error Flushed(Error error);
  // The same for a change with a value: its error, the flush's, or the value.
  template <typename T>
  ValueReply FlushedValue(const Result<T>& result);
  void UpdateClock();
  // Opens a write-side request: kStopped once Stop() ran (the change is
  // refused), else kOk, noting that the disk may have changed.
  Error BeginChange() {
    if (stopped_) return Error::kStopped;
    changed_ = true;
    return Error::kOk;
  }

  BlockDevice& device_;
  const uint32_t unix_time_at_boot_;
  Error mount_error_ = Error::kNotMounted;
  Ext2 ext2_;
  svc::HandleTable<OpenFile, kMaxOpenFiles> files_;
  BlockCache* const lender_;
  // Each lease's extents, read in place by its borrower until released.
  svc::HandleTable<LeaseExtents, kMaxLeases> leases_;
  ipc::StatCounter leases_granted_, leases_released_, lends_refused_, bad_releases_;
  // The service's thread only: Stop() ran; a write-side request came since
  // the mount (Stop flushes only then: a disk nobody changed, a read-only
  // site disk say, is not written at all).
  bool stopped_ = false;
  bool changed_ = false;
};

}  // namespace uk::fs
