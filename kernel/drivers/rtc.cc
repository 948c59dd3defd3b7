#include "kernel/drivers/rtc.h"

#include "kernel/arch/cpu.h"
#include "kernel/arch/tsc.h"

namespace uk {
namespace {

constexpr uint16_t kIndexPort = 0x70, kDataPort = 0x71;
constexpr uint8_t kStatusA = 0x0a, kStatusB = 0x0b;
constexpr uint8_t kUpdateInProgress = 0x80, kBinary = 0x04, k24Hour = 0x02;

uint8_t Read(uint8_t reg) {
  arch::OutByte(kIndexPort, reg);
  return arch::InByte(kDataPort);
}

struct Reading {
  uint8_t second, minute, hour, day, month, year;
  bool operator==(const Reading&) const = default;
};

Reading ReadAll() {
  return {Read(0x00), Read(0x02), Read(0x04), Read(0x07), Read(0x08), Read(0x09)};
}

uint8_t FromBcd(uint8_t v) { return static_cast<uint8_t>((v >> 4) * 10 + (v & 0xf)); }

// Days from 1970-01-01 to year-month-day (proleptic Gregorian), after
// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

uint64_t ReadRtcUnixSeconds() {
  // Read until two consecutive readings agree outside an update, so a
  // rollover in the middle cannot give a mixed time. Bounded: no RTC
  // (all ones) or a stuck update flag gives up.
  Reading a{}, b{};
  bool stable = false;
  for (int tries = 0; tries < 1000 && !stable; ++tries) {
    while ((Read(kStatusA) & kUpdateInProgress) && ++tries < 1000) arch::Pause();
    a = ReadAll();
    b = ReadAll();
    stable = a == b;
  }
  const uint8_t status_b = Read(kStatusB);
  if (!stable || status_b == 0xff) return 0;
  bool pm = false;
  if ((status_b & kBinary) == 0) {
    pm = (a.hour & 0x80) != 0;
    a = {FromBcd(a.second), FromBcd(a.minute), FromBcd(a.hour & 0x7f),
         FromBcd(a.day),    FromBcd(a.month),  FromBcd(a.year)};
  } else {
    pm = (a.hour & 0x80) != 0;
    a.hour &= 0x7f;
  }
  if ((status_b & k24Hour) == 0) a.hour = static_cast<uint8_t>(a.hour % 12 + (pm ? 12 : 0));
  if (a.month < 1 || a.month > 12 || a.day < 1 || a.day > 31 || a.hour > 23 || a.minute > 59 ||
      a.second > 60) {
    return 0;
  }
  const int64_t days = DaysFromCivil(2000 + a.year, a.month, a.day);  // years 2000..2099
  return static_cast<uint64_t>(days * 86400 + a.hour * 3600 + a.minute * 60 + a.second);
}

uint64_t UnixTimeAtBoot() {
  const uint64_t now = ReadRtcUnixSeconds();
  const uint64_t uptime = arch::NanosecondsSinceBoot() / 1'000'000'000;
  return now > uptime ? now - uptime : 0;
}

}  // namespace uk
