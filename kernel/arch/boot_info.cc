#include "kernel/arch/boot_info.h"

#include "kernel/arch/paging.h"
#include "kernel/lib/log.h"

namespace uk {
namespace {

struct StartInfo {
  uint32_t magic;  // kPvhMagic
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;  // version >= 1
  uint32_t memmap_entries;
  uint32_t reserved;
};
static_assert(sizeof(StartInfo) == 56);

struct MemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // 1 = RAM
  uint32_t reserved;
};
static_assert(sizeof(MemmapEntry) == 24);

constexpr uint32_t kPvhMagic = 0x336ec578;
constexpr uint32_t kRam = 1;

}  // namespace

bool ReadPvhBootInfo(uint64_t start_info_phys, BootInfo* info) {
  if (start_info_phys == 0 || start_info_phys >= arch::kDirectMapLimit) {
    Log(LogLevel::kError, "boot: start_info at 0x%lx is out of reach", start_info_phys);
    return false;
  }
  const auto* start = arch::PhysToVirt<const StartInfo>(start_info_phys);
  if (start->magic != kPvhMagic) {
    Log(LogLevel::kError, "boot: bad PVH magic 0x%x", start->magic);
    return false;
  }
  if (start->version < 1 || start->memmap_paddr == 0) {
    Log(LogLevel::kError, "boot: PVH start_info v%u has no memory map", start->version);
    return false;
  }
  info->rsdp_phys = start->rsdp_paddr;
  if (start->cmdline_paddr != 0 && start->cmdline_paddr < arch::kDirectMapLimit) {
    const char* text = arch::PhysToVirt<const char>(start->cmdline_paddr);
    size_t length = 0;
    while (length <= CommandLine::kMaxLength && text[length] != '\0') ++length;
    info->command_line = CommandLine(std::string_view(text, length));
  }
  const auto* entries = arch::PhysToVirt<const MemmapEntry>(start->memmap_paddr);
  for (uint32_t i = 0; i < start->memmap_entries; ++i) {
    if (entries[i].type != kRam || entries[i].size == 0) continue;
    if (info->ram_count == BootInfo::kMaxRanges) {
      Log(LogLevel::kWarn, "boot: more than %d RAM ranges; ignoring the rest",
          BootInfo::kMaxRanges);
      break;
    }
    info->ram[info->ram_count++] = {entries[i].addr, entries[i].size};
  }
  return info->ram_count > 0;
}

}  // namespace uk
