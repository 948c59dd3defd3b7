// fstest --mode=write: write-side calls, each checked by reading back. The
// host test (tests/fs_test.py) then runs e2fsck -fn on the disk and reads
// the results with debugfs; keep the two in step.
//
// Leaves, under /fstest:
//   small       "hello, ext2\n"
//   big         5 MiB of Pattern() (double-indirect with 4 KiB blocks)
//   sparse      4 KiB of Pattern() at offset 10 MiB, a hole before it
//   shrunk      1 MiB written, then truncated to 5000 bytes
//   sub/new     "renamed\n" (created as /fstest/old, then renamed)
//   link        symlink to "sub/new"
// and removes /fstest/gone (a file) and /fstest/empty (a directory).

#include <string_view>

#include "apps/fstest/checks.h"
#include "kernel/lib/log.h"

namespace uk::fstest {
namespace {

constexpr uint64_t kBigSize = 5 << 20;
constexpr uint64_t kSparseOffset = 10 << 20;
constexpr size_t kChunk = 256 * 1024;

uint8_t Pattern(uint64_t i) { return static_cast<uint8_t>(i * 7 + i / 4096); }

class Checker {
 public:
  explicit Checker(fs::FsClient& client) : client_(client) {}

  void Expect(bool condition, const char* what) {
    ++checks_;
    if (!condition) {
      ++failures_;
      Print("fstest: write check failed: %s\n", what);
    }
  }
  void ExpectError(fs::Error got, fs::Error want, const char* what) {
    ++checks_;
    if (got != want) {
      ++failures_;
      Print("fstest: write check failed: %s: got %s, want %s\n", what, fs::ErrorName(got),
            fs::ErrorName(want));
    }
  }

  // Creates `path` and writes `data` at `offset`; returns the handle (0 on failure).
  uint32_t CreateWith(std::string_view path, uint64_t offset, std::span<const uint8_t> data) {
    const fs::Result<uint32_t> handle = client_.Create(path);
    ExpectError(handle.error(), fs::Error::kOk, "create");
    if (!handle.ok()) return 0;
    const fs::Result<size_t> written = client_.Write(handle.value(), offset, data);
    Expect(written.ok() && written.value() == data.size(), "write");
    return handle.value();
  }

  // Reads `path` whole; checks its size and that byte i == expected(i).
  template <typename F>
  void ExpectContent(std::string_view path, uint64_t size, F expected, uint8_t* buffer) {
    const fs::Result<uint32_t> handle = client_.Open(path);
    ExpectError(handle.error(), fs::Error::kOk, "open for read-back");
    if (!handle.ok()) return;
    uint64_t offset = 0;
    bool same = true;
    for (;;) {
      const fs::Result<size_t> n = client_.Read(handle.value(), offset, {buffer, kChunk});
      if (!n.ok() || n.value() == 0) break;
      for (size_t i = 0; i < n.value() && same; ++i) same = buffer[i] == expected(offset + i);
      offset += n.value();
    }
    (void)client_.Close(handle.value());
    Expect(offset == size, "read-back size");
    Expect(same, "read-back content");
  }

  bool Passed() {
    Print("fstest: %u write checks, %u failed\n", checks_, failures_);
    return failures_ == 0;
  }

 private:
  fs::FsClient& client_;
  uint32_t checks_ = 0;
  uint32_t failures_ = 0;
};

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

bool WriteAndCheck(fs::FsClient& client) {
  Checker check(client);
  auto* buffer = new uint8_t[kChunk];
  const fs::Result<uint32_t> top = client.Mkdir("/fstest");
  if (!top.ok()) {
    Print("fstest: mkdir /fstest: %s (run the write test on a fresh disk)\n",
          fs::ErrorName(top.error()));
    return false;
  }
  check.ExpectError(client.Mkdir("/fstest/sub").error(), fs::Error::kOk, "mkdir sub");
  check.ExpectError(client.Mkdir("/fstest/empty").error(), fs::Error::kOk, "mkdir empty");

  const std::string_view hello = "hello, ext2\n";
  (void)client.Close(check.CreateWith("/fstest/small", 0, Bytes(hello)));

  // Big: written in chunks, so the block map grows through every level.
  const fs::Result<uint32_t> big = client.Create("/fstest/big");
  check.ExpectError(big.error(), fs::Error::kOk, "create big");
  for (uint64_t offset = 0; big.ok() && offset < kBigSize; offset += kChunk) {
    for (size_t i = 0; i < kChunk; ++i) buffer[i] = Pattern(offset + i);
    const fs::Result<size_t> n = client.Write(big.value(), offset, {buffer, kChunk});
    check.Expect(n.ok() && n.value() == kChunk, "write big chunk");
  }
  if (big.ok()) (void)client.Close(big.value());

  for (size_t i = 0; i < 4096; ++i) buffer[i] = Pattern(kSparseOffset + i);
  (void)client.Close(check.CreateWith("/fstest/sparse", kSparseOffset, {buffer, 4096}));

  for (size_t i = 0; i < kChunk; ++i) buffer[i] = Pattern(i);
  const uint32_t shrunk = check.CreateWith("/fstest/shrunk", 0, {buffer, kChunk});
  for (uint64_t offset = kChunk; shrunk != 0 && offset < (1 << 20); offset += kChunk) {
    (void)client.Write(shrunk, offset, {buffer, kChunk});  // contents do not matter past 5000
  }
  check.ExpectError(client.Truncate(shrunk, 5000), fs::Error::kOk, "truncate");
  (void)client.Close(shrunk);

  (void)client.Close(check.CreateWith("/fstest/gone", 0, Bytes("temporary\n")));
  check.ExpectError(client.Unlink("/fstest/gone"), fs::Error::kOk, "unlink");
  (void)client.Close(check.CreateWith("/fstest/old", 0, Bytes("renamed\n")));
  check.ExpectError(client.Rename("/fstest/old", "/fstest/sub/new"), fs::Error::kOk, "rename");
  check.ExpectError(client.Rmdir("/fstest/empty"), fs::Error::kOk, "rmdir");
  check.ExpectError(client.Symlink("/fstest/link", "sub/new").error(), fs::Error::kOk, "symlink");

  // Errors come back as codes, and leave the filesystem as it was.
  check.ExpectError(client.Create("/fstest/small").error(), fs::Error::kExists, "create twice");
  check.ExpectError(client.Rmdir("/fstest"), fs::Error::kNotEmpty, "rmdir non-empty");
  check.ExpectError(client.Unlink("/fstest/sub"), fs::Error::kIsDirectory, "unlink a directory");
  check.ExpectError(client.Open("fstest/small").error(), fs::Error::kInvalidPath, "relative");
  check.ExpectError(client.Open("/fstest/gone").error(), fs::Error::kNotFound, "unlinked");
  check.ExpectError(client.Open("/fstest/old").error(), fs::Error::kNotFound, "renamed away");
  check.ExpectError(client.Read(0xdead00, 0, {buffer, 16}).error(), fs::Error::kBadHandle,
                    "bad handle");

  // Read everything back through the service.
  check.ExpectContent("/fstest/small", hello.size(), [&](uint64_t i) { return hello[i]; }, buffer);
  check.ExpectContent("/fstest/big", kBigSize, Pattern, buffer);
  check.ExpectContent("/fstest/sparse", kSparseOffset + 4096,
                      [](uint64_t i) { return i < kSparseOffset ? 0 : Pattern(i); }, buffer);
  check.ExpectContent("/fstest/shrunk", 5000, Pattern, buffer);
  const std::string_view renamed = "renamed\n";
  check.ExpectContent("/fstest/link", renamed.size(), [&](uint64_t i) { return renamed[i]; },
                      buffer);
  check.ExpectError(client.Sync(), fs::Error::kOk, "sync");
  delete[] buffer;
  return check.Passed();
}

}  // namespace uk::fstest
