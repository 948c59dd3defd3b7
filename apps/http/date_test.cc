#include "apps/http/date.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace uk::http {
namespace {

std::string Format(uint64_t t) {
  char out[kHttpDateLength + 1];
  const std::string_view s = FormatHttpDate(t, out);
  EXPECT_EQ(s.size(), kHttpDateLength);
  EXPECT_EQ(out[kHttpDateLength], '\0');
  return std::string(s);
}

bool Parse(std::string_view text, uint64_t* t) { return ParseHttpDate(text, t); }

// The host C library's opinion, for comparison.
std::string LibcFormat(uint64_t t) {
  const auto time = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&time, &tm);
  char out[64];
  strftime(out, sizeof(out), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return out;
}

TEST(HttpDateTest, KnownValues) {
  struct Case {
    uint64_t t;
    const char* text;
  };
  const Case cases[] = {
      {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {1, "Thu, 01 Jan 1970 00:00:01 GMT"},
      {86399, "Thu, 01 Jan 1970 23:59:59 GMT"},
      {86400, "Fri, 02 Jan 1970 00:00:00 GMT"},
      {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
      {946684799, "Fri, 31 Dec 1999 23:59:59 GMT"},
      {946684800, "Sat, 01 Jan 2000 00:00:00 GMT"},
      {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},  // 2000 is a leap year
      {951868800, "Wed, 01 Mar 2000 00:00:00 GMT"},
      {1234567890, "Fri, 13 Feb 2009 23:31:30 GMT"},
      {1700000000, "Tue, 14 Nov 2023 22:13:20 GMT"},
      {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
      {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"},
      {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT"},
      {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"},  // 2100 is not
      {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Format(c.t), c.text);
    uint64_t t = 0;
    ASSERT_TRUE(Parse(c.text, &t)) << c.text;
    EXPECT_EQ(t, c.t) << c.text;
  }
}

TEST(HttpDateTest, ClampsAfterYear9999) {
  EXPECT_EQ(Format(kMaxHttpDate + 1), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(Format(UINT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST(HttpDateTest, RoundTripsAndMatchesLibc) {
  // About 40,000 instants spread over 1970-9999 at odd offsets, and every
  // day boundary around the leap days of 1972, 2000 and 2100.
  for (uint64_t t = 0; t <= kMaxHttpDate; t += 6'311'111 + t % 7) {
    const std::string text = Format(t);
    EXPECT_EQ(text, LibcFormat(t));
    uint64_t parsed = 0;
    ASSERT_TRUE(Parse(text, &parsed)) << text;
    ASSERT_EQ(parsed, t) << text;
  }
  for (uint64_t year_start : {63072000ull, 946684800ull, 4102444800ull}) {
    for (uint64_t day = 0; day < 400; ++day) {
      for (uint64_t t : {year_start + day * 86400, year_start + day * 86400 + 86399}) {
        const std::string text = Format(t);
        EXPECT_EQ(text, LibcFormat(t));
        uint64_t parsed = 0;
        ASSERT_TRUE(Parse(text, &parsed)) << text;
        ASSERT_EQ(parsed, t) << text;
      }
    }
  }
}

TEST(HttpDateTest, ObsoleteFormats) {
  uint64_t t = 0;
  ASSERT_TRUE(Parse("Sunday, 06-Nov-94 08:49:37 GMT", &t));
  EXPECT_EQ(t, 784111777u);
  ASSERT_TRUE(Parse("Sun Nov  6 08:49:37 1994", &t));
  EXPECT_EQ(t, 784111777u);
  ASSERT_TRUE(Parse("Tue Feb 29 00:00:00 2000", &t));
  EXPECT_EQ(t, 951782400u);
  ASSERT_TRUE(Parse("Saturday, 01-Jan-00 00:00:00 GMT", &t));  // 00 is 2000
  EXPECT_EQ(t, 946684800u);
  ASSERT_TRUE(Parse("Wednesday, 31-Dec-69 23:59:59 GMT", &t));  // 69 is 2069
  EXPECT_EQ(t, 3155759999u);
  ASSERT_TRUE(Parse("Thursday, 01-Jan-70 00:00:00 GMT", &t));  // 70 is 1970
  EXPECT_EQ(t, 0u);
}

TEST(HttpDateTest, RejectsMalformedDates) {
  const char* bad[] = {
      "",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 gmt",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun 06 Nov 1994 08:49:37 GMT ",
      "Xyz, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 23:60:00 GMT",
      "Sun, 06 Nov 1994 23:59:61 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",
      "Sun, 29 Feb 1900 08:49:37 GMT",
      "Sun, 29 Feb 2100 08:49:37 GMT",
      "Sun, 29 Feb 2001 08:49:37 GMT",
      "Sun, 31 Dec 1969 23:59:59 GMT",  // before the epoch
      "Sun, 06 Nov 19x4 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:3x GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Sun, +6 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sun, 06-Nov-94 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37",
      "Sun Nov 06 08:49:37 1994 ",
      "Sun Nov 6 08:49:37 1994",
      "Sun Nov  0 08:49:37 1994",
      "1994-11-06T08:49:37Z",
      "784111777",
  };
  for (const char* text : bad) {
    uint64_t t = 12345;
    EXPECT_FALSE(Parse(text, &t)) << text;
  }
  // A leap second is read, and lands on the next minute.
  uint64_t t = 0;
  ASSERT_TRUE(Parse("Sat, 31 Dec 2016 23:59:60 GMT", &t));
  EXPECT_EQ(t, 1483228800u);
}

}  // namespace
}  // namespace uk::http
