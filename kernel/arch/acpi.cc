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

// The table with signature `signature` listed by the XSDT (or RSDT).
const SdtHeader* FindTable(const Rsdp& rsdp, const char* signature) {
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
    if (SignatureIs(PhysToVirt<const SdtHeader>(phys)->signature, signature, 4)) {
      return MapTable(phys, signature);
    }
  }
  return nullptr;
}

const Rsdp* FindRsdp(uint64_t rsdp_phys) {
  const Rsdp* rsdp = rsdp_phys != 0 && rsdp_phys < kDirectMapLimit
                         ? PhysToVirt<const Rsdp>(rsdp_phys)
                         : SearchRsdp(0xe0000, 0x100000);
  if (rsdp == nullptr || !SignatureIs(rsdp->signature, "RSD PTR ", 8)) return nullptr;
  return rsdp;
}

// A little-endian field of `table` at `offset`, 0 if the table is shorter.
template <typename T>
T FieldAt(const SdtHeader* table, uint32_t offset) {
  T value{};
  if (offset + sizeof(T) <= table->length) {
    __builtin_memcpy(&value, reinterpret_cast<const uint8_t*>(table) + offset, sizeof(T));
  }
  return value;
}

// SLP_TYPa of the DSDT's \_S5 package: `_S5_` PackageOp PkgLength
// NumElements, then the first element (ByteConst 0x0A n, Zero, One). A
// byte scan, not an AML interpreter: it assumes \_S5 is a plain Name
// (as QEMU, SeaBIOS-era and most firmware write it).
bool FindS5SleepType(const SdtHeader* dsdt, uint8_t* sleep_type) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(dsdt);
  for (uint32_t i = sizeof(SdtHeader); i + 9 <= dsdt->length; ++i) {
    if (!SignatureIs(reinterpret_cast<const char*>(bytes + i), "_S5_", 4) || bytes[i + 4] != 0x12) {
      continue;
    }
    uint32_t at = i + 5;
    at += 1 + (bytes[at] >> 6);  // PkgLength: its lead byte says how many follow
    at += 1;                     // NumElements
    if (at + 2 > dsdt->length) return false;
    if (bytes[at] == 0x0a) *sleep_type = bytes[at + 1];
    else if (bytes[at] <= 1) *sleep_type = bytes[at];
    else return false;
    return true;
  }
  return false;
}

}  // namespace

bool FindCpus(uint64_t rsdp_phys, CpuTopology* topology) {
  const Rsdp* rsdp = FindRsdp(rsdp_phys);
  if (rsdp == nullptr) {
    Log(LogLevel::kWarn, "acpi: no RSDP found");
    return false;
  }
  const SdtHeader* madt_header = FindTable(*rsdp, "APIC");
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

bool FindPowerControls(uint64_t rsdp_phys, PowerControls* controls) {
  const Rsdp* rsdp = FindRsdp(rsdp_phys);
  const SdtHeader* fadt = rsdp != nullptr ? FindTable(*rsdp, "FACP") : nullptr;
  if (fadt == nullptr) return false;
  // Offsets from the ACPI specification's FADT layout.
  constexpr uint32_t kHardwareReducedFlag = 1u << 20;
  controls->hardware_reduced = (FieldAt<uint32_t>(fadt, 112) & kHardwareReducedFlag) != 0;
  controls->sci_irq = static_cast<uint8_t>(FieldAt<uint16_t>(fadt, 46));
  controls->smi_command = static_cast<uint16_t>(FieldAt<uint32_t>(fadt, 48));
  controls->acpi_enable = FieldAt<uint8_t>(fadt, 52);
  controls->pm1a_event = static_cast<uint16_t>(FieldAt<uint32_t>(fadt, 56));
  controls->pm1a_control = static_cast<uint16_t>(FieldAt<uint32_t>(fadt, 64));
  controls->pm1_event_length = FieldAt<uint8_t>(fadt, 88);
  // SLEEP_CONTROL_REG, a Generic Address Structure: space id 0 is memory.
  if (FieldAt<uint8_t>(fadt, 244) == 0) controls->sleep_control = FieldAt<uint64_t>(fadt, 248);
  constexpr uint64_t kQemuMicrovmSleepControl = 0xfea00200;
  if (controls->hardware_reduced && controls->sleep_control == kQemuMicrovmSleepControl) {
    controls->ged_events = kQemuMicrovmSleepControl - 0x200;
    controls->ged_irq = 9;
  }
  uint64_t dsdt_phys = FieldAt<uint64_t>(fadt, 140);  // X_DSDT
  if (dsdt_phys == 0) dsdt_phys = FieldAt<uint32_t>(fadt, 40);
  const SdtHeader* dsdt = MapTable(dsdt_phys, "DSDT");
  controls->s5_known = dsdt != nullptr && FindS5SleepType(dsdt, &controls->s5_sleep_type);
  return true;
}

}  // namespace uk::arch
