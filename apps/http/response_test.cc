#include "apps/http/response.h"

#include <gtest/gtest.h>

#include <string>

#include "apps/http/date.h"

namespace uk::http {
namespace {

constexpr uint64_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

std::string HeadOf(Status status) {
  char buffer[256];
  ResponseHead head(buffer, status);
  const WriteResult<size_t> length = head.Finish();
  EXPECT_TRUE(length.ok());
  return std::string(buffer, length.value());
}

TEST(ResponseHeadTest, StatusLines) {
  struct Case {
    Status status;
    const char* line;
  };
  const Case cases[] = {
      {Status::kOk, "HTTP/1.1 200 OK"},
      {Status::kPartialContent, "HTTP/1.1 206 Partial Content"},
      {Status::kMovedPermanently, "HTTP/1.1 301 Moved Permanently"},
      {Status::kNotModified, "HTTP/1.1 304 Not Modified"},
      {Status::kBadRequest, "HTTP/1.1 400 Bad Request"},
      {Status::kNotFound, "HTTP/1.1 404 Not Found"},
      {Status::kMethodNotAllowed, "HTTP/1.1 405 Method Not Allowed"},
      {Status::kContentTooLarge, "HTTP/1.1 413 Content Too Large"},
      {Status::kUriTooLong, "HTTP/1.1 414 URI Too Long"},
      {Status::kRangeNotSatisfiable, "HTTP/1.1 416 Range Not Satisfiable"},
      {Status::kHeaderFieldsTooLarge, "HTTP/1.1 431 Request Header Fields Too Large"},
      {Status::kInternalServerError, "HTTP/1.1 500 Internal Server Error"},
      {Status::kNotImplemented, "HTTP/1.1 501 Not Implemented"},
      {Status::kServiceUnavailable, "HTTP/1.1 503 Service Unavailable"},
      {Status::kVersionNotSupported, "HTTP/1.1 505 HTTP Version Not Supported"},
  };
  for (const Case& c : cases) EXPECT_EQ(HeadOf(c.status), std::string(c.line) + "\r\n\r\n");
  EXPECT_EQ(ReasonPhrase(static_cast<Status>(299)), "Unknown");
}

TEST(ResponseHeadTest, AllFields) {
  char buffer[1024];
  ResponseHead head(buffer, Status::kPartialContent);
  head.AddServer("uk");
  head.AddDate(kNow);
  head.AddContentType("text/html; charset=utf-8");
  head.AddContentLength(10);
  head.AddLastModified(0);
  head.AddETag("\"1-2-3\"");
  head.AddAcceptRanges();
  head.AddContentRange(0, 9, 100);
  head.AddConnection(Persistence::kKeepAlive);
  head.AddField("Cache-Control", "max-age=60");
  const WriteResult<size_t> length = head.Finish();
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(std::string_view(buffer, length.value()),
            "HTTP/1.1 206 Partial Content\r\n"
            "Server: uk\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: 10\r\n"
            "Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "ETag: \"1-2-3\"\r\n"
            "Accept-Ranges: bytes\r\n"
            "Content-Range: bytes 0-9/100\r\n"
            "Connection: keep-alive\r\n"
            "Cache-Control: max-age=60\r\n"
            "\r\n");
}

TEST(ResponseHeadTest, OtherFields) {
  char buffer[512];
  ResponseHead head(buffer, Status::kMethodNotAllowed);
  head.AddAllow();
  head.AddUnsatisfiedContentRange(18446744073709551615u);
  head.AddLocation("/a b/%/?#\xc3\xa9/~x-y_z.html");
  head.AddConnection(Persistence::kClose);
  const WriteResult<size_t> length = head.Finish();
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(std::string_view(buffer, length.value()),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Allow: GET, HEAD\r\n"
            "Content-Range: bytes */18446744073709551615\r\n"
            "Location: /a%20b/%25/%3F%23%C3%A9/~x-y_z.html\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(ResponseHeadTest, RefusesFieldsThatWouldSplitTheResponse) {
  const std::pair<const char*, std::string> bad[] = {
      {"X", "a\r\nSet-Cookie: x"}, {"X", "a\nb"}, {"X", "a\rb"}, {"X", std::string("a\0b", 3)},
      {"X Y", "v"},                {"", "v"},     {"X:", "v"},   {"X\n", "v"},
  };
  for (const auto& [name, value] : bad) {
    char buffer[256];
    ResponseHead head(buffer, Status::kOk);
    head.AddField(name, value);
    const WriteResult<size_t> length = head.Finish();
    ASSERT_FALSE(length.ok()) << name;
    EXPECT_EQ(length.error(), WriteError::kInvalidField) << name;
  }
  char buffer[256];
  ResponseHead head(buffer, Status::kOk);
  head.AddETag("\"a\"\r\nX: y");
  EXPECT_EQ(head.Finish().error(), WriteError::kInvalidField);
  ResponseHead tab(buffer, Status::kOk);
  tab.AddField("X", "a\tb");  // HTAB is allowed in a value
  EXPECT_TRUE(tab.Finish().ok());
}

TEST(ResponseHeadTest, TooSmallBufferAtEverySize) {
  auto write = [](std::span<char> buffer) {
    ResponseHead head(buffer, Status::kOk);
    head.AddServer("uk");
    head.AddDate(kNow);
    head.AddContentLength(123456789);
    head.AddContentRange(1, 2, 3);
    head.AddLocation("/x y");
    head.AddConnection(Persistence::kClose);
    return head.Finish();
  };
  char full[512];
  const WriteResult<size_t> full_length = write(full);
  ASSERT_TRUE(full_length.ok());
  for (size_t size = 0; size < full_length.value(); ++size) {
    std::string buffer(size + 16, '#');
    const WriteResult<size_t> length = write(std::span<char>(buffer.data(), size));
    ASSERT_FALSE(length.ok()) << size;
    EXPECT_EQ(length.error(), WriteError::kBufferTooSmall);
    EXPECT_EQ(buffer.substr(size), std::string(16, '#')) << "wrote past " << size;
  }
  std::string exact(full_length.value(), '#');
  const WriteResult<size_t> length = write(std::span<char>(exact.data(), exact.size()));
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(exact, std::string_view(full, full_length.value()));
}

// Splits a generated response into head and body, checking that
// Content-Length matches the body.
struct Response {
  std::string head;
  std::string body;
};

Response Split(std::string_view response) {
  const size_t end = response.find("\r\n\r\n");
  EXPECT_NE(end, std::string_view::npos);
  Response r{std::string(response.substr(0, end + 4)), std::string(response.substr(end + 4))};
  return r;
}

size_t ContentLengthOf(const std::string& head) {
  const size_t at = head.find("Content-Length: ");
  EXPECT_NE(at, std::string::npos);
  return std::stoul(head.substr(at + 16));
}

TEST(GeneratedResponseTest, ErrorResponse) {
  char buffer[1024];
  ResponseContext context;
  context.now = kNow;
  const WriteResult<size_t> length = WriteErrorResponse(buffer, Status::kNotFound, context);
  ASSERT_TRUE(length.ok());
  const Response r = Split(std::string_view(buffer, length.value()));
  EXPECT_EQ(r.head,
            "HTTP/1.1 404 Not Found\r\n"
            "Server: uk\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: " + std::to_string(r.body.size()) + "\r\n"
            "Connection: close\r\n"
            "\r\n");
  EXPECT_EQ(r.body,
            "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
            "<body><h1>404 Not Found</h1></body></html>\n");
}

TEST(GeneratedResponseTest, EveryErrorStatus) {
  for (Status status : {Status::kBadRequest, Status::kNotFound, Status::kMethodNotAllowed,
                        Status::kContentTooLarge, Status::kUriTooLong,
                        Status::kRangeNotSatisfiable, Status::kHeaderFieldsTooLarge,
                        Status::kInternalServerError, Status::kNotImplemented,
                        Status::kServiceUnavailable, Status::kVersionNotSupported}) {
    char buffer[1024];
    ResponseContext context;
    context.persistence = Persistence::kKeepAlive;
    const WriteResult<size_t> length = WriteErrorResponse(buffer, status, context);
    ASSERT_TRUE(length.ok());
    const Response r = Split(std::string_view(buffer, length.value()));
    const std::string code = std::to_string(StatusCode(status));
    EXPECT_EQ(r.head.rfind("HTTP/1.1 " + code + " ", 0), 0u) << r.head;
    EXPECT_EQ(ContentLengthOf(r.head), r.body.size());
    EXPECT_NE(r.body.find("<h1>" + code + " " + std::string(ReasonPhrase(status)) + "</h1>"),
              std::string::npos);
    EXPECT_EQ(r.head.find("Date:"), std::string::npos);  // no clock, no Date
    EXPECT_NE(r.head.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_EQ(r.head.find("Allow: GET, HEAD\r\n") != std::string::npos,
              status == Status::kMethodNotAllowed);
  }
}

TEST(GeneratedResponseTest, HeadGetsTheHeadOnly) {
  char get[1024];
  char head[1024];
  ResponseContext context;
  const WriteResult<size_t> get_length = WriteErrorResponse(get, Status::kNotFound, context);
  context.method = Method::kHead;
  context.server = {};
  const WriteResult<size_t> head_length = WriteErrorResponse(head, Status::kNotFound, context);
  ASSERT_TRUE(get_length.ok());
  ASSERT_TRUE(head_length.ok());
  const Response r = Split(std::string_view(head, head_length.value()));
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.head.find("Server:"), std::string::npos);
  EXPECT_EQ(ContentLengthOf(r.head), Split(std::string_view(get, get_length.value())).body.size());
}

TEST(GeneratedResponseTest, RangeNotSatisfiableAndRedirect) {
  char buffer[1024];
  ResponseContext context;
  WriteResult<size_t> length = WriteRangeNotSatisfiable(buffer, 1234, context);
  ASSERT_TRUE(length.ok());
  Response r = Split(std::string_view(buffer, length.value()));
  EXPECT_EQ(r.head.rfind("HTTP/1.1 416 Range Not Satisfiable\r\n", 0), 0u);
  EXPECT_NE(r.head.find("Content-Range: bytes */1234\r\n"), std::string::npos);
  EXPECT_EQ(ContentLengthOf(r.head), r.body.size());

  length = WriteRedirect(buffer, "/my dir/", context);
  ASSERT_TRUE(length.ok());
  r = Split(std::string_view(buffer, length.value()));
  EXPECT_EQ(r.head.rfind("HTTP/1.1 301 Moved Permanently\r\n", 0), 0u);
  EXPECT_NE(r.head.find("Location: /my%20dir/\r\n"), std::string::npos);
  EXPECT_EQ(ContentLengthOf(r.head), r.body.size());
}

// The longest path a request line allows, every byte percent-encoded: the
// redirect still fits in RedirectBufferSize, with the Location exact.
TEST(GeneratedResponseTest, RedirectOfTheLongestPathFits) {
  const Limits limits;
  const std::string path = "/" + std::string(limits.max_request_line - 2, ' ') + "/";
  std::string expected = "Location: /";
  for (size_t i = 0; i < limits.max_request_line - 2; ++i) expected += "%20";
  expected += "/\r\n";
  ResponseContext context;
  context.now = kNow;
  context.persistence = Persistence::kKeepAlive;
  std::string buffer(RedirectBufferSize(path.size()), '#');
  const WriteResult<size_t> length =
      WriteRedirect(std::span<char>(buffer.data(), buffer.size()), path, context);
  ASSERT_TRUE(length.ok());
  const Response r = Split(std::string_view(buffer.data(), length.value()));
  EXPECT_EQ(r.head.rfind("HTTP/1.1 301 Moved Permanently\r\n", 0), 0u);
  EXPECT_NE(r.head.find(expected), std::string::npos);
  EXPECT_EQ(ContentLengthOf(r.head), r.body.size());
}

TEST(GeneratedResponseTest, TooSmallBuffer) {
  char full[1024];
  ResponseContext context;
  context.now = kNow;
  const WriteResult<size_t> full_length = WriteErrorResponse(full, Status::kNotFound, context);
  ASSERT_TRUE(full_length.ok());
  for (size_t size = 0; size < full_length.value(); ++size) {
    std::string buffer(size + 8, '#');
    const WriteResult<size_t> length =
        WriteErrorResponse(std::span<char>(buffer.data(), size), Status::kNotFound, context);
    ASSERT_FALSE(length.ok()) << size;
    EXPECT_EQ(length.error(), WriteError::kBufferTooSmall);
    EXPECT_EQ(buffer.substr(size), "########");
  }
  std::string exact(full_length.value(), '#');
  ASSERT_TRUE(
      WriteErrorResponse(std::span<char>(exact.data(), exact.size()), Status::kNotFound, context)
          .ok());
}

}  // namespace
}  // namespace uk::http
