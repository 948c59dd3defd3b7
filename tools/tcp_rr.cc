// tcp_rr: request/response and streaming load against a TCP echo server,
// like netperf's TCP_RR and TCP_STREAM, for the echo image.
//
//   bazel run //images:echo &          # guest port 7 on host 127.0.0.1:8007
//   bazel run //tools:tcp_rr -- --mode=rr --connections=4 --seconds=10
//   bazel run //tools:tcp_rr -- --mode=stream --size=65536
//
// rr: every connection (one thread each) sends --size bytes, reads exactly
// --size bytes back, checks them, and repeats. Each transaction's latency
// (steady_clock, send start to last byte read) is recorded if it started
// after the warm-up; tps counts those that started in the measured window.
// stream: one connection; a sender thread writes --size chunks for
// --seconds while a receiver thread reads the echo and checks it. MB/s are
// 10^6 bytes per second of the measured window, written and echoed;
// total_sent_bytes and checked_bytes cover the whole run (warm-up and
// drain too) and are equal when every byte came back and was compared.
//
// Every byte is checked. The payload is a byte stream per connection drawn
// from a fixed pseudo-random table whose length (65521, prime) divides no
// power of two, so lost, repeated or reordered bytes show up as a mismatch.
//
// Exit status: 0 measured; 1 cannot connect, or the connection failed (reset,
// closed, no echo for kIoTimeoutS); 2 bad flags; 3 the echo differed from
// what was sent (the message says where).
//
// Flags are abseil flags, set by tools/cli_flags.h's ParseToolFlags rather
// than absl::ParseCommandLine, which exits with status 1 on a bad flag, and
// status 1 is "cannot connect" here.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tools/cli_flags.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "echo server address or name");
ABSL_FLAG(int32_t, port, 8007, "echo server TCP port");
ABSL_FLAG(std::string, mode, "rr", "rr (request/response) or stream");
ABSL_FLAG(double, seconds, 10, "measured seconds, after the warm-up");
ABSL_FLAG(int64_t, size, 0,
          "bytes per request and response (rr) or per write (stream); "
          "0 = the mode's default: 1 for rr, 65536 for stream");
ABSL_FLAG(int32_t, connections, 1, "rr: parallel connections, one thread each");
ABSL_FLAG(double, warmup_seconds, 1, "seconds of traffic before measuring");
ABSL_FLAG(int32_t, connect_timeout_ms, 5000, "give up connecting after this long");

namespace uk::tools {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitConnection = 1;
constexpr int kExitUsage = 2;
constexpr int kExitMismatch = 3;
constexpr int kIoTimeoutS = 10;
constexpr int kPollStepMs = 50;
constexpr int64_t kMaxSize = 64 << 20;
constexpr int64_t kStreamReadBytes = 256 << 10;
constexpr char kHint[] = "is the echo image running? bazel run //images:echo";

struct Options {
  std::string host;
  int port;
  bool stream;
  double seconds;
  int64_t size;
  int connections;
  double warmup_seconds;
  int connect_timeout_ms;
};

// ---- Flags (set by ParseToolFlags, tools/cli_flags.h) ----

constexpr char kIntro[] =
    "Usage: tcp_rr [--flag=value ...]\n\n"
    "Request/response (--mode=rr) or streaming (--mode=stream) load against a\n"
    "TCP echo server, checking every echoed byte. Prints a table and one line\n"
    "'tcp_rr: mode=... key=value ...' for scripts. Exit status: 0 measured,\n"
    "1 cannot connect or connection failed, 2 bad flags, 3 echo mismatch.\n";

Options ValidatedOptions() {
  Options o;
  o.host = absl::GetFlag(FLAGS_host);
  o.port = absl::GetFlag(FLAGS_port);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "rr" && mode != "stream") UsageError("--mode must be rr or stream");
  o.stream = mode == "stream";
  o.seconds = absl::GetFlag(FLAGS_seconds);
  o.size = absl::GetFlag(FLAGS_size);
  if (o.size == 0) o.size = o.stream ? 65536 : 1;
  o.connections = absl::GetFlag(FLAGS_connections);
  o.warmup_seconds = absl::GetFlag(FLAGS_warmup_seconds);
  o.connect_timeout_ms = absl::GetFlag(FLAGS_connect_timeout_ms);
  if (o.host.empty()) UsageError("--host is empty");
  if (o.port < 1 || o.port > 65535) UsageError("--port must be 1..65535");
  if (!(o.seconds > 0 && o.seconds <= 86400)) UsageError("--seconds must be in (0, 86400]");
  if (o.size < 1 || o.size > kMaxSize) UsageError("--size must be 1..67108864");
  if (o.connections < 1 || o.connections > 10000) UsageError("--connections must be 1..10000");
  if (o.stream && o.connections != 1) UsageError("--mode=stream uses one connection");
  if (!(o.warmup_seconds >= 0 && o.warmup_seconds <= 3600)) {
    UsageError("--warmup_seconds must be in [0, 3600]");
  }
  if (o.connect_timeout_ms < 1) UsageError("--connect_timeout_ms must be positive");
  return o;
}

// ---- Payload ----

// The expected bytes of a connection's stream: byte at offset x is
// table_[x % kPeriod]. The table repeats past kPeriod so that At(x) is
// valid for max_view bytes from any offset.
class Pattern {
 public:
  static constexpr uint64_t kPeriod = 65521;

  explicit Pattern(int64_t max_view) : table_(kPeriod + max_view) {
    uint64_t state = 0x9e3779b97f4a7c15;
    for (uint64_t i = 0; i < kPeriod; ++i) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      table_[i] = static_cast<uint8_t>(state >> 56);
    }
    for (size_t i = kPeriod; i < table_.size(); ++i) table_[i] = table_[i % kPeriod];
  }
  const uint8_t* At(uint64_t offset) const { return &table_[offset % kPeriod]; }

 private:
  std::vector<uint8_t> table_;
};

// ---- Failures ----

// The first failure of any thread; it also tells the others to stop.
class Outcome {
 public:
  void Fail(int exit_status, std::string message) {
    std::lock_guard lock(mu_);
    if (exit_status_ == kExitOk) {
      exit_status_ = exit_status;
      message_ = std::move(message);
    }
    // Relaxed: only a hint to stop early; the result is read under mu_.
    stop_.store(true, std::memory_order_relaxed);
  }
  bool Stopped() const { return stop_.load(std::memory_order_relaxed); }
  // Prints the failure, if any, and returns the exit status.
  int Report() {
    std::lock_guard lock(mu_);
    if (exit_status_ != kExitOk) absl::FPrintF(stderr, "tcp_rr: %s\n", message_);
    return exit_status_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int exit_status_ = kExitOk;
  std::string message_;
};

std::string Mismatch(const char* where, uint64_t stream_offset, const uint8_t* got,
                     const uint8_t* want, size_t n) {
  size_t i = 0;
  while (i < n && got[i] == want[i]) ++i;
  return absl::StrFormat(
      "echo mismatch: %s, stream byte %d: got 0x%02x, expected 0x%02x (%d of %d bytes "
      "of this read matched before it)",
      where, stream_offset + i, got[i], want[i], i, n);
}

// ---- Sockets ----

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Connects with a timeout; on failure returns nullopt and sets *error.
std::optional<Socket> Connect(const Options& o, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &list); rc != 0) {
    *error = absl::StrFormat("cannot resolve %s: %s", o.host, gai_strerror(rc));
    return std::nullopt;
  }
  int err = ETIMEDOUT;
  std::optional<Socket> result;
  for (addrinfo* ai = list; ai != nullptr && !result; ai = ai->ai_next) {
    Socket s(socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol));
    if (s.fd() < 0) {
      err = errno;
      continue;
    }
    if (connect(s.fd(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        err = errno;
        continue;
      }
      pollfd p{s.fd(), POLLOUT, 0};
      if (poll(&p, 1, o.connect_timeout_ms) != 1) {
        err = ETIMEDOUT;
        continue;
      }
      socklen_t len = sizeof(err);
      getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) continue;
    }
    fcntl(s.fd(), F_SETFL, fcntl(s.fd(), F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{kIoTimeoutS, 0};
    setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    result = std::move(s);
  }
  freeaddrinfo(list);
  if (!result) {
    *error = absl::StrFormat("cannot connect to %s:%d: %s%s; %s", o.host, o.port, strerror(err),
                             err == ETIMEDOUT ? " (--connect_timeout_ms)" : "", kHint);
  }
  return result;
}

std::string IoError(const char* what, ssize_t rc, int err) {
  if (rc == 0 || err == EPIPE || err == ECONNRESET) {
    return absl::StrFormat("%s: the server closed the connection (%s); %s", what,
                           rc == 0 ? "end of stream" : strerror(err), kHint);
  }
  if (err == EAGAIN || err == EWOULDBLOCK) {
    return absl::StrFormat("%s: nothing for %d s", what, kIoTimeoutS);
  }
  return absl::StrFormat("%s: %s", what, strerror(err));
}

// Writes n bytes; returns false and sets *error on failure.
bool WriteAll(int fd, const uint8_t* p, size_t n, std::string* error) {
  while (n > 0) {
    ssize_t rc = send(fd, p, n, MSG_NOSIGNAL);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      *error = IoError("send", rc, errno);
      return false;
    }
    p += rc;
    n -= rc;
  }
  return true;
}

bool ReadExactly(int fd, uint8_t* p, size_t n, std::string* error) {
  while (n > 0) {
    ssize_t rc = recv(fd, p, n, 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      *error = IoError("waiting for the echo", rc, errno);
      return false;
    }
    p += rc;
    n -= rc;
  }
  return true;
}

std::vector<Socket> ConnectAll(const Options& o) {
  std::vector<Socket> sockets;
  for (int i = 0; i < o.connections; ++i) {
    std::string error;
    std::optional<Socket> s = Connect(o, &error);
    if (!s) {
      if (i > 0) error += absl::StrFormat(" (after %d connections succeeded)", i);
      absl::FPrintF(stderr, "tcp_rr: %s\n", error);
      std::exit(kExitConnection);
    }
    sockets.push_back(std::move(*s));
  }
  return sockets;
}

// ---- rr ----

double Micros(int64_t ns) { return ns / 1000.0; }

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Nearest-rank percentile of sorted values.
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int RunRr(const Options& o) {
  std::vector<Socket> sockets = ConnectAll(o);
  const Pattern pattern(o.size);
  Outcome outcome;
  const Clock::time_point measure_start = Clock::now() + Seconds(o.warmup_seconds);
  const Clock::time_point end = measure_start + Seconds(o.seconds);
  std::vector<std::vector<int64_t>> latencies(o.connections);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      const int fd = sockets[c].fd();
      std::vector<uint8_t> response(o.size);
      uint64_t offset = c * 7919u;  // Connections differ in their bytes.
      std::string error;
      for (int64_t txn = 0; !outcome.Stopped(); ++txn, offset += o.size) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        const uint8_t* request = pattern.At(offset);
        if (!WriteAll(fd, request, o.size, &error) ||
            !ReadExactly(fd, response.data(), o.size, &error)) {
          outcome.Fail(kExitConnection,
                       absl::StrFormat("connection %d, transaction %d: %s", c, txn, error));
          return;
        }
        const Clock::time_point t1 = Clock::now();
        if (memcmp(response.data(), request, o.size) != 0) {
          std::string where = absl::StrFormat("connection %d, transaction %d", c, txn);
          outcome.Fail(kExitMismatch,
                       Mismatch(where.c_str(), offset, response.data(), request, o.size));
          return;
        }
        if (t0 >= measure_start) latencies[c].push_back((t1 - t0).count());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (int status = outcome.Report(); status != kExitOk) return status;

  std::vector<int64_t> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) {
    absl::FPrintF(stderr, "tcp_rr: no transaction completed in the measured window\n");
    return kExitConnection;
  }
  const double tps = all.size() / o.seconds;
  const double median = Micros(Percentile(all, 0.5)), p90 = Micros(Percentile(all, 0.9));
  const double p99 = Micros(Percentile(all, 0.99)), max = Micros(all.back());
  absl::PrintF("rr %s:%d, %d B each way, %d connection(s), %g s after %g s warm-up\n", o.host,
               o.port, o.size, o.connections, o.seconds, o.warmup_seconds);
  absl::PrintF("%12s %12s %10s %10s %10s %10s\n", "transactions", "per second", "median us",
               "p90 us", "p99 us", "max us");
  absl::PrintF("%12d %12.1f %10.1f %10.1f %10.1f %10.1f\n", all.size(), tps, median, p90, p99, max);
  absl::PrintF(
      "tcp_rr: mode=rr size=%d connections=%d seconds=%g transactions=%d tps=%.1f "
      "median_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n",
      o.size, o.connections, o.seconds, all.size(), tps, median, p90, p99, max);
  return kExitOk;
}

// ---- stream ----

int RunStream(const Options& o) {
  std::vector<Socket> sockets = ConnectAll(o);
  const int fd = sockets[0].fd();
  const Pattern pattern(std::max(o.size, kStreamReadBytes));
  Outcome outcome;
  // Byte counts, written by one thread each and sampled by main: relaxed,
  // a sample only needs some recent value.
  std::atomic<uint64_t> sent{0}, received{0};
  std::atomic<bool> sender_done{false};  // Release: `sent` is final once true.
  std::atomic<bool> time_up{false};
  // Bytes the receiver compared with the pattern, over the whole run
  // (warm-up and drain included). Read after the join, which orders it.
  uint64_t checked_bytes = 0;

  std::thread sender([&] {
    uint64_t offset = 0;
    std::string error;
    while (!time_up.load(std::memory_order_relaxed) && !outcome.Stopped()) {
      if (!WriteAll(fd, pattern.At(offset), o.size, &error)) {
        outcome.Fail(kExitConnection, "sending: " + error);
        shutdown(fd, SHUT_RDWR);  // Unblocks the receiver.
        break;
      }
      offset += o.size;
      sent.store(offset, std::memory_order_relaxed);
    }
    sender_done.store(true, std::memory_order_release);
  });
  std::thread receiver([&] {
    std::vector<uint8_t> buf(kStreamReadBytes);
    uint64_t offset = 0;
    // Read until every sent byte has come back. Polls in short steps so
    // that it notices when the sender has stopped and all it wrote is in.
    int idle_ms = 0;
    while (!outcome.Stopped() && !(sender_done.load(std::memory_order_acquire) &&
                                   offset == sent.load(std::memory_order_relaxed))) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, kPollStepMs) == 0) {
        if ((idle_ms += kPollStepMs) < kIoTimeoutS * 1000) continue;
        outcome.Fail(kExitConnection, IoError("receiving the echo", -1, EAGAIN));
        shutdown(fd, SHUT_RDWR);  // Unblocks the sender.
        return;
      }
      idle_ms = 0;
      ssize_t rc = recv(fd, buf.data(), buf.size(), 0);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) {
        outcome.Fail(kExitConnection, IoError("receiving the echo", rc, errno));
        shutdown(fd, SHUT_RDWR);  // Unblocks the sender.
        return;
      }
      if (memcmp(buf.data(), pattern.At(offset), rc) != 0) {
        outcome.Fail(kExitMismatch, Mismatch("stream", offset, buf.data(), pattern.At(offset), rc));
        shutdown(fd, SHUT_RDWR);
        return;
      }
      checked_bytes += rc;
      offset += rc;
      received.store(offset, std::memory_order_relaxed);
    }
  });

  // Sleeps until `until`, or until a thread failed.
  auto wait = [&outcome](Clock::time_point until) {
    while (!outcome.Stopped() && Clock::now() < until) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(kPollStepMs)));
    }
  };
  wait(Clock::now() + Seconds(o.warmup_seconds));
  const uint64_t sent0 = sent.load(std::memory_order_relaxed);
  const uint64_t received0 = received.load(std::memory_order_relaxed);
  const Clock::time_point t0 = Clock::now();
  wait(t0 + Seconds(o.seconds));
  const uint64_t sent1 = sent.load(std::memory_order_relaxed);
  const uint64_t received1 = received.load(std::memory_order_relaxed);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  time_up.store(true, std::memory_order_relaxed);
  sender.join();
  receiver.join();
  if (int status = outcome.Report(); status != kExitOk) return status;

  const double sent_mb_s = (sent1 - sent0) / elapsed / 1e6;
  const double echoed_mb_s = (received1 - received0) / elapsed / 1e6;
  absl::PrintF("stream %s:%d, %d B writes, %g s after %g s warm-up\n", o.host, o.port, o.size,
               elapsed, o.warmup_seconds);
  absl::PrintF("%14s %14s %12s %12s\n", "sent bytes", "echoed bytes", "sent MB/s", "echoed MB/s");
  absl::PrintF("%14d %14d %12.1f %12.1f\n", sent1 - sent0, received1 - received0, sent_mb_s,
               echoed_mb_s);
  absl::PrintF(
      "tcp_rr: mode=stream size=%d connections=1 seconds=%.3f sent_bytes=%d echoed_bytes=%d "
      "sent_mb_s=%.1f echoed_mb_s=%.1f total_sent_bytes=%d checked_bytes=%d\n",
      o.size, elapsed, sent1 - sent0, received1 - received0, sent_mb_s, echoed_mb_s,
      sent.load(std::memory_order_relaxed), checked_bytes);
  return kExitOk;
}

}  // namespace
}  // namespace uk::tools

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // A closed connection is an error from send(), not a signal.
  uk::tools::ParseToolFlags(argc, argv, "tcp_rr", "tcp_rr.cc", uk::tools::kIntro,
                            uk::tools::kExitUsage);
  const uk::tools::Options options = uk::tools::ValidatedOptions();
  return options.stream ? uk::tools::RunStream(options) : uk::tools::RunRr(options);
}
