#pragma once
// What the boot loader tells the kernel, copied out of the PVH start_info
// structure (xen/include/public/arch-x86/hvm/start_info.h) before anything
// can overwrite it.

#include <cstdint>

#include "kernel/lib/cmdline.h"

namespace uk {

struct MemoryRange {
  uint64_t base;
  uint64_t size;
};

struct BootInfo {
  static constexpr int kMaxRanges = 64;
  MemoryRange ram[kMaxRanges];  // usable RAM only
  int ram_count = 0;
  uint64_t rsdp_phys = 0;
  CommandLine command_line;
};

// Returns false with a log line if `start_info_phys` is not a PVH start_info.
bool ReadPvhBootInfo(uint64_t start_info_phys, BootInfo* info);

}  // namespace uk
