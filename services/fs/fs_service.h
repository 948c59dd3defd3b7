#pragma once
// The filesystem service: one thread on the core that owns the disk, serving
// FsRequests (fs_protocol.h) from any core through its inbox. It owns the
// ext2 filesystem object, the block cache under it and the open-file table;
// no other thread touches them, so none of them needs a lock.
//
// A disk that does not mount (corrupt, not ext2, unsupported features) does
// not stop the service: it answers every request with the mount error, so
// clients get a clear reason instead of a hang.
//
// Write-side requests end with a cache flush: when the reply arrives, the
// change is on the disk.
//
// Portable: host tests run it over an in-memory disk with cores as threads.

#include <cstdint>

#include "ipc/message.h"
#include "services/fs/block_device.h"
#include "services/fs/ext2.h"
#include "services/fs/fs_protocol.h"
#include "services/runtime/service.h"

namespace uk::fs {

class FsService final : public svc::Service {
 public:
  static constexpr uint32_t kMaxOpenFiles = 1024;  // a web server opens one per busy connection

  // `unix_time_at_boot`: wall-clock seconds when the scheduler clock read 0,
  // for file timestamps (0 if unknown).
  FsService(BlockDevice& device, uint32_t unix_time_at_boot);

  // Mounts the device (on the service's core, before Start). The result is
  // also what every request gets back if it failed.
  Error Mount();
  Ext2& filesystem() { return ext2_; }

 private:
  struct OpenFile {
    uint32_t inode = 0;
    uint16_t generation = 0;  // bumped on close: stale handles are refused
    bool in_use = false;
  };

  void Handle(uint32_t producer, const ipc::Message& message) override;
  FsReply Execute(const FsRequest& request);
  // The open file behind `handle`, or nullptr.
  OpenFile* Find(uint32_t handle);
  Result<uint32_t> OpenInode(uint32_t inode);
  void UpdateClock();

  BlockDevice& device_;
  const uint32_t unix_time_at_boot_;
  Error mount_error_ = Error::kNotMounted;
  Ext2 ext2_;
  OpenFile files_[kMaxOpenFiles];
};

}  // namespace uk::fs
