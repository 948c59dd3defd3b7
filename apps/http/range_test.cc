#include "apps/http/range.h"

#include <gtest/gtest.h>

namespace uk::http {
namespace {

using Kind = ByteRange::Kind;

void ExpectRange(std::string_view header, uint64_t size, uint64_t first, uint64_t last) {
  const ByteRange range = ParseRange(header, size);
  ASSERT_EQ(range.kind, Kind::kSatisfiable) << header << " of " << size;
  EXPECT_EQ(range.first, first) << header << " of " << size;
  EXPECT_EQ(range.last, last) << header << " of " << size;
}

void ExpectKind(std::string_view header, uint64_t size, Kind kind) {
  EXPECT_EQ(ParseRange(header, size).kind, kind) << header << " of " << size;
}

TEST(ParseRangeTest, Satisfiable) {
  ExpectRange("bytes=0-0", 100, 0, 0);
  ExpectRange("bytes=0-99", 100, 0, 99);
  ExpectRange("bytes=10-19", 100, 10, 19);
  ExpectRange("bytes=99-99", 100, 99, 99);   // the last byte
  ExpectRange("bytes=99-", 100, 99, 99);
  ExpectRange("bytes=0-", 100, 0, 99);
  ExpectRange("bytes=50-1000", 100, 50, 99);  // last cut to the end
  ExpectRange("bytes=0-0", 1, 0, 0);
  ExpectRange("bytes=-1", 100, 99, 99);       // suffix
  ExpectRange("bytes=-10", 100, 90, 99);
  ExpectRange("bytes=-100", 100, 0, 99);
  ExpectRange("bytes=-1000", 100, 0, 99);     // suffix larger than the file
  ExpectRange("bytes=-1", 1, 0, 0);
  ExpectRange("BYTES=1-2", 100, 1, 2);        // the unit is case-insensitive
  ExpectRange("Bytes=1-2", 100, 1, 2);
  ExpectRange("  bytes=1-2 \t", 100, 1, 2);
  ExpectRange("bytes= 1-2", 100, 1, 2);
  ExpectRange("bytes=0007-0008", 100, 7, 8);
}

TEST(ParseRangeTest, Unsatisfiable) {
  ExpectKind("bytes=100-", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=100-200", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=1000-2000", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=-0", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=0-", 0, Kind::kUnsatisfiable);  // empty file
  ExpectKind("bytes=0-0", 0, Kind::kUnsatisfiable);
  ExpectKind("bytes=-0", 0, Kind::kUnsatisfiable);
}

TEST(ParseRangeTest, IgnoredAsNone) {
  ExpectKind("", 100, Kind::kNone);
  ExpectKind("bytes", 100, Kind::kNone);
  ExpectKind("bytes=", 100, Kind::kNone);
  ExpectKind("bytes=-", 100, Kind::kNone);
  ExpectKind("bytes=a-b", 100, Kind::kNone);
  ExpectKind("bytes=1-a", 100, Kind::kNone);
  ExpectKind("bytes=1", 100, Kind::kNone);
  ExpectKind("bytes=5-4", 100, Kind::kNone);  // last before first: invalid
  ExpectKind("bytes=1 -2", 100, Kind::kNone);
  ExpectKind("bytes=1- 2", 100, Kind::kNone);
  ExpectKind("bytes=+1-2", 100, Kind::kNone);
  ExpectKind("bytes=-1-2", 100, Kind::kNone);
  ExpectKind("bytes=0x1-2", 100, Kind::kNone);
  ExpectKind("bytes 0-1", 100, Kind::kNone);
  ExpectKind("items=0-1", 100, Kind::kNone);  // another unit
  ExpectKind("bytes=0-1,5-6", 100, Kind::kNone);  // several ranges
  ExpectKind("bytes=0-1, 5-6", 100, Kind::kNone);
  ExpectKind("bytes=0-1,", 100, Kind::kNone);
  ExpectKind("bytes=-5", 0, Kind::kNone);  // a suffix of an empty file: all of it
}

TEST(ParseRangeTest, HugeNumbersNeitherWrapNorFail) {
  const uint64_t max = UINT64_MAX;
  ExpectRange("bytes=0-18446744073709551615", 100, 0, 99);
  ExpectRange("bytes=0-99999999999999999999999999", 100, 0, 99);
  ExpectRange("bytes=-99999999999999999999999999", 100, 0, 99);
  ExpectKind("bytes=18446744073709551615-", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=99999999999999999999999999-", 100, Kind::kUnsatisfiable);
  ExpectKind("bytes=18446744073709551616-18446744073709551617", 100, Kind::kUnsatisfiable);
  ExpectRange("bytes=18446744073709551614-", max, max - 1, max - 1);
  ExpectRange("bytes=-1", max, max - 1, max - 1);
  ExpectRange("bytes=-99999999999999999999999999", max, 0, max - 1);
}

TEST(ParseRangeTest, ResultsStayInsideTheFile) {
  const char* headers[] = {"bytes=0-0", "bytes=3-", "bytes=-3", "bytes=2-5", "bytes=-100",
                           "bytes=7-7", "bytes=0-18446744073709551615"};
  for (uint64_t size = 0; size < 12; ++size) {
    for (const char* header : headers) {
      const ByteRange range = ParseRange(header, size);
      if (range.kind != Kind::kSatisfiable) continue;
      EXPECT_LE(range.first, range.last);
      EXPECT_LT(range.last, size);
    }
  }
}

}  // namespace
}  // namespace uk::http
