// fstest --mode=verify: /MANIFEST against the files and the directory tree.

#include <string_view>

#include "apps/fstest/checks.h"
#include "kernel/lib/log.h"
#include "kernel/sched/scheduler.h"

namespace uk::fstest {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr int kMaxDepth = 32;

struct Tally {
  uint32_t files = 0;
  uint32_t links = 0;
  uint32_t directories = 0;
  uint32_t mismatches = 0;
  uint64_t bytes = 0;
};

void PrintError(const char* what, std::string_view path, fs::Error error) {
  Print("fstest: %s %.*s: %s\n", what, static_cast<int>(path.size()), path.data(),
        fs::ErrorName(error));
}

// Pops the next space-separated word off `line`.
std::string_view Word(std::string_view* line) {
  const size_t end = line->find(' ');
  const std::string_view word = line->substr(0, end);
  *line = end == std::string_view::npos ? std::string_view{} : line->substr(end + 1);
  return word;
}

bool ParseNumber(std::string_view text, int base, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
    if (digit >= base) return false;
    value = value * base + digit;
  }
  *out = value;
  return true;
}

bool CheckFile(fs::FsClient& client, std::string_view path, uint64_t size, uint32_t crc,
               uint8_t* buffer, Tally* tally) {
  const fs::Result<uint32_t> handle = client.Open(path);
  if (!handle.ok()) {
    PrintError("cannot open", path, handle.error());
    return false;
  }
  uint64_t offset = 0;
  uint32_t actual = 0;
  for (;;) {
    const fs::Result<size_t> n = client.Read(handle.value(), offset, {buffer, kChunk});
    if (!n.ok()) {
      PrintError("cannot read", path, n.error());
      break;
    }
    if (n.value() == 0) break;
    actual = Crc32(actual, {buffer, n.value()});
    offset += n.value();
  }
  (void)client.Close(handle.value());
  tally->bytes += offset;
  if (offset != size || actual != crc) {
    Print("fstest: MISMATCH %.*s: %lu bytes crc %08x, manifest says %lu bytes crc %08x\n",
          static_cast<int>(path.size()), path.data(), offset, actual, size, crc);
    return false;
  }
  return true;
}

// A symlink in the manifest must resolve to the same inode as its target,
// which is relative to the link's directory.
bool CheckLink(fs::FsClient& client, std::string_view path, std::string_view target) {
  char joined[fs::kMaxPath];
  const size_t slash = path.rfind('/');
  const size_t dir_length = slash == std::string_view::npos ? 0 : slash + 1;
  if (dir_length + target.size() >= sizeof(joined)) return false;
  __builtin_memcpy(joined, path.data(), dir_length);
  __builtin_memcpy(joined + dir_length, target.data(), target.size());
  const fs::Result<fs::Stat> via_link = client.StatPath(path);
  const fs::Result<fs::Stat> direct =
      client.StatPath({joined, dir_length + target.size()});
  if (!via_link.ok() || !direct.ok() || via_link.value().inode != direct.value().inode) {
    PrintError("symlink does not resolve to its target:", path,
               via_link.ok() ? direct.error() : via_link.error());
    return false;
  }
  return true;
}

// Counts what readdir shows under `path` (which is `length` bytes of the
// kMaxPath buffer), recursively.
bool Walk(fs::FsClient& client, char* path, size_t length, int depth, Tally* tally) {
  const std::string_view dir{path, length};
  const fs::Result<uint32_t> handle = client.Open(dir);
  if (!handle.ok()) {
    PrintError("cannot open directory", dir, handle.error());
    return false;
  }
  ++tally->directories;
  bool ok = true;
  fs::DirCursor cursor;
  fs::DirEntry entry;
  for (;;) {
    const fs::Result<bool> more = client.ReadDir(handle.value(), &cursor, &entry);
    if (!more.ok()) {
      PrintError("readdir failed in", dir, more.error());
      ok = false;
      break;
    }
    if (!more.value()) break;
    const std::string_view name = entry.Name();
    if (name == "." || name == "..") continue;
    if (entry.type == fs::FileType::kRegular) ++tally->files;
    if (entry.type == fs::FileType::kSymlink) ++tally->links;
    if (entry.type != fs::FileType::kDirectory) continue;
    const size_t child = length + (length > 1 ? 1 : 0) + name.size();
    if (depth >= kMaxDepth || child >= fs::kMaxPath) {
      PrintError("tree too deep at", dir, fs::Error::kNameTooLong);
      ok = false;
      continue;
    }
    size_t at = length;
    if (length > 1) path[at++] = '/';
    __builtin_memcpy(path + at, name.data(), name.size());
    ok &= Walk(client, path, child, depth + 1, tally);
  }
  (void)client.Close(handle.value());
  return ok;
}

}  // namespace

uint32_t Crc32(uint32_t crc, std::span<const uint8_t> data) {
  static uint32_t table[256];
  if (table[1] == 0) {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
  }
  crc = ~crc;
  for (uint8_t byte : data) crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return ~crc;
}

bool VerifyTree(fs::FsClient& client) {
  const uint64_t start = sched::Scheduler::Current().NowNs();
  const fs::Result<fs::Stat> manifest = client.StatPath("/MANIFEST");
  if (!manifest.ok()) {
    PrintError("cannot stat", "/MANIFEST", manifest.error());
    return false;
  }
  auto* text = new uint8_t[manifest.value().size + 1];
  auto* buffer = new uint8_t[kChunk];
  const fs::Result<uint32_t> handle = client.Open("/MANIFEST");
  fs::Result<size_t> read = handle.ok() ? client.Read(handle.value(), 0,
                                                      {text, manifest.value().size})
                                        : fs::Result<size_t>(handle.error());
  if (!read.ok() || read.value() != manifest.value().size) {
    PrintError("cannot read", "/MANIFEST", read.ok() ? fs::Error::kIo : read.error());
    return false;
  }
  (void)client.Close(handle.value());

  Tally listed;
  std::string_view rest{reinterpret_cast<const char*>(text), read.value()};
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
    if (line.empty()) continue;
    const std::string_view first = Word(&line);
    if (first == "L") {
      const std::string_view target = Word(&line);
      ++listed.links;
      if (!CheckLink(client, line, target)) ++listed.mismatches;
      continue;
    }
    uint64_t crc = 0, size = 0;
    const std::string_view size_text = Word(&line);
    if (!ParseNumber(first, 16, &crc) || !ParseNumber(size_text, 10, &size) || line.empty()) {
      Print("fstest: bad manifest line\n");
      ++listed.mismatches;
      continue;
    }
    ++listed.files;
    if (!CheckFile(client, line, size, static_cast<uint32_t>(crc), buffer, &listed)) {
      ++listed.mismatches;
    }
  }

  Tally walked;
  char path[fs::kMaxPath] = "/";
  const bool walk_ok = Walk(client, path, 1, 0, &walked);
  // The walk also finds /MANIFEST itself.
  const bool same_tree = walked.files == listed.files + 1 && walked.links == listed.links;
  if (!same_tree) {
    Print("fstest: readdir found %u files and %u symlinks; the manifest lists %u and %u\n",
          walked.files, walked.links, listed.files + 1, listed.links);
  }
  const uint64_t ms = (sched::Scheduler::Current().NowNs() - start) / 1000000;
  Print("fstest: verified %u files (%lu bytes) and %u symlinks in %lu ms; %u directories; "
        "%u mismatches\n",
        listed.files, listed.bytes, listed.links, ms, walked.directories, listed.mismatches);
  delete[] buffer;
  delete[] text;
  return listed.mismatches == 0 && walk_ok && same_tree;
}

}  // namespace uk::fstest
