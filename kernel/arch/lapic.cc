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
                   kLvtLint1 = 0x360,
                   kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3e0;
constexpr uint32_t kIcrPending = 1u << 12, kIcrAssert = 1u << 14;
constexpr uint32_t kDeliveryNmi = 4u << 8, kDeliveryInit = 5u << 8, kDeliveryStartup = 6u << 8;
constexpr uint32_t kAllExcludingSelf = 3u << 18;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtTscDeadline = 2u << 17;  // timer mode bits 18:17
constexpr uint32_t kMsrTscDeadline = 0x6e0;

bool x2apic = false;
bool ready = false;
volatile uint32_t* mmio = nullptr;
uint64_t timer_hz = 0;
bool tsc_deadline = false;  // CPUID.01H:ECX[24]; chosen once on the bootstrap core

uint32_t Read(uint32_t reg) {
  if (x2apic) return static_cast<uint32_t>(ReadMsr(0x800 + reg / 16));
  return mmio[reg / 4];
}

void Write(uint32_t reg, uint32_t value) {
  if (x2apic) WriteMsr(0x800 + reg / 16, value);
  else mmio[reg / 4] = value;
}

// Makes every earlier store globally visible before the x2APIC ICR write
// that follows, so the core an IPI wakes sees what was published for it (a
// message in a ring, `all_cores_up` at boot, the panic flag before the stop
// NMI). In x2APIC mode a WRMSR to an APIC register is not serializing: per
// the Intel SDM (Vol. 3A, "MSR Access in x2APIC Mode"), it "may complete
// before all preceding stores are globally visible". MFENCE drains the
// stores; WRMSR is not a memory access, so MFENCE alone does not hold it
// back, and the LFENCE keeps it from executing before the MFENCE has
// completed. Linux does the same (weak_wrmsr_fence). The xAPIC path needs
// nothing: its ICR is uncached MMIO, which is not reordered with earlier
// stores. Verified only by reading: QEMU's TCG here has no x2APIC.
inline void FenceBeforeX2ApicIcrWrite() { asm volatile("mfence; lfence" ::: "memory"); }

void SendCommand(uint32_t apic_id, uint32_t low) {
  InterruptGuard interrupts_off;  // the two xAPIC writes must not interleave
  if (x2apic) {
    FenceBeforeX2ApicIcrWrite();
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
  // Divide by 128: ~8 MHz under QEMU (its APIC clock is 1 GHz), 128 ns
  // resolution and a range of ~9 minutes per count-down, so a sleep rarely
  // needs a chain of arms (at divide-by-1 the range is ~4.3 s).
  Write(kTimerDivide, 0xa);
  Write(kLvtLint0, kLvtMasked);               // no legacy PIC interrupts (ExtINT)
  // LINT1 is the NMI pin on PCs (QEMU's MADT says so; its monitor `nmi` and
  // a hypervisor's watchdog arrive there). Firmware programs it on the boot
  // core only, INIT resets it to masked: program it on every core, so a
  // stray NMI reaches the kernel's handler (counted and logged) everywhere.
  Write(kLvtLint1, kDeliveryNmi);
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
  tsc_deadline = (Cpuid(1).ecx & (1u << 24)) != 0;
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
  if (tsc_deadline) return;  // deadlines are TSC values: nothing to measure
  // Against the TSC, calibrated by now, for 5 ms (it was 10). Under TCG
  // the rate comes out 0.1-0.2% high at 5 ms (0.03-0.1% at 10 ms, up to 2%
  // at 2 ms; QEMU's is 7.8125 MHz): a timer fires at most that much late,
  // never early.
  constexpr uint64_t kWindowNs = 5'000'000;
  Write(kLvtTimer, kLvtMasked | kTimerVector);
  Write(kTimerInitial, 0xffffffff);
  // Each end reads the count, then the TSC: the same order, so the time
  // either read takes (an exit under a hypervisor) cancels out.
  const uint32_t first = Read(kTimerCurrent);
  const uint64_t start = ReadTsc();
  const uint64_t window = NanosecondsToTsc(kWindowNs);
  while (ReadTsc() - start < window) Pause();
  const uint32_t elapsed = first - Read(kTimerCurrent);
  const uint64_t end = ReadTsc();
  Write(kTimerInitial, 0);
  if (end != start) {  // always, once the TSC's rate is known
    timer_hz = static_cast<uint64_t>(static_cast<unsigned __int128>(elapsed) * TscHz() /
                                     (end - start));
  }
}

bool TimerUsesTscDeadline() { return tsc_deadline; }

void InitTimerOnThisCore() {
  if (tsc_deadline) {
    Write(kLvtTimer, kLvtTscDeadline | kTimerVector);
    // In xAPIC mode the LVT write is MMIO and the deadline a WRMSR, which
    // may pass it (SDM Vol. 3A, "TSC-Deadline Mode"): fence once, here.
    asm volatile("mfence" ::: "memory");
  } else {
    Write(kLvtTimer, kTimerVector);  // one-shot, unmasked; idle until a count is written
  }
}

void ArmTimerAt(uint64_t deadline_ns) {
  if (tsc_deadline) {
    // Absolute, in the kernel's own clock: it cannot fire before the TSC
    // says the deadline passed. 0 would disarm: the earliest is 1.
    const uint64_t target = TscAtNanosecondsSinceBoot(deadline_ns);
    WriteMsr(kMsrTscDeadline, target == 0 ? 1 : target);
    return;
  }
  // Count-down fallback: a relative count in timer ticks, rounded up so it
  // does not fire before the deadline, and at most 2^32 - 1 ticks (~9
  // minutes at QEMU's 8 MHz). A later deadline fires at the end of the range and the
  // scheduler arms the rest (one more write per ~9 minutes of sleep).
  const uint64_t now = NanosecondsSinceBoot();
  const uint64_t ns = deadline_ns > now ? deadline_ns - now : 0;
  const uint64_t max_ns = timer_hz == 0 ? 0 : 0xffffffffull * 1'000'000'000 / timer_hz;
  uint64_t ticks = 0xffffffff;
  if (ns < max_ns) ticks = (ns * timer_hz + 999'999'999) / 1'000'000'000 + 1;  // ns * hz < 2^64 here
  if (ticks > 0xffffffff) ticks = 0xffffffff;
  Write(kTimerInitial, static_cast<uint32_t>(ticks));
}

void DisarmTimer() {
  if (tsc_deadline) WriteMsr(kMsrTscDeadline, 0);
  else Write(kTimerInitial, 0);
}

}  // namespace uk::arch
