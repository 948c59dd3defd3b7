#include "kernel/arch/lapic.h"

#include "kernel/arch/cpu.h"
#include "kernel/arch/paging.h"
#include "kernel/arch/trap.h"
#include "kernel/arch/tsc.h"

namespace uk::arch {
namespace {

// Register offsets in the xAPIC MMIO page; x2APIC MSR = 0x800 + offset / 16.
constexpr uint32_t kId = 0x20, kTaskPriority = 0x80, kEoi = 0xb0, kSpurious = 0xf0,
                   kIcrLow = 0x300, kIcrHigh = 0x310, kLvtTimer = 0x320, kLvtLint0 = 0x350,
                   kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3e0;
constexpr uint32_t kIcrPending = 1u << 12, kIcrAssert = 1u << 14;
constexpr uint32_t kDeliveryNmi = 4u << 8, kDeliveryInit = 5u << 8, kDeliveryStartup = 6u << 8;
constexpr uint32_t kAllExcludingSelf = 3u << 18;
constexpr uint32_t kLvtMasked = 1u << 16;

bool x2apic = false;
bool ready = false;
volatile uint32_t* mmio = nullptr;
uint64_t timer_hz = 0;

uint32_t Read(uint32_t reg) {
  if (x2apic) return static_cast<uint32_t>(ReadMsr(0x800 + reg / 16));
  return mmio[reg / 4];
}

void Write(uint32_t reg, uint32_t value) {
  if (x2apic) WriteMsr(0x800 + reg / 16, value);
  else mmio[reg / 4] = value;
}

void SendCommand(uint32_t apic_id, uint32_t low) {
  InterruptGuard interrupts_off;  // the two xAPIC writes must not interleave
  if (x2apic) {
    WriteMsr(0x800 + kIcrLow / 16, (uint64_t{apic_id} << 32) | low);
    return;
  }
  Write(kIcrHigh, apic_id << 24);
  Write(kIcrLow, low);
  // Bounded wait for the APIC to accept the command (it takes nanoseconds).
  for (int i = 0; i < 100000 && (Read(kIcrLow) & kIcrPending); ++i) Pause();
}

void EnableOnThisCore() {
  // xAPIC must be enabled before x2APIC: disabled -> x2APIC is an invalid
  // transition that faults.
  uint64_t base = ReadMsr(kMsrApicBase) | (1u << 11);
  WriteMsr(kMsrApicBase, base);
  if (x2apic) WriteMsr(kMsrApicBase, base | (1u << 10));
  Write(kTaskPriority, 0);
  Write(kSpurious, 0x100 | kSpuriousVector);  // software enable
  Write(kLvtTimer, kLvtMasked | kTimerVector);
  Write(kTimerDivide, 0xb);                   // divide by 1
  Write(kLvtLint0, kLvtMasked);               // no legacy PIC interrupts (ExtINT)
}

// The BIOS leaves the 8259 PIC delivering the PIT's IRQ 0 at vector 8, which
// would look like a double fault. Every interrupt the kernel uses goes
// through the local APIC, so the PIC is masked for good. (On machines
// without a PIC, such as microvm, these writes go nowhere.)
void MaskLegacyPic() {
  OutByte(0x21, 0xff);
  OutByte(0xa1, 0xff);
}

}  // namespace

void InitLocalApic(uint64_t mmio_phys) {
  x2apic = (Cpuid(1).ecx & (1u << 21)) != 0;
  mmio = PhysToVirt<volatile uint32_t>(mmio_phys);
  MaskLegacyPic();
  EnableOnThisCore();
  ready = true;
}

void InitLocalApicOnThisCore() { EnableOnThisCore(); }

bool LocalApicReady() { return ready; }
bool LocalApicIsX2Apic() { return x2apic; }

uint32_t LocalApicId() { return x2apic ? Read(kId) : Read(kId) >> 24; }

void EndOfInterrupt() { Write(kEoi, 0); }

void SendIpi(uint32_t apic_id, uint8_t vector) { SendCommand(apic_id, kIcrAssert | vector); }

void SendNmiToOthers() { SendCommand(0, kAllExcludingSelf | kIcrAssert | kDeliveryNmi); }

void SendInitIpi(uint32_t apic_id) { SendCommand(apic_id, kIcrAssert | kDeliveryInit); }

void SendStartupIpi(uint32_t apic_id, uint8_t page) {
  SendCommand(apic_id, kIcrAssert | kDeliveryStartup | page);
}

void CalibrateLocalApicTimer() {
  constexpr uint64_t kWindowNs = 10'000'000;
  Write(kLvtTimer, kLvtMasked | kTimerVector);
  Write(kTimerInitial, 0xffffffff);
  SpinDelayNanoseconds(kWindowNs);
  uint32_t elapsed = 0xffffffff - Read(kTimerCurrent);
  Write(kTimerInitial, 0);
  timer_hz = uint64_t{elapsed} * 1'000'000'000 / kWindowNs;
}

uint64_t LocalApicTimerHz() { return timer_hz; }

void ArmTimer(uint64_t ns) {
  if (ns == 0 || timer_hz == 0) {
    Write(kTimerInitial, 0);
    return;
  }
  uint64_t ticks = ns * (timer_hz / 1000) / 1'000'000;
  if (ticks == 0) ticks = 1;
  if (ticks > 0xffffffff) ticks = 0xffffffff;
  Write(kLvtTimer, kTimerVector);  // one-shot, unmasked
  Write(kTimerInitial, static_cast<uint32_t>(ticks));
}

}  // namespace uk::arch
