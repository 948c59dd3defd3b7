#include "services/fs/start.h"

#include "kernel/arch/paging.h"
#include "kernel/drivers/rtc.h"
#include "kernel/drivers/virtio/blk.h"
#include "kernel/lib/log.h"
#include "kernel/mm/page_allocator.h"
#include "kernel/top/app.h"
#include "services/fs/block_cache.h"
#include "services/fs/fs_service.h"
#include "services/runtime/sched_service.h"

namespace uk::fs {
namespace {

// Cache memory: 8 MiB of pages, halved until the allocator can give it.
constexpr uint32_t kCachePages = 2048;

// `disk_timeout_ms=N` on the kernel command line (the runner's
// --disk_timeout_ms=N): how long the disk may complete nothing before it is
// given up on (tests shorten it).
uint64_t DiskTimeoutNs() {
  constexpr uint64_t kDefaultMs = virtio::BlockDriver::kDefaultTimeoutNs / 1'000'000;
  bool malformed = false;
  const uint64_t ms = KernelCommandLine().GetNumber("disk_timeout_ms", kDefaultMs, &malformed);
  if (malformed || ms == 0 || ms > 3'600'000) {
    Log(LogLevel::kWarn, "fs: disk_timeout_ms must be 1..3600000; using %lu", kDefaultMs);
    return kDefaultMs * 1'000'000;
  }
  return ms * 1'000'000;
}

void StartOnThisCore(void* out) {
  auto* result = static_cast<FsStartResult*>(out);
  virtio::BlockDriver* disk = virtio::BlockDriver::Start(0, DiskTimeoutNs());
  if (disk == nullptr) {
    Log(LogLevel::kInfo, "fs: no virtio-blk disk; the filesystem service is not started");
    return;
  }
  uint32_t pages = kCachePages;
  uint64_t phys = AllocatePages(pages);
  while (phys == 0 && pages / 2 >= BlockCache::kMinSlots) {
    pages /= 2;
    phys = AllocatePages(pages);
  }
  if (phys == 0) {
    Log(LogLevel::kError, "fs: no memory for the block cache");
    return;
  }
  auto* cache = new BlockCache(*disk, arch::PhysToVirt<uint8_t>(phys), pages);
  auto* service = new FsService(*cache, static_cast<uint32_t>(UnixTimeAtBoot()), cache);
  result->mount = service->Mount();
  result->disk_bytes = disk->SectorCount() * kSectorSize;
  if (result->mount == Error::kOk) {
    const Ext2& ext2 = service->filesystem();
    Log(LogLevel::kInfo, "fs: ext2 rev %u, %u-byte blocks, %u blocks, %u inodes; cache %u KiB",
        ext2.revision(), ext2.block_size(), ext2.blocks_count(), ext2.inodes_count(),
        pages * 4);
  } else {
    Log(LogLevel::kError, "fs: the disk does not mount: %s; requests get this error",
        ErrorName(result->mount));
  }
  service->Start();
  result->address = service->address();
  result->has_disk = true;
}

}  // namespace

FsStartResult StartFsService(uint32_t core) {
  FsStartResult result;
  svc::RunOn(core, [&] { StartOnThisCore(&result); }, "fs-start");
  return result;
}

}  // namespace uk::fs
