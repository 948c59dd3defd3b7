#include "apps/http/request.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace uk::http {

void PrintTo(Status status, std::ostream* os) { *os << StatusCode(status); }

namespace {

ParseResult Parse(std::string_view buffer, Request* request, const Limits& limits = {}) {
  return ParseRequest(buffer, limits, request);
}

// Every strict prefix of `text` is kIncomplete and the whole is kComplete,
// consuming all of it: a request split at any byte boundary parses.
void ExpectCompleteAtEveryPrefix(const std::string& text, const Limits& limits = {}) {
  Request request;
  for (size_t length = 0; length < text.size(); ++length) {
    // A copy of exactly `length` bytes, so ASan sees any read past it.
    const std::string prefix = text.substr(0, length);
    const ParseResult result = ParseRequest(prefix, limits, &request);
    ASSERT_EQ(result.status, ParseStatus::kIncomplete) << "prefix of " << length << " bytes";
  }
  const ParseResult result = ParseRequest(text, limits, &request);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, text.size());
}

// `text` fails with `status`, and every prefix of it is kIncomplete or the
// same error: errors come out in byte order, whatever has arrived so far.
void ExpectError(const std::string& text, Status status, const Limits& limits = {}) {
  Request request;
  const ParseResult result = ParseRequest(text, limits, &request);
  ASSERT_EQ(result.status, ParseStatus::kError) << text;
  EXPECT_EQ(result.error, status) << text;
  EXPECT_FALSE(request.keep_alive);
  for (size_t length = 0; length < text.size(); ++length) {
    const std::string prefix = text.substr(0, length);
    const ParseResult partial = ParseRequest(prefix, limits, &request);
    if (partial.status == ParseStatus::kIncomplete) continue;
    ASSERT_EQ(partial.status, ParseStatus::kError) << "prefix of " << length << " bytes";
    EXPECT_EQ(partial.error, status) << "prefix of " << length << " bytes: " << text;
  }
}

TEST(ParseRequestTest, SimpleGet) {
  Request request;
  const std::string text = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
  const ParseResult result = Parse(text, &request);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, text.size());
  EXPECT_EQ(request.method, Method::kGet);
  EXPECT_EQ(request.method_name, "GET");
  EXPECT_EQ(request.target, "/index.html");
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_EQ(request.host, "example.com");
  EXPECT_TRUE(request.keep_alive);
  EXPECT_FALSE(request.has_content_length);
  EXPECT_TRUE(request.range.empty());
}

TEST(ParseRequestTest, HeadAndHttp10) {
  Request request;
  ASSERT_EQ(Parse("HEAD /a?b=c HTTP/1.0\r\n\r\n", &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.method, Method::kHead);
  EXPECT_EQ(request.target, "/a?b=c");
  EXPECT_EQ(request.version_minor, 0);
  EXPECT_TRUE(request.host.empty());  // optional in 1.0
  EXPECT_FALSE(request.keep_alive);
}

TEST(ParseRequestTest, FieldsAreTrimmedAndCaseInsensitive) {
  Request request;
  const std::string text =
      "GET / HTTP/1.1\r\n"
      "hOsT:   a.b:8080 \t\r\n"
      "IF-NONE-MATCH: \"x\", W/\"y\"\r\n"
      "if-modified-since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
      "RANGE:bytes=0-10\r\n"
      "If-Range: \"x\"\r\n"
      "x-unknown: whatever \x80\xff obs-text\r\n"
      "CONTENT-length: 0\r\n"
      "\r\n";
  ASSERT_EQ(Parse(text, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.host, "a.b:8080");
  EXPECT_EQ(request.if_none_match, "\"x\", W/\"y\"");
  EXPECT_EQ(request.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(request.range, "bytes=0-10");
  EXPECT_EQ(request.if_range, "\"x\"");
  EXPECT_TRUE(request.has_content_length);
  EXPECT_EQ(request.content_length, 0u);
}

TEST(ParseRequestTest, RepeatedSingletonFieldsAreDropped) {
  Request request;
  const std::string text =
      "GET / HTTP/1.1\r\nHost: h\r\n"
      "Range: bytes=0-1\r\nRange: bytes=2-3\r\nRange: bytes=4-5\r\n"
      "If-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n"
      "If-Modified-Since: x\r\nIf-Modified-Since: y\r\n"
      "If-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n";
  ASSERT_EQ(Parse(text, &request).status, ParseStatus::kComplete);
  EXPECT_TRUE(request.range.empty());
  EXPECT_TRUE(request.if_none_match.empty());
  EXPECT_TRUE(request.if_modified_since.empty());
  EXPECT_TRUE(request.if_range.empty());
}

TEST(ParseRequestTest, SplitAtEveryByte) {
  ExpectCompleteAtEveryPrefix("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.1\nHost: h\nRange: bytes=1-2\n\n");
  ExpectCompleteAtEveryPrefix("\r\n\nHEAD /x HTTP/1.0\r\n\r\n");
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.0\r\n\n");  // mixed endings
  Limits limits;
  limits.max_body = 16;
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
                              limits);
}

TEST(ParseRequestTest, Pipelined) {
  Limits limits;
  limits.max_body = 8;
  const std::string buffer =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "HEAD /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
      "\r\n"  // a stray CRLF between requests is tolerated
      "GET /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "GET /d HTTP/1.0\nConnection: keep-alive\n\n"
      "GET /e HTTP/1.1\r\nHo";  // the start of one more
  const std::string_view expected_targets[] = {"/a", "/b", "/c", "/d"};
  const bool expected_keep_alive[] = {true, false, true, true};
  std::string_view rest = buffer;
  for (size_t i = 0; i < 4; ++i) {
    Request request;
    const ParseResult result = ParseRequest(rest, limits, &request);
    ASSERT_EQ(result.status, ParseStatus::kComplete) << i;
    EXPECT_EQ(request.target, expected_targets[i]);
    EXPECT_EQ(request.keep_alive, expected_keep_alive[i]) << i;
    ASSERT_LE(result.consumed, rest.size());
    rest.remove_prefix(result.consumed);
  }
  Request request;
  EXPECT_EQ(ParseRequest(rest, limits, &request).status, ParseStatus::kIncomplete);
  EXPECT_EQ(rest, "GET /e HTTP/1.1\r\nHo");
}

TEST(ParseRequestTest, BodyWithinMaxBodyIsConsumed) {
  Limits limits;
  limits.max_body = 4;
  Request request;
  const std::string text = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
  ParseResult result = ParseRequest(text + "GET", limits, &request);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, text.size());
  EXPECT_EQ(request.content_length, 4u);
  // The same value twice, or as a list of equal values, is one length.
  result = ParseRequest(
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-length: 2, 2\r\n\r\nab", limits,
      &request);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(request.content_length, 2u);
}

TEST(ParseRequestTest, EmptyAndLeadingEmptyLines) {
  Request request;
  EXPECT_EQ(Parse("", &request).status, ParseStatus::kIncomplete);
  EXPECT_EQ(Parse("\r\n\r\n\r", &request).status, ParseStatus::kIncomplete);
  const std::string four = "\r\n\n\r\n\nGET / HTTP/1.0\r\n\r\n";
  const ParseResult result = Parse(four, &request);
  ASSERT_EQ(result.status, ParseStatus::kComplete);
  EXPECT_EQ(result.consumed, four.size());
  ExpectError("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n", Status::kBadRequest);
  ExpectError("\r\rGET / HTTP/1.0\r\n\r\n", Status::kBadRequest);
}

TEST(ParseRequestTest, KeepAliveRules) {
  struct Case {
    const char* text;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: ,, keep-alive ,\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    Request request;
    ASSERT_EQ(Parse(c.text, &request).status, ParseStatus::kComplete) << c.text;
    EXPECT_EQ(request.keep_alive, c.keep_alive) << c.text;
  }
}

TEST(ParseRequestTest, BadSyntaxIs400) {
  const char* cases[] = {
      "GET\r\n\r\n",
      "GET /\r\n\r\n",                     // HTTP/0.9: no version
      "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",  // two spaces
      "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",  // trailing space
      " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / http/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.10\r\nHost: h\r\n\r\n",
      "GET / HTTP/a.b\r\nHost: h\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",   // not a token
      "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n",  // bare CR
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX\x01: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n continued\r\n\r\n",   // obs-fold
      "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tcontinued\r\n\r\n",  // obs-fold
      "GET / HTTP/1.1\r\n Host: h\r\n\r\n",                        // space first
      "GET / HTTP/1.1\r\nHost : h\r\n\r\n",  // whitespace before the colon
      "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nno colon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",  // two Hosts
      "GET / HTTP/1.1\r\n\r\n",                        // 1.1 without Host
      "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n",
  };
  for (const char* text : cases) ExpectError(text, Status::kBadRequest);
  // Content-Length values that are not one decimal number, with a body
  // limit that every number here would pass.
  Limits limits;
  limits.max_body = 100;
  for (const char* value : {"1\r\nContent-Length: 2", "0, 1", "-1", "+1", "0x10", "", "1 0",
                            "1,", "99999999999999999999", "18446744073709551616"}) {
    ExpectError(std::string("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + value + "\r\n\r\n",
                Status::kBadRequest, limits);
  }
  // NUL bytes, which C strings cannot hold.
  ExpectError(std::string("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 28), Status::kBadRequest);
  ExpectError(std::string("GET / HTTP/1.1\r\nHost: h\0\r\n\r\n", 27), Status::kBadRequest);
  ExpectError(std::string("GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n", 28), Status::kBadRequest);
}

TEST(ParseRequestTest, OtherMethodsAre405WithTheMethodKnown) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get", "Head", "BREW"}) {
    const std::string text = std::string(method) + " / HTTP/1.1\r\nHost: h\r\n\r\n";
    ExpectError(text, Status::kMethodNotAllowed);
    Request request;
    ASSERT_EQ(Parse(text, &request).status, ParseStatus::kError);
    EXPECT_EQ(request.method, Method::kOther);
    EXPECT_EQ(request.method_name, method);
    EXPECT_EQ(request.target, "/");
  }
  // Known as soon as the request line is in: no need to wait for fields.
  Request request;
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\n", &request).error, Status::kMethodNotAllowed);
}

TEST(ParseRequestTest, TransferEncodingAndHugeMethodsAre501) {
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
              Status::kNotImplemented);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: identity\r\n\r\n",
              Status::kNotImplemented);
  ExpectError(std::string(kMaxMethodLength + 1, 'X') + " / HTTP/1.1\r\nHost: h\r\n\r\n",
              Status::kNotImplemented);
  ExpectError(std::string(kMaxMethodLength, 'X') + " / HTTP/1.1\r\nHost: h\r\n\r\n",
              Status::kMethodNotAllowed);
}

TEST(ParseRequestTest, BodyLimitIs413) {
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", Status::kContentTooLarge);
  Limits limits;
  limits.max_body = 10;
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", Status::kContentTooLarge,
              limits);
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789",
                              limits);
  // Answered before the body arrives.
  Request request;
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nContent-Length: 11\r\n", limits, &request).error,
            Status::kContentTooLarge);
}

TEST(ParseRequestTest, VersionsOtherThan10And11Are505) {
  for (const char* version : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.1", "HTTP/9.9"}) {
    ExpectError(std::string("GET / ") + version + "\r\nHost: h\r\n\r\n",
                Status::kVersionNotSupported);
  }
  // The version is judged before the method.
  ExpectError("POST / HTTP/2.0\r\n\r\n", Status::kVersionNotSupported);
}

TEST(ParseRequestTest, RequestLineLimitIs414AtTheBoundary) {
  Limits limits;
  limits.max_request_line = 64;
  auto line_of = [](size_t length) {
    const std::string start = "GET /";
    const std::string end = " HTTP/1.1";
    return start + std::string(length - start.size() - end.size(), 'a') + end;
  };
  ASSERT_EQ(line_of(64).size(), 64u);
  ExpectCompleteAtEveryPrefix(line_of(64) + "\r\nHost: h\r\n\r\n", limits);
  ExpectCompleteAtEveryPrefix(line_of(64) + "\nHost: h\n\n", limits);
  ExpectError(line_of(65) + "\r\nHost: h\r\n\r\n", Status::kUriTooLong, limits);
  ExpectError(line_of(65) + "\nHost: h\n\n", Status::kUriTooLong, limits);

  // Without waiting for the end of the line: 65 bytes of line are too many,
  // 64 and a CR may still be a good line.
  Request request;
  const std::string long_target = "GET /" + std::string(100, 'a');
  EXPECT_EQ(ParseRequest(long_target.substr(0, 64), limits, &request).status,
            ParseStatus::kIncomplete);
  EXPECT_EQ(ParseRequest(long_target.substr(0, 65), limits, &request).error, Status::kUriTooLong);
  EXPECT_EQ(ParseRequest(line_of(64) + "\r", limits, &request).status, ParseStatus::kIncomplete);
  // The default limit.
  ExpectError("GET /" + std::string(Limits{}.max_request_line, 'a') + " HTTP/1.1\r\n\r\n",
              Status::kUriTooLong);
}

// "Host: h\r\n" plus one filler field, `total` bytes of field lines in all.
std::string FieldsOf(size_t total, std::string_view ending = "\r\n") {
  const std::string host = "Host: h" + std::string(ending);
  const size_t filler = total - host.size() - 3 - ending.size();  // "X: " + value + ending
  return host + "X: " + std::string(filler, 'v') + std::string(ending);
}

TEST(ParseRequestTest, HeaderBytesLimitIs431AtTheBoundary) {
  Limits limits;
  limits.max_header_bytes = 100;
  ASSERT_EQ(FieldsOf(100).size(), 100u);
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.1\r\n" + FieldsOf(100) + "\r\n", limits);
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.1\n" + FieldsOf(100, "\n") + "\n", limits);
  ExpectError("GET / HTTP/1.1\r\n" + FieldsOf(101) + "\r\n", Status::kHeaderFieldsTooLarge,
              limits);
  ExpectError("GET / HTTP/1.1\n" + FieldsOf(101, "\n") + "\n", Status::kHeaderFieldsTooLarge,
              limits);
  // Reported while the oversized field is still arriving.
  Request request;
  const std::string partial = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(200, 'v');
  EXPECT_EQ(ParseRequest(partial, limits, &request).error, Status::kHeaderFieldsTooLarge);
  // The default limit, in many fields.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 40; ++i) many += "X-Field: " + std::string(250, 'v') + "\r\n";
  ExpectError(many + "\r\n", Status::kHeaderFieldsTooLarge);
}

TEST(ParseRequestTest, HeaderCountLimitIs431AtTheBoundary) {
  auto with_fields = [](size_t count) {
    std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (size_t i = 1; i < count; ++i) text += "X: " + std::to_string(i) + "\r\n";
    return text + "\r\n";
  };
  ExpectCompleteAtEveryPrefix(with_fields(64));
  ExpectError(with_fields(65), Status::kHeaderFieldsTooLarge);
  Limits limits;
  limits.max_headers = 1;
  ExpectCompleteAtEveryPrefix(with_fields(1), limits);
  ExpectError(with_fields(2), Status::kHeaderFieldsTooLarge, limits);
  limits.max_headers = 0;
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.0\r\n\r\n", limits);
  ExpectError("GET / HTTP/1.0\r\nX: y\r\n\r\n", Status::kHeaderFieldsTooLarge, limits);
}

TEST(ParseRequestTest, ZeroLimits) {
  Limits limits;
  limits.max_request_line = 0;
  ExpectError("GET / HTTP/1.1\r\n\r\n", Status::kUriTooLong, limits);
  limits = {};
  limits.max_header_bytes = 0;
  ExpectCompleteAtEveryPrefix("GET / HTTP/1.0\r\n\r\n", limits);
  ExpectError("GET / HTTP/1.1\r\nHost: h\r\n\r\n", Status::kHeaderFieldsTooLarge, limits);
}

}  // namespace
}  // namespace uk::http
