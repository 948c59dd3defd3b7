// http_load: an open-loop HTTP/1.1 client that offers a constant request
// rate, for load sweeps (wrk keeps a fixed number of requests in flight, so
// its rate follows the server; Debian has no wrk2).
//
//   bazel run //tools:http_load -- --rate=2000 --seconds=10
//       --url=http://127.0.0.1:8080/index.html
//
// Flags (--help lists them with their defaults): --url=http://HOST:PORT/path
// (HOST an IPv4 address or localhost), --rate (required), --seconds (10),
// --warmup_seconds (1), --connections (16), --timeout_ms (2000).
//
// Request i is due at start + i / rate. A due request goes to an idle
// keep-alive connection (one request in flight per connection); when every
// connection is busy it waits in a FIFO queue and counts as `late`. Latency
// runs from the request's due time to the last byte of its response, so a
// server that falls behind shows it in the percentiles (no coordinated
// omission). Requests due in the warm-up are sent but not counted.
//
// Responses need a Content-Length, or end at the connection's close (204
// and 304 have no body); chunked bodies are not read and count as read
// errors. A connection the server closes with a request in flight counts a
// read error, is reopened, and the request is not sent again: resending
// would hide a server that drops requests, and a keep-alive connection
// idles out only after seconds, far longer than any gap at a useful rate.
// A request unanswered after --timeout_ms counts a timeout and its
// connection is reopened.
//
// Prints one line for scripts:
//   http_load: rate=R seconds=S sent=N completed=N achieved_rps=X p50_us=X
//     p90_us=X p99_us=X p999_us=X max_us=X non2xx=N connect_errors=N
//     read_errors=N timeouts=N late=N
// (one line; requests count if due in the measured window, connect errors
// in any phase) and a summary on stderr. Exit status: 0 every counted
// request got a 2xx; 1 some did not, or any error (connect, read, timeout,
// non-2xx); 2 bad flags; 3 no connection could be made at all (it gives up
// after 5 s without one).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tools/cli_flags.h"

ABSL_FLAG(std::string, url, "", "http://HOST:PORT/path (HOST: an IPv4 address or localhost)");
ABSL_FLAG(double, rate, 0, "requests per second offered (required)");
ABSL_FLAG(double, seconds, 10, "measured seconds, after the warm-up");
ABSL_FLAG(double, warmup_seconds, 1, "seconds of load before measuring (not counted)");
ABSL_FLAG(int32_t, connections, 16, "keep-alive connections, one request in flight each");
ABSL_FLAG(int32_t, timeout_ms, 2000, "a request unanswered this long counts a timeout");

namespace uk::tools {
namespace {

constexpr int kExitOk = 0, kExitErrors = 1, kExitUsage = 2, kExitNoConnection = 3;
constexpr int64_t kNs = 1000000000;
constexpr int64_t kReconnectDelayNs = 100 * 1000000LL;
constexpr size_t kMaxHeadBytes = 64 << 10;

constexpr char kIntro[] =
    "Usage: http_load --url=http://HOST:PORT/path --rate=N [--flag=value ...]\n\n"
    "Offers a constant rate of HTTP/1.1 GETs over keep-alive connections and\n"
    "measures latency from each request's due time. Prints one line\n"
    "'http_load: rate=... key=value ...' for scripts. Exit status: 0 all 2xx,\n"
    "1 errors, timeouts or non-2xx, 2 bad flags, 3 could not connect at all.\n";

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * kNs + t.tv_nsec;
}

struct Target {
  sockaddr_in address{};
  std::string request;  // the bytes of one GET
};

Target ParseUrl(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "http://")) UsageError("--url must start with http://");
  const size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  const std::string path = slash == absl::string_view::npos ? "/" : std::string(url.substr(slash));
  std::vector<absl::string_view> parts = absl::StrSplit(authority, ':');
  int port = 80;
  if (parts.size() > 2 || parts[0].empty() ||
      (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &port) || port < 1 || port > 65535))) {
    UsageError(absl::StrFormat("--url: bad host or port in '%s'", authority));
  }
  Target t;
  t.address.sin_family = AF_INET;
  t.address.sin_port = htons(static_cast<uint16_t>(port));
  const std::string host = parts[0] == "localhost" ? "127.0.0.1" : std::string(parts[0]);
  if (inet_pton(AF_INET, host.c_str(), &t.address.sin_addr) != 1) {
    UsageError(absl::StrFormat("--url: '%s' is not an IPv4 address or localhost", parts[0]));
  }
  t.request = absl::StrFormat("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: http_load\r\n\r\n",
                              path, authority);
  return t;
}

struct Request {
  int64_t due_ns;
  bool counted;       // due in the measured window
  bool late = false;  // waited in the queue for a connection
};

// What the run counts (requests due in the measured window only).
struct Tally {
  uint64_t sent = 0, completed = 0, non2xx = 0, connect_errors = 0, read_errors = 0;
  uint64_t timeouts = 0, late = 0;
  std::vector<int64_t> latencies_ns;
  bool ever_connected = false;
};

// One keep-alive connection and the response it is reading.
class Connection {
 public:
  explicit Connection(const Target& target) : target_(target) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { Close(); }

  int fd() const { return fd_; }
  bool idle() const { return fd_ >= 0 && !connecting_ && !busy_; }
  bool busy() const { return busy_; }
  const Request& request() const { return request_; }
  int64_t sent_ns() const { return sent_ns_; }

  // Opens the socket if it is closed and its reconnect delay has passed.
  void MaybeOpen(int64_t now, Tally& tally) {
    if (fd_ >= 0 || now < retry_at_ns_) return;
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(now, &tally.connect_errors);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const auto* address = reinterpret_cast<const sockaddr*>(&target_.address);
    if (connect(fd_, address, sizeof(target_.address)) == 0) {
      tally.ever_connected = true;
    } else if (errno == EINPROGRESS) {
      connecting_ = true;
    } else {
      Fail(now, &tally.connect_errors);
    }
  }

  void Send(const Request& request, int64_t now, Tally& tally) {
    request_ = request;
    busy_ = true;
    sent_ns_ = now;
    out_ = 0;
    if (request.counted) ++tally.sent;
    Flush(now, tally);
  }

  short Events() const {
    if (connecting_ || (busy_ && out_ < target_.request.size())) return POLLOUT;
    return POLLIN;
  }

  void OnReady(short revents, int64_t now, Tally& tally) {
    if (connecting_) {
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) return Fail(now, &tally.connect_errors);
      connecting_ = false;
      tally.ever_connected = true;
      return;
    }
    if (busy_ && out_ < target_.request.size()) return Flush(now, tally);
    if (revents & (POLLIN | POLLHUP | POLLERR)) Read(now, tally);
  }

  // A request past its deadline: count it, drop the connection.
  void TimeOut(int64_t now, Tally& tally) {
    if (request_.counted) ++tally.timeouts;
    busy_ = false;
    Fail(now, nullptr);
  }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    connecting_ = false;
    in_.clear();
  }

  // Closes, counts the error (if any) and waits before reconnecting.
  void Fail(int64_t now, uint64_t* counter) {
    if (counter != nullptr) ++*counter;
    Close();
    retry_at_ns_ = now + kReconnectDelayNs;
  }

  void Flush(int64_t now, Tally& tally) {
    while (out_ < target_.request.size()) {
      const ssize_t n = send(fd_, target_.request.data() + out_, target_.request.size() - out_,
                             MSG_NOSIGNAL);
      if (n > 0) {
        out_ += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
      } else {
        return Lost(now, tally);
      }
    }
  }

  // The connection broke with a request in flight: a read error.
  void Lost(int64_t now, Tally& tally) {
    const bool counted = busy_ && request_.counted;
    busy_ = false;
    Fail(now, counted ? &tally.read_errors : nullptr);
  }

  void Read(int64_t now, Tally& tally) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n > 0) {
        in_.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      // Closed (or reset): a body without Content-Length ends here.
      if (busy_ && !in_.empty() && Parse(now, tally, /*at_close=*/true)) {
        busy_ = false;
        Fail(now, nullptr);
        retry_at_ns_ = now;
        return;
      }
      return Lost(now, tally);
    }
    if (busy_ && Parse(now, tally, false) && close_after_) {
      Close();  // Connection: close; reopen at once
    }
  }

  // Completes the request if a whole response is in `in_`.
  bool Parse(int64_t now, Tally& tally, bool at_close) {
    const size_t head_end = in_.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      if (in_.size() > kMaxHeadBytes) Lost(now, tally);
      return false;
    }
    absl::string_view head(in_.data(), head_end);
    std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
    int status = 0;
    std::vector<absl::string_view> words = absl::StrSplit(lines[0], ' ');
    if (words.size() < 2 || !absl::StartsWith(words[0], "HTTP/1.") ||
        !absl::SimpleAtoi(words[1], &status)) {
      Lost(now, tally);
      return false;
    }
    int64_t length = -1;
    close_after_ = absl::StartsWith(words[0], "HTTP/1.0");
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) continue;
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const std::string value =
          absl::AsciiStrToLower(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      if (name == "content-length" && !absl::SimpleAtoi(value, &length)) length = -2;
      if (name == "transfer-encoding") length = -2;  // chunked: not supported
      if (name == "connection") close_after_ = value == "close";
    }
    if (status == 204 || status == 304) length = 0;  // never a body (RFC 9112 6.3)
    const size_t body_start = head_end + 4;
    if (length == -2 || (length < 0 && !at_close)) {
      if (length == -2) Lost(now, tally);
      return false;
    }
    const size_t total = length < 0 ? in_.size() : body_start + static_cast<size_t>(length);
    if (in_.size() < total) return false;
    in_.erase(0, total);
    busy_ = false;
    if (request_.counted) {
      ++tally.completed;
      if (status < 200 || status > 299) ++tally.non2xx;
      tally.latencies_ns.push_back(now - request_.due_ns);
    }
    return true;
  }

  const Target& target_;
  int fd_ = -1;
  bool connecting_ = false;
  bool busy_ = false;
  bool close_after_ = false;
  Request request_{};
  int64_t sent_ns_ = 0;
  int64_t retry_at_ns_ = 0;
  size_t out_ = 0;
  std::string in_;
};

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

int Run() {
  const Target target = ParseUrl(absl::GetFlag(FLAGS_url));
  const double rate = absl::GetFlag(FLAGS_rate);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double warmup = absl::GetFlag(FLAGS_warmup_seconds);
  const int connections = absl::GetFlag(FLAGS_connections);
  const int64_t timeout_ns = int64_t{absl::GetFlag(FLAGS_timeout_ms)} * 1000000;
  if (!(rate > 0 && rate <= 1e7)) UsageError("--rate must be in (0, 10000000]");
  if (!(seconds > 0 && seconds <= 86400)) UsageError("--seconds must be in (0, 86400]");
  if (!(warmup >= 0 && warmup <= 3600)) UsageError("--warmup_seconds must be in [0, 3600]");
  if (connections < 1 || connections > 10000) UsageError("--connections must be 1..10000");
  if (timeout_ns <= 0) UsageError("--timeout_ms must be positive");

  Tally tally;
  std::deque<Connection> pool;  // never moves its elements
  for (int i = 0; i < connections; ++i) pool.emplace_back(target);
  const int64_t start = NowNs() + kNs / 100;  // 10 ms to open the connections
  const int64_t window_start = start + static_cast<int64_t>(warmup * kNs);
  const int64_t window_end = window_start + static_cast<int64_t>(seconds * kNs);
  const double interval_ns = kNs / rate;
  uint64_t next = 0;
  std::deque<Request> queue;
  std::vector<pollfd> fds;
  std::vector<Connection*> owners;

  for (;;) {
    int64_t now = NowNs();
    for (Connection& c : pool) c.MaybeOpen(now, tally);
    int64_t due = start + static_cast<int64_t>(static_cast<double>(next) * interval_ns);
    for (; due <= now && due < window_end;
         due = start + static_cast<int64_t>(static_cast<double>(++next) * interval_ns)) {
      queue.push_back({due, due >= window_start});
    }
    for (Connection& c : pool) {
      if (queue.empty()) break;
      if (!c.idle()) continue;
      c.Send(queue.front(), now, tally);
      queue.pop_front();
    }
    // Whatever is still queued found every connection busy.
    for (Request& r : queue) {
      if (r.counted && !r.late) ++tally.late;
      r.late = true;
    }

    bool in_flight = !queue.empty();
    int64_t wake = due < window_end ? due : now + timeout_ns;
    for (Connection& c : pool) {
      if (!c.busy()) continue;
      in_flight = true;
      if (now - c.sent_ns() >= timeout_ns) {
        c.TimeOut(now, tally);
      } else {
        wake = std::min(wake, c.sent_ns() + timeout_ns);
      }
    }
    if (due >= window_end && !in_flight) break;
    if (due >= window_end && now > window_end + timeout_ns) {
      // Unanswered a timeout after the window: queued (never sent) or in flight.
      for (const Request& r : queue) tally.timeouts += r.counted ? 1 : 0;
      for (Connection& c : pool) tally.timeouts += c.busy() && c.request().counted ? 1 : 0;
      break;
    }
    if (!tally.ever_connected && now > start + 5 * kNs) break;

    fds.clear();
    owners.clear();
    for (Connection& c : pool) {
      if (c.fd() < 0) continue;
      fds.push_back({c.fd(), c.Events(), 0});
      owners.push_back(&c);
    }
    const int64_t wait_ns = std::max<int64_t>(0, std::min(wake - now, kReconnectDelayNs));
    timespec ts{static_cast<time_t>(wait_ns / kNs), static_cast<long>(wait_ns % kNs)};
    if (ppoll(fds.data(), fds.size(), &ts, nullptr) <= 0) continue;
    now = NowNs();
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) owners[i]->OnReady(fds[i].revents, now, tally);
    }
  }

  if (!tally.ever_connected) {
    absl::FPrintF(stderr, "http_load: could not connect to %s (is the server up?)\n",
                  absl::GetFlag(FLAGS_url));
    return kExitNoConnection;
  }
  std::sort(tally.latencies_ns.begin(), tally.latencies_ns.end());
  auto us = [&](double p) { return Percentile(tally.latencies_ns, p) / 1000; };
  const int64_t max_us = tally.latencies_ns.empty() ? 0 : tally.latencies_ns.back() / 1000;
  absl::PrintF(
      "http_load: rate=%g seconds=%g sent=%d completed=%d achieved_rps=%.1f p50_us=%d "
      "p90_us=%d p99_us=%d p999_us=%d max_us=%d non2xx=%d connect_errors=%d read_errors=%d "
      "timeouts=%d late=%d\n",
      rate, seconds, tally.sent, tally.completed, tally.completed / seconds, us(0.50), us(0.90),
      us(0.99), us(0.999), max_us, tally.non2xx, tally.connect_errors, tally.read_errors,
      tally.timeouts, tally.late);
  absl::FPrintF(stderr,
                "http_load: %g req/s offered for %g s: %d sent, %d answered (%d not 2xx), "
                "median %.2f ms, p99 %.2f ms; %d late, %d timeouts, %d connect and %d read "
                "errors\n",
                rate, seconds, tally.sent, tally.completed, tally.non2xx, us(0.5) / 1000.0,
                us(0.99) / 1000.0, tally.late, tally.timeouts, tally.connect_errors,
                tally.read_errors);
  const bool clean = tally.completed == tally.sent && tally.non2xx == 0 &&
                     tally.connect_errors + tally.read_errors + tally.timeouts == 0;
  return clean ? kExitOk : kExitErrors;
}

}  // namespace
}  // namespace uk::tools

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  uk::tools::ParseToolFlags(argc, argv, "http_load", "http_load.cc", uk::tools::kIntro, 2);
  if (absl::GetFlag(FLAGS_url).empty()) uk::tools::UsageError("--url is required");
  return uk::tools::Run();
}
