#include "kernel/lib/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace uk {
namespace {

template <typename... Args>
std::string F(const char* format, Args... args) {
  char buffer[128];
  Format(buffer, sizeof(buffer), format, args...);
  return buffer;
}

TEST(FormatTest, Integers) {
  EXPECT_EQ(F("%d %i %u", -42, 7, 3000000000u), "-42 7 3000000000");
  EXPECT_EQ(F("%ld", static_cast<long>(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(F("%lu", UINT64_MAX), "18446744073709551615");
  EXPECT_EQ(F("%x %X %lx", 255u, 255u, 0xdeadbeefcafeul), "ff FF deadbeefcafe");
  EXPECT_EQ(F("%zu", sizeof(uint64_t)), "8");
}

TEST(FormatTest, WidthAndFlags) {
  EXPECT_EQ(F("[%5d]", 42), "[   42]");
  EXPECT_EQ(F("[%-5d]", 42), "[42   ]");
  EXPECT_EQ(F("[%05d]", -42), "[-0042]");
  EXPECT_EQ(F("[%016lx]", 0xabcul), "[0000000000000abc]");
  EXPECT_EQ(F("[%4s|%-4s]", "ab", "cd"), "[  ab|cd  ]");
}

TEST(FormatTest, PointersStringsChars) {
  EXPECT_EQ(F("%p", reinterpret_cast<void*>(0x1234)), "0x0000000000001234");
  EXPECT_EQ(F("%s", static_cast<const char*>(nullptr)), "(null)");
  EXPECT_EQ(F("%c%c", 'o', 'k'), "ok");
  EXPECT_EQ(F("100%%"), "100%");
}

TEST(FormatTest, StringPrecision) {
  EXPECT_EQ(F("%.3s|%.*s|%.9s", "abcdef", 2, "xyz", "ab"), "abc|xy|ab");
}

TEST(FormatTest, UnknownConversionIsShownNotFatal) {
  EXPECT_EQ(F("a %q b"), "a %q b");
  EXPECT_EQ(F("trailing %"), "trailing %");
}

TEST(FormatTest, TruncatesAndTerminates) {
  char buffer[6];
  size_t n = Format(buffer, sizeof(buffer), "%s", "overflowing");
  EXPECT_EQ(n, 5u);
  EXPECT_STREQ(buffer, "overf");
  EXPECT_EQ(Format(nullptr, 0, "%d", 1), 0u);
}

}  // namespace
}  // namespace uk
