#include "apps/http/conditional.h"

#include <gtest/gtest.h>

#include <string>

namespace uk::http {
namespace {

TEST(MakeETagTest, HexFieldsInQuotes) {
  char buffer[kMaxETagLength];
  EXPECT_EQ(MakeETag(12, 420, 0x5f5e1000, buffer), "\"c-1a4-5f5e1000\"");
  EXPECT_EQ(MakeETag(0, 0, 0, buffer), "\"0-0-0\"");
  const std::string_view longest = MakeETag(UINT64_MAX, UINT64_MAX, UINT64_MAX, buffer);
  EXPECT_EQ(longest.size(), kMaxETagLength);
  EXPECT_EQ(longest, "\"ffffffffffffffff-ffffffffffffffff-ffffffffffffffff\"");
  // Different files, sizes or times give different tags.
  char other[kMaxETagLength];
  EXPECT_NE(MakeETag(1, 23, 4, buffer), MakeETag(12, 3, 4, other));
}

TEST(MakeETagTest, TooSmallBufferGivesEmpty) {
  char buffer[8];
  EXPECT_EQ(MakeETag(0, 0, 0, std::span<char>(buffer, 7)), "\"0-0-0\"");
  EXPECT_TRUE(MakeETag(0, 0, 0, std::span<char>(buffer, 6)).empty());
  EXPECT_TRUE(MakeETag(1, 2, 3, std::span<char>()).empty());
}

TEST(IfNoneMatchTest, Matches) {
  const std::string_view etag = "\"1-2-3\"";
  EXPECT_TRUE(IfNoneMatchMatches("\"1-2-3\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("*", etag));
  EXPECT_TRUE(IfNoneMatchMatches(" * ", etag));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"1-2-3\"", etag));  // weak comparison
  EXPECT_TRUE(IfNoneMatchMatches("\"1-2-3\"", "W/\"1-2-3\""));
  EXPECT_TRUE(IfNoneMatchMatches("\"a\", \"1-2-3\"", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"a\",W/\"b\" ,\t\"1-2-3\" ", etag));
  EXPECT_TRUE(IfNoneMatchMatches(",, \"1-2-3\",", etag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x,y\", \"1-2-3\"", etag));  // commas inside a tag
}

TEST(IfNoneMatchTest, DoesNotMatch) {
  const std::string_view etag = "\"1-2-3\"";
  EXPECT_FALSE(IfNoneMatchMatches("", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"1-2-4\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"1-2-3", etag));
  EXPECT_FALSE(IfNoneMatchMatches("1-2-3", etag));
  EXPECT_FALSE(IfNoneMatchMatches("w/\"1-2-3\"", etag));  // W/ is case-sensitive
  EXPECT_FALSE(IfNoneMatchMatches("\"a\" \"1-2-3\"", etag));  // no comma: malformed
  EXPECT_FALSE(IfNoneMatchMatches("\"a\", junk, \"1-2-3\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("**", etag));
  EXPECT_FALSE(IfNoneMatchMatches("\"\"", etag));
  EXPECT_FALSE(IfNoneMatchMatches("W/", etag));
}

TEST(IfRangeTest, StrongTagsAndExactDates) {
  const std::string_view etag = "\"1-2-3\"";
  EXPECT_TRUE(IfRangeMatches("", etag, 784111777));
  EXPECT_TRUE(IfRangeMatches("\"1-2-3\"", etag, 784111777));
  EXPECT_FALSE(IfRangeMatches("\"1-2-4\"", etag, 784111777));
  EXPECT_FALSE(IfRangeMatches("W/\"1-2-3\"", etag, 784111777));  // weak never matches
  EXPECT_FALSE(IfRangeMatches("\"1-2-3\"", "W/\"1-2-3\"", 784111777));
  EXPECT_TRUE(IfRangeMatches("Sun, 06 Nov 1994 08:49:37 GMT", etag, 784111777));
  EXPECT_FALSE(IfRangeMatches("Sun, 06 Nov 1994 08:49:37 GMT", etag, 784111778));
  EXPECT_FALSE(IfRangeMatches("Sun, 06 Nov 1994 08:49:37 GMT", etag, 784111776));
  EXPECT_FALSE(IfRangeMatches("garbage", etag, 784111777));
}

TEST(IsNotModifiedTest, IfNoneMatchWinsOverIfModifiedSince) {
  const std::string_view etag = "\"1-2-3\"";
  Request request;
  EXPECT_FALSE(IsNotModified(request, etag, 784111777));
  request.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
  EXPECT_TRUE(IsNotModified(request, etag, 784111777));   // same second
  EXPECT_TRUE(IsNotModified(request, etag, 784111000));   // older
  EXPECT_FALSE(IsNotModified(request, etag, 784111778));  // newer
  request.if_none_match = "\"other\"";
  EXPECT_FALSE(IsNotModified(request, etag, 784111777));  // If-None-Match decides
  request.if_none_match = "\"1-2-3\"";
  EXPECT_TRUE(IsNotModified(request, etag, 999999999));
  request.if_none_match = {};
  request.if_modified_since = "yesterday";
  EXPECT_FALSE(IsNotModified(request, etag, 0));  // unparsable: ignored
}

}  // namespace
}  // namespace uk::http
