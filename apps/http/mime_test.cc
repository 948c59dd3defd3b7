#include "apps/http/mime.h"

#include <gtest/gtest.h>

namespace uk::http {
namespace {

TEST(MimeTypeTest, KnownExtensions) {
  struct Case {
    const char* path;
    const char* type;
  };
  const Case cases[] = {
      {"/index.html", "text/html; charset=utf-8"},
      {"/a.htm", "text/html; charset=utf-8"},
      {"/s.css", "text/css; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/m.mjs", "text/javascript; charset=utf-8"},
      {"/d.json", "application/json"},
      {"/r.txt", "text/plain; charset=utf-8"},
      {"/README.md", "text/markdown; charset=utf-8"},
      {"/f.xml", "application/xml; charset=utf-8"},
      {"/i.svg", "image/svg+xml"},
      {"/i.png", "image/png"},
      {"/i.jpg", "image/jpeg"},
      {"/i.jpeg", "image/jpeg"},
      {"/i.gif", "image/gif"},
      {"/i.webp", "image/webp"},
      {"/favicon.ico", "image/vnd.microsoft.icon"},
      {"/m.wasm", "application/wasm"},
      {"/d.pdf", "application/pdf"},
      {"/f.woff", "font/woff"},
      {"/f.woff2", "font/woff2"},
      {"/f.ttf", "font/ttf"},
      {"/v.mp4", "video/mp4"},
      {"/v.webm", "video/webm"},
      {"/a.mp3", "audio/mpeg"},
      {"/a.ogg", "audio/ogg"},
      {"/z.zip", "application/zip"},
      {"/t.tar.gz", "application/gzip"},
      {"/t.tar", "application/x-tar"},
  };
  for (const Case& c : cases) EXPECT_EQ(MimeType(c.path), c.type) << c.path;
}

TEST(MimeTypeTest, CaseInsensitiveAndLastSegmentOnly) {
  EXPECT_EQ(MimeType("/INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(MimeType("/x.Png"), "image/png");
  EXPECT_EQ(MimeType("/dir.html/file"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/a.b/c.css"), "text/css; charset=utf-8");
  EXPECT_EQ(MimeType("index.html"), "text/html; charset=utf-8");
}

TEST(MimeTypeTest, DefaultType) {
  EXPECT_EQ(MimeType(""), "application/octet-stream");
  EXPECT_EQ(MimeType("/"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/Makefile"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/.profile"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/a."), kDefaultMimeType);
  EXPECT_EQ(MimeType("/a.exe"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/a.htmlx"), kDefaultMimeType);
  EXPECT_EQ(MimeType("/a.ht"), kDefaultMimeType);
}

}  // namespace
}  // namespace uk::http
