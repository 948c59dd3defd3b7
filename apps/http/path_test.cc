#include "apps/http/path.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace uk::http {

void PrintTo(Status status, std::ostream* os) { *os << StatusCode(status); }

namespace {

struct Normalized {
  Status status;
  std::string path;
  bool ended_with_slash;
};

Normalized Normalize(std::string_view target, size_t capacity = 256) {
  std::string buffer(capacity, '\xAA');
  const Result<NormalizedPath> result = NormalizePath(target, std::span<char>(buffer.data(), capacity));
  if (!result.ok()) return {result.error(), "", false};
  return {Status::kOk, std::string(result.value().path), result.value().ended_with_slash};
}

void ExpectPath(std::string_view target, std::string_view path, bool ended_with_slash) {
  const Normalized n = Normalize(target);
  ASSERT_EQ(n.status, Status::kOk) << target;
  EXPECT_EQ(n.path, path) << target;
  EXPECT_EQ(n.ended_with_slash, ended_with_slash) << target;
}

void ExpectRefused(std::string_view target, Status status = Status::kBadRequest) {
  EXPECT_EQ(Normalize(target).status, status) << target;
}

TEST(NormalizePathTest, PlainPaths) {
  ExpectPath("/", "/", true);
  ExpectPath("/index.html", "/index.html", false);
  ExpectPath("/a/b/c.txt", "/a/b/c.txt", false);
  ExpectPath("/dir/", "/dir", true);
  ExpectPath("/a/b/", "/a/b", true);
  ExpectPath("/...", "/...", false);  // just a name
  ExpectPath("/..a/a..", "/..a/a..", false);
  ExpectPath("/.hidden", "/.hidden", false);
}

TEST(NormalizePathTest, QueryAndFragmentAreCut) {
  ExpectPath("/a?b=c", "/a", false);
  ExpectPath("/a/?b=/../../x", "/a", true);
  ExpectPath("/a#frag/../..", "/a", false);
  ExpectPath("/?", "/", true);
  ExpectPath("/a%3Fb", "/a?b", false);  // an encoded '?' is part of the name
  ExpectPath("/a%23b", "/a#b", false);
}

TEST(NormalizePathTest, AbsoluteForm) {
  ExpectPath("http://example.com/a/b", "/a/b", false);
  ExpectPath("HTTP://example.com:8080/a/", "/a", true);
  ExpectPath("https://example.com/x?y", "/x", false);
  ExpectPath("http://example.com", "/", true);
  ExpectPath("http://example.com?q", "/", true);
  ExpectPath("http://user@host/a/", "/a", true);
}

TEST(NormalizePathTest, OtherFormsAreRefused) {
  ExpectRefused("");
  ExpectRefused("*");
  ExpectRefused("a/b");
  ExpectRefused("example.com:80");
  ExpectRefused("ftp://host/a");
  ExpectRefused("http:/a");
  ExpectRefused("?a");
}

TEST(NormalizePathTest, PercentDecoding) {
  ExpectPath("/a%20b", "/a b", false);
  ExpectPath("/%41%62%63", "/Abc", false);
  ExpectPath("/%e2%82%ac", "/\xe2\x82\xac", false);
  ExpectPath("/%25", "/%", false);
  ExpectPath("/%2525", "/%25", false);  // decoded once only
  ExpectRefused("/%");
  ExpectRefused("/%2");
  ExpectRefused("/a%2");
  ExpectRefused("/%zz");
  ExpectRefused("/%2g");
  ExpectRefused("/%g2");
  ExpectRefused("/%%41");
}

TEST(NormalizePathTest, DotSegments) {
  ExpectPath("/a/./b", "/a/b", false);
  ExpectPath("/a/b/../c", "/a/c", false);
  ExpectPath("/a/b/..", "/a", true);
  ExpectPath("/a/b/.", "/a/b", true);
  ExpectPath("/a/..", "/", true);
  ExpectPath("/a/../", "/", true);
  ExpectPath("/.", "/", true);
  ExpectPath("/./", "/", true);
  ExpectPath("/a/b/c/../../d", "/a/d", false);
  ExpectPath("/a/%2e/b", "/a/b", false);
  ExpectPath("/a/%2e%2E/b", "/b", false);
  ExpectPath("/a/.%2e", "/", true);
  ExpectPath("/a/b/%2e%2e/", "/a", true);
}

TEST(NormalizePathTest, EmptySegmentsCollapse) {
  ExpectPath("//", "/", true);
  ExpectPath("//a//b//", "/a/b", true);
  ExpectPath("/a///b", "/a/b", false);
  ExpectPath("//a/..//b", "/b", false);
}

// Every attempt to climb above the root is refused with 400, whatever the
// spelling.
TEST(NormalizePathTest, EscapesAreRefused) {
  const char* escapes[] = {
      "/..",
      "/../",
      "/../etc/passwd",
      "/a/../../x",
      "/a/b/../../../x",
      "/./../x",
      "//../x",
      "/%2e%2e/x",
      "/%2E%2E/x",
      "/%2e./x",
      "/.%2e/",
      "/.%2E",
      "/%2e%2e",
      "/a/%2e%2e/%2e%2e/etc/passwd",
      "http://host/../etc/passwd",
      "http://host/a/../../x",
      "/../../../../../../../../etc/passwd",
      "/a/./../../x",
  };
  for (const char* target : escapes) ExpectRefused(target);
}

TEST(NormalizePathTest, EncodedSlashesAndBackslashesAreRefused) {
  const char* refused[] = {
      "/%2F",        "/%2f",        "/a%2Fb",     "/..%2fx",   "/..%2Fx",
      "/%2E%2E%2Fx", "/%2e%2e%2fetc%2fpasswd",   "/a%2f..%2f..%2fx",
      "/a\\b",       "/..\\x",      "/%5C",       "/%5c",      "/..%5c..%5cx",
      "/a/%5C../x",  "/\\",
  };
  for (const char* target : refused) ExpectRefused(target);
}

TEST(NormalizePathTest, NulAndControlCharactersAreRefused) {
  ExpectRefused("/%00");
  ExpectRefused("/a%00.html");
  ExpectRefused(std::string_view("/a\0b", 4));
  ExpectRefused("/%0a");
  ExpectRefused("/%0D%0ASet-Cookie:x");
  ExpectRefused("/%09");
  ExpectRefused("/%1f");
  ExpectRefused("/%7f");
  ExpectRefused("/a\nb");
  ExpectRefused("/a\rb");
  ExpectRefused("/a\tb");
  ExpectRefused("/a\x7f");
  ExpectPath("/%80%ff", "/\x80\xff", false);  // non-ASCII bytes are names
}

TEST(NormalizePathTest, OutputBufferTooSmallIs414) {
  EXPECT_EQ(Normalize("/", 0).status, Status::kUriTooLong);
  EXPECT_EQ(Normalize("/", 1).path, "/");
  EXPECT_EQ(Normalize("/abc", 4).path, "/abc");
  EXPECT_EQ(Normalize("/abc", 3).status, Status::kUriTooLong);
  EXPECT_EQ(Normalize("/a/b", 4).path, "/a/b");
  EXPECT_EQ(Normalize("/a/b", 3).status, Status::kUriTooLong);
  EXPECT_EQ(Normalize("/a/b/", 4).path, "/a/b");
  EXPECT_EQ(Normalize("/a/", 2).path, "/a");
  EXPECT_EQ(Normalize("/a%20b", 4).path, "/a b");  // decoded length counts
  // The segments a ".." removes must fit on the way.
  EXPECT_EQ(Normalize("/long/../a", 4).status, Status::kUriTooLong);
  EXPECT_EQ(Normalize("/long/../a", 5).path, "/a");
  EXPECT_EQ(Normalize("/a/./../b", 2).path, "/b");  // dot segments need no room
  const std::string deep = "/" + std::string(300, 'x');
  EXPECT_EQ(Normalize(deep).status, Status::kUriTooLong);
}

TEST(NormalizePathTest, OutputNeverHoldsDotOrEmptySegments) {
  const char* targets[] = {"/a/./b/../c//d/", "//./..%2e/", "/a/b/c/./../../", "/x/%2e/%2e%2e/y/."};
  for (const char* target : targets) {
    const Normalized n = Normalize(target);
    if (n.status != Status::kOk) continue;
    EXPECT_EQ(n.path[0], '/');
    EXPECT_EQ(n.path.find("//"), std::string::npos) << target;
    EXPECT_EQ(n.path.find("/./"), std::string::npos) << target;
    EXPECT_EQ(n.path.find("/../"), std::string::npos) << target;
    EXPECT_TRUE(n.path == "/" || n.path.back() != '/') << target;
  }
}

}  // namespace
}  // namespace uk::http
