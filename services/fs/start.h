#pragma once
// Kernel glue: starts the filesystem service on a core, over the first
// virtio-blk disk, with the driver's interrupts routed to that core.
// Images call it from AppMain; clients then use FsClient(result.address).

#include <cstdint>

#include "services/fs/error.h"
#include "services/runtime/service.h"

namespace uk::fs {

struct FsStartResult {
  bool has_disk = false;  // a virtio-blk disk was found and driven
  Error mount = Error::kNotMounted;  // the service answers with this if not kOk
  uint64_t disk_bytes = 0;
  svc::Address address;   // where the service listens (valid if has_disk)
};

// Blocks until the service is up on `core` (or it is clear there is no
// disk). Call once.
FsStartResult StartFsService(uint32_t core);

}  // namespace uk::fs
