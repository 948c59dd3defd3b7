#include "kernel/lib/cmdline.h"

#include <gtest/gtest.h>

#include <string>

namespace uk {
namespace {

TEST(CommandLineTest, KeyValueAndBareWords) {
  CommandLine c("  loglevel=debug  quiet site=/srv/www ");
  EXPECT_EQ(c.Get("loglevel"), "debug");
  EXPECT_EQ(c.Get("site"), "/srv/www");
  EXPECT_TRUE(c.Has("quiet"));
  EXPECT_EQ(c.Get("quiet", "x"), "");
  EXPECT_FALSE(c.Has("missing"));
  EXPECT_EQ(c.Get("missing", "fallback"), "fallback");
}

TEST(CommandLineTest, LastOccurrenceWinsAndPrefixesDoNotMatch) {
  CommandLine c("port=1 portable=2 port=3");
  EXPECT_EQ(c.Get("port"), "3");
  EXPECT_EQ(c.Get("portable"), "2");
  EXPECT_FALSE(c.Has("por"));
}

TEST(CommandLineTest, ValueMayContainEquals) {
  CommandLine c("arg=a=b");
  EXPECT_EQ(c.Get("arg"), "a=b");
}

TEST(CommandLineTest, EmptyAndOverlong) {
  EXPECT_FALSE(CommandLine("").Has(""));
  std::string long_text(CommandLine::kMaxLength + 10, 'x');
  CommandLine c(long_text);
  EXPECT_TRUE(c.truncated());
  EXPECT_EQ(c.text().size(), CommandLine::kMaxLength);
}

TEST(CommandLineTest, GetNumber) {
  CommandLine line("samples=250 bad=12x empty= huge=99999999999999999999");
  bool malformed = false;
  EXPECT_EQ(line.GetNumber("samples", 7, &malformed), 250u);
  EXPECT_FALSE(malformed);
  EXPECT_EQ(line.GetNumber("absent", 7, &malformed), 7u);
  EXPECT_FALSE(malformed);
  EXPECT_EQ(line.GetNumber("bad", 7, &malformed), 7u);
  EXPECT_TRUE(malformed);
  malformed = false;
  EXPECT_EQ(line.GetNumber("empty", 7, &malformed), 7u);
  EXPECT_TRUE(malformed);
  malformed = false;
  EXPECT_EQ(line.GetNumber("huge", 7, &malformed), 7u);
  EXPECT_TRUE(malformed);
}

}  // namespace
}  // namespace uk
