// Calendar arithmetic for HTTP dates: days since the epoch <-> civil date
// with Howard Hinnant's algorithms (proleptic Gregorian, integers only, so
// it runs in the kernel without floating point).

#include "apps/http/date.h"

#include "apps/http/text.h"

namespace uk::http {
namespace {

constexpr std::string_view kDayNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kLongDayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
constexpr std::string_view kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  uint64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

// Days since 1970-01-01 to a date; `days` is never negative here.
Civil CivilFromDays(uint64_t days) {
  const uint64_t z = days + 719468;  // days since 0000-03-01
  const uint64_t era = z / 146097;
  const uint64_t day_of_era = z - era * 146097;
  const uint64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const uint64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const uint64_t mp = (5 * day_of_year + 2) / 153;  // March = 0
  const auto day = static_cast<unsigned>(day_of_year - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// The inverse, for years >= 1970.
uint64_t DaysFromCivil(Civil c) {
  const uint64_t year = c.year - (c.month <= 2 ? 1 : 0);
  const uint64_t era = year / 400;
  const uint64_t year_of_era = year - era * 400;
  const uint64_t day_of_year = (153 * (c.month > 2 ? c.month - 3 : c.month + 9) + 2) / 5 + c.day - 1;
  const uint64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool IsLeapYear(uint64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned DaysInMonth(uint64_t year, unsigned month) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

void AppendTwoDigits(TextWriter* writer, unsigned value) {
  writer->Append(static_cast<char>('0' + value / 10));
  writer->Append(static_cast<char>('0' + value % 10));
}

// Exactly `digits` decimal digits.
bool ParseFixed(std::string_view text, size_t digits, unsigned* value) {
  if (text.size() != digits) return false;
  uint64_t v = 0;
  if (!ParseDecimal(text, &v)) return false;
  *value = static_cast<unsigned>(v);
  return true;
}

int FindName(std::string_view name, const std::string_view* names, int count) {
  for (int i = 0; i < count; ++i) {
    if (names[i] == name) return i;
  }
  return -1;
}

// "HH:MM:SS"
bool ParseTimeOfDay(std::string_view text, unsigned* seconds_of_day) {
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (text.size() != 8 || text[2] != ':' || text[5] != ':' ||
      !ParseFixed(text.substr(0, 2), 2, &hour) || !ParseFixed(text.substr(3, 2), 2, &minute) ||
      !ParseFixed(text.substr(6, 2), 2, &second) || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  *seconds_of_day = hour * 3600 + minute * 60 + second;
  return true;
}

bool Combine(uint64_t year, int month_index, unsigned day, unsigned seconds_of_day,
             uint64_t* unix_seconds) {
  if (month_index < 0 || year < 1970 || year > 9999) return false;
  const auto month = static_cast<unsigned>(month_index + 1);
  if (day < 1 || day > DaysInMonth(year, month)) return false;
  *unix_seconds = DaysFromCivil({year, month, day}) * 86400 + seconds_of_day;
  return true;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool ParseImfFixdate(std::string_view t, uint64_t* unix_seconds) {
  unsigned day = 0;
  unsigned year = 0;
  unsigned time = 0;
  if (t.size() != kHttpDateLength || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' ||
      t[16] != ' ' || t.substr(25) != " GMT" || FindName(t.substr(0, 3), kDayNames, 7) < 0 ||
      !ParseFixed(t.substr(5, 2), 2, &day) || !ParseFixed(t.substr(12, 4), 4, &year) ||
      !ParseTimeOfDay(t.substr(17, 8), &time)) {
    return false;
  }
  return Combine(year, FindName(t.substr(8, 3), kMonthNames, 12), day, time, unix_seconds);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
bool ParseRfc850(std::string_view t, uint64_t* unix_seconds) {
  const size_t comma = t.find(',');
  if (comma == std::string_view::npos || FindName(t.substr(0, comma), kLongDayNames, 7) < 0) {
    return false;
  }
  t.remove_prefix(comma);
  unsigned day = 0;
  unsigned year = 0;
  unsigned time = 0;
  if (t.size() != 24 || t.substr(0, 2) != ", " || t[4] != '-' || t[8] != '-' || t[11] != ' ' ||
      t.substr(20) != " GMT" || !ParseFixed(t.substr(2, 2), 2, &day) ||
      !ParseFixed(t.substr(9, 2), 2, &year) || !ParseTimeOfDay(t.substr(12, 8), &time)) {
    return false;
  }
  year += year < 70 ? 2000 : 1900;
  return Combine(year, FindName(t.substr(5, 3), kMonthNames, 12), day, time, unix_seconds);
}

// "Sun Nov  6 08:49:37 1994" (day of month padded with a space)
bool ParseAsctime(std::string_view t, uint64_t* unix_seconds) {
  unsigned day = 0;
  unsigned year = 0;
  unsigned time = 0;
  if (t.size() != 24 || t[3] != ' ' || t[7] != ' ' || t[10] != ' ' || t[19] != ' ' ||
      FindName(t.substr(0, 3), kDayNames, 7) < 0 || !ParseFixed(t.substr(20, 4), 4, &year) ||
      !ParseTimeOfDay(t.substr(11, 8), &time)) {
    return false;
  }
  if (t[8] == ' ') {
    if (!ParseFixed(t.substr(9, 1), 1, &day)) return false;
  } else if (!ParseFixed(t.substr(8, 2), 2, &day)) {
    return false;
  }
  return Combine(year, FindName(t.substr(4, 3), kMonthNames, 12), day, time, unix_seconds);
}

}  // namespace

std::string_view FormatHttpDate(uint64_t unix_seconds, char (&out)[kHttpDateLength + 1]) {
  if (unix_seconds > kMaxHttpDate) unix_seconds = kMaxHttpDate;
  const uint64_t days = unix_seconds / 86400;
  const auto seconds_of_day = static_cast<unsigned>(unix_seconds % 86400);
  const Civil date = CivilFromDays(days);
  TextWriter writer(out, kHttpDateLength);
  writer.Append(kDayNames[(days + 4) % 7]);  // 1970-01-01 was a Thursday
  writer.Append(", ");
  AppendTwoDigits(&writer, date.day);
  writer.Append(' ');
  writer.Append(kMonthNames[date.month - 1]);
  writer.Append(' ');
  writer.AppendDecimal(date.year);  // 1970-9999: always four digits
  writer.Append(' ');
  AppendTwoDigits(&writer, seconds_of_day / 3600);
  writer.Append(':');
  AppendTwoDigits(&writer, seconds_of_day / 60 % 60);
  writer.Append(':');
  AppendTwoDigits(&writer, seconds_of_day % 60);
  writer.Append(" GMT");
  out[kHttpDateLength] = '\0';
  return std::string_view(out, kHttpDateLength);
}

bool ParseHttpDate(std::string_view text, uint64_t* unix_seconds) {
  if (text.size() == kHttpDateLength) return ParseImfFixdate(text, unix_seconds);
  if (text.size() == 24 && text[3] == ' ') return ParseAsctime(text, unix_seconds);
  return ParseRfc850(text, unix_seconds);
}

}  // namespace uk::http
