#include "kernel/arch/acpi.h"

#include "kernel/arch/paging.h"
#include "kernel/lib/log.h"

namespace uk::arch {
namespace {

struct __attribute__((packed)) Rsdp {
  char signature[8];  // "RSD PTR "
  uint8_t checksum;
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt_address;
  uint32_t length;  // revision >= 2 from here on
  uint64_t xsdt_address;
  uint8_t extended_checksum;
  uint8_t reserved[3];
};

struct __attribute__((packed)) SdtHeader {
  char signature[4];
  uint32_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  uint32_t creator_id;
  uint32_t creator_revision;
};

struct __attribute__((packed)) Madt {
  SdtHeader header;
  uint32_t local_apic_address;
  uint32_t flags;
};

constexpr uint8_t kMadtLocalApic = 0, kMadtIoApic = 1, kMadtSourceOverride = 2,
                  kMadtLocalApicOverride = 5, kMadtLocalX2Apic = 9;
constexpr uint32_t kMaxTableLength = 1 << 20;

bool SumsToZero(const void* data, uint32_t length) {
  auto* bytes = static_cast<const uint8_t*>(data);
  uint8_t sum = 0;
  for (uint32_t i = 0; i < length; ++i) sum += bytes[i];
  return sum == 0;
}

bool SignatureIs(const char* field, const char* expected, int length) {
  for (int i = 0; i < length; ++i) {
    if (field[i] != expected[i]) return false;
  }
  return true;
}

const Rsdp* SearchRsdp(uint64_t start, uint64_t end) {
  for (uint64_t p = start; p + sizeof(Rsdp) <= end; p += 16) {
    auto* rsdp = PhysToVirt<const Rsdp>(p);
    if (SignatureIs(rsdp->signature, "RSD PTR ", 8) && SumsToZero(rsdp, 20)) return rsdp;
  }
  return nullptr;
}

const SdtHeader* MapTable(uint64_t phys, const char* expected) {
  if (phys == 0 || phys >= kDirectMapLimit) return nullptr;
  auto* header = PhysToVirt<const SdtHeader>(phys);
  if (!SignatureIs(header->signature, expected, 4) || header->length < sizeof(SdtHeader) ||
      header->length > kMaxTableLength || !SumsToZero(header, header->length)) {
    Log(LogLevel::kWarn, "acpi: table %s at 0x%lx is invalid", expected, phys);
    return nullptr;
  }
  return header;
}

const SdtHeader* FindMadt(const Rsdp& rsdp) {
  bool use_xsdt = rsdp.revision >= 2 && rsdp.xsdt_address != 0;
  const SdtHeader* root =
      use_xsdt ? MapTable(rsdp.xsdt_address, "XSDT") : MapTable(rsdp.rsdt_address, "RSDT");
  if (root == nullptr) return nullptr;
  uint32_t entry_size = use_xsdt ? 8 : 4;
  uint32_t entries = (root->length - sizeof(SdtHeader)) / entry_size;
  auto* base = reinterpret_cast<const uint8_t*>(root) + sizeof(SdtHeader);
  for (uint32_t i = 0; i < entries; ++i) {
    uint64_t phys = 0;
    __builtin_memcpy(&phys, base + i * entry_size, entry_size);
    if (phys == 0 || phys >= kDirectMapLimit) continue;
    if (SignatureIs(PhysToVirt<const SdtHeader>(phys)->signature, "APIC", 4)) {
      return MapTable(phys, "APIC");
    }
  }
  return nullptr;
}

}  // namespace

bool FindCpus(uint64_t rsdp_phys, CpuTopology* topology) {
  const Rsdp* rsdp = nullptr;
  if (rsdp_phys != 0 && rsdp_phys < kDirectMapLimit) {
    rsdp = PhysToVirt<const Rsdp>(rsdp_phys);
  } else {
    rsdp = SearchRsdp(0xe0000, 0x100000);
  }
  if (rsdp == nullptr || !SignatureIs(rsdp->signature, "RSD PTR ", 8)) {
    Log(LogLevel::kWarn, "acpi: no RSDP found");
    return false;
  }
  const SdtHeader* madt_header = FindMadt(*rsdp);
  if (madt_header == nullptr) {
    Log(LogLevel::kWarn, "acpi: no valid MADT");
    return false;
  }
  auto* madt = reinterpret_cast<const Madt*>(madt_header);
  topology->local_apic_phys = madt->local_apic_address;
  topology->count = 0;
  for (uint32_t irq = 0; irq < 16; ++irq) topology->isa_irqs[irq] = {irq, false, false};
  auto* p = reinterpret_cast<const uint8_t*>(madt) + sizeof(Madt);
  auto* end = reinterpret_cast<const uint8_t*>(madt) + madt_header->length;
  while (p + 2 <= end) {
    uint8_t type = p[0], length = p[1];
    if (length < 2 || p + length > end) {
      Log(LogLevel::kWarn, "acpi: MADT entry of length %u at offset %lu is malformed", length,
          static_cast<uint64_t>(p - reinterpret_cast<const uint8_t*>(madt)));
      break;
    }
    uint32_t apic_id = 0, flags = 0;
    bool is_cpu = false;
    if (type == kMadtLocalApic && length >= 8) {
      apic_id = p[3];
      __builtin_memcpy(&flags, p + 4, 4);
      is_cpu = true;
    } else if (type == kMadtLocalX2Apic && length >= 16) {
      __builtin_memcpy(&apic_id, p + 4, 4);
      __builtin_memcpy(&flags, p + 8, 4);
      is_cpu = true;
    } else if (type == kMadtIoApic && length >= 12 && topology->io_apic_phys == 0) {
      uint32_t address;
      __builtin_memcpy(&address, p + 4, 4);
      __builtin_memcpy(&topology->io_apic_gsi_base, p + 8, 4);
      topology->io_apic_phys = address;
    } else if (type == kMadtSourceOverride && length >= 10 && p[2] == 0 && p[3] < 16) {
      // Bus 0 (ISA). Flags: bits 0-1 polarity (3 = low), 2-3 trigger (3 = level).
      IsaIrqRoute& route = topology->isa_irqs[p[3]];
      uint16_t irq_flags;
      __builtin_memcpy(&route.gsi, p + 4, 4);
      __builtin_memcpy(&irq_flags, p + 8, 2);
      route.active_low = (irq_flags & 3) == 3;
      route.level_triggered = ((irq_flags >> 2) & 3) == 3;
    } else if (type == kMadtLocalApicOverride && length >= 12) {
      __builtin_memcpy(&topology->local_apic_phys, p + 4, 8);
    }
    if (is_cpu && (flags & 1) != 0) {  // bit 0: enabled
      if (topology->count < kMaxCpus) {
        topology->apic_ids[topology->count++] = apic_id;
      } else {
        Log(LogLevel::kWarn, "acpi: more than %u cores; ignoring apic id %u", kMaxCpus, apic_id);
      }
    }
    p += length;
  }
  return topology->count > 0;
}

}  // namespace uk::arch
