// libFuzzer target for the ext2 reader: every input is a disk image.
//
// Each input is copied into a heap buffer of exactly its size (so ASan
// catches a read one byte past the image), wrapped in a MemoryBlockDevice
// and mounted. If Mount accepts it, the whole tree is walked the way the
// filesystem service will: ReadDir recursively, StatPath with and without
// following links, ReadFile of every regular file in small chunks,
// ReadLink and Lookup through every symlink, MapBlock on each level of the
// block map, then a few raw inodes whatever their type and some odd paths.
//
// Budgets (depth, entries, bytes read) keep each input to milliseconds even
// when a corrupt directory points back at its parent or a file claims to be
// 4 GiB. Besides sanitizer reports, a few invariants of the API trap: a read
// never returns more than asked for or than the file has left, and ReadDir
// always moves forward.
//
// Built by ext2_fuzz.sh with clang++ -fsanitize=fuzzer,address,undefined;
// see README.md. Host only.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string_view>

#include "services/fs/block_device.h"
#include "services/fs/ext2.h"

namespace uk::fs {
namespace {

constexpr int kMaxDepth = 10;
constexpr int kMaxEntries = 2000;              // directory entries per input
constexpr uint64_t kMaxReadBytes = 256 << 10;  // file bytes per input
constexpr uint64_t kMaxFileBytes = 16 << 10;   // read from a file's start
constexpr size_t kChunk = 700;  // not a block size: reads straddle blocks
constexpr uint32_t kMaxRawInodes = 32;

// Set by ext2_fuzz.sh when running the seed corpus: every seed must mount,
// or the seeds (not the reader) are broken.
bool require_mount = false;

void Check(bool invariant) {
  if (!invariant) __builtin_trap();
}

class Walker {
 public:
  explicit Walker(Ext2& fs) : fs_(fs) {}

  void WalkRoot() {
    Inode root;
    if (fs_.ReadInode(ext2::kRootIno, &root) != Error::kOk) return;
    path_[0] = '/';
    WalkDirectory(root, 1, 0);
  }

  // Inodes read by number, whatever they are: the reserved ones (bad
  // blocks, resize inode), lost+found, orphans no directory names.
  void ReadRawInodes() {
    const uint32_t last =
        fs_.inodes_count() < kMaxRawInodes ? fs_.inodes_count() : kMaxRawInodes;
    for (uint32_t number = 0; number <= last + 1; ++number) {
      Inode inode;
      if (fs_.ReadInode(number, &inode) != Error::kOk) continue;
      ReadSome(inode);
      char target[64];
      (void)fs_.ReadLink(inode, target);
      DirCursor cursor;
      DirEntry entry;
      for (int i = 0; i < 8 && SpendEntry(); ++i) {
        Result<bool> more = fs_.ReadDir(inode, &cursor, &entry);
        if (!more.ok() || !more.value()) break;
      }
    }
  }

  void OddLookups() {
    static constexpr std::string_view kPaths[] = {
        "/../a//b/./c",
        "/",
        "//",
        "/.",
        "/..",
        "/./../.",
        "///..//.",
        "",
        "relative",
        "a/../b",
        "/lost+found",
        "/lost+found/",
        "/nonexistent/",
        "/a/../../b/",
        std::string_view("/\0x", 3),
    };
    for (std::string_view path : kPaths) {
      (void)fs_.Lookup(path, FollowLinks::kYes);
      (void)fs_.Lookup(path, FollowLinks::kNo);
      (void)fs_.StatPath(path);
    }
    // One component of 255 bytes (allowed) and one of 256 (too long), and
    // a path of kMaxPath bytes.
    path_[0] = '/';
    for (size_t i = 1; i < kMaxPath; ++i) path_[i] = i % 200 == 0 ? '/' : 'n';
    (void)fs_.Lookup(std::string_view(path_, 256));
    (void)fs_.Lookup(std::string_view(path_, 257));
    (void)fs_.Lookup(std::string_view(path_, kMaxPath));
  }

 private:
  bool SpendEntry() { return entries_left_-- > 0; }

  // Walks `dir`, whose path is path_[0, length).
  void WalkDirectory(const Inode& dir, size_t length, int depth) {
    DirCursor cursor;
    DirEntry entry;
    while (SpendEntry()) {
      const uint64_t before = cursor.offset;
      Result<bool> more = fs_.ReadDir(dir, &cursor, &entry);
      if (!more.ok() || !more.value()) return;
      Check(cursor.offset > before);
      Check(entry.inode != 0 && entry.name_len <= ext2::kMaxNameLen);
      const std::string_view name = entry.Name();
      if (name == "." || name == "..") continue;
      // path_ + "/" + name; the root's path is "/" already.
      const size_t slash = length > 1 ? 1 : 0;
      if (length + slash + name.size() >= kMaxPath) continue;
      if (slash) path_[length] = '/';
      __builtin_memcpy(path_ + length + slash, name.data(), name.size());
      const size_t child_length = length + slash + name.size();
      Visit(entry, child_length, depth);
    }
  }

  void Visit(const DirEntry& entry, size_t length, int depth) {
    const std::string_view path(path_, length);
    (void)fs_.StatPath(path, FollowLinks::kNo);
    Inode inode;
    if (fs_.ReadInode(entry.inode, &inode) != Error::kOk) return;
    switch (inode.Type()) {
      case FileType::kDirectory:
        if (depth < kMaxDepth) WalkDirectory(inode, length, depth + 1);
        break;
      case FileType::kRegular:
        ReadSome(inode);
        MapEveryLevel(inode);
        break;
      case FileType::kSymlink: {
        char small[16];
        char full[kMaxPath];
        Result<size_t> n = fs_.ReadLink(inode, small);
        if (n.ok()) Check(n.value() <= sizeof small);
        n = fs_.ReadLink(inode, full);
        if (n.ok()) Check(n.value() == inode.size);
        (void)fs_.StatPath(path, FollowLinks::kYes);
        break;
      }
      default:
        ReadSome(inode);  // devices and fifos have no data; must not crash
        break;
    }
  }

  // The first kMaxFileBytes in chunks, then around the end and past it.
  void ReadSome(const Inode& inode) {
    for (uint64_t offset = 0; offset < inode.size && offset < kMaxFileBytes;
         offset += kChunk) {
      if (!ReadAt(inode, offset)) return;
    }
    if (inode.size > kMaxFileBytes) {
      if (!ReadAt(inode, inode.size / 2 - 1)) return;
      if (!ReadAt(inode, inode.size - 1)) return;
    }
    (void)ReadAt(inode, inode.size);
    (void)ReadAt(inode, inode.size + 5000);
  }

  bool ReadAt(const Inode& inode, uint64_t offset) {
    if (read_left_ < kChunk) return false;
    read_left_ -= kChunk;
    Result<size_t> n = fs_.ReadFile(inode, offset, chunk_);
    if (!n.ok()) return false;
    const uint64_t left = offset < inode.size ? inode.size - offset : 0;
    Check(n.value() == (left < kChunk ? left : kChunk));
    return true;
  }

  // The first and last logical block of each level of the map (direct,
  // single, double and triple indirect) and one past the end.
  void MapEveryLevel(const Inode& inode) {
    const uint64_t p = fs_.block_size() / 4;
    const uint64_t starts[] = {0, ext2::kDirectBlocks, ext2::kDirectBlocks + p,
                               ext2::kDirectBlocks + p + p * p,
                               ext2::kDirectBlocks + p + p * p + p * p * p};
    for (uint64_t start : starts) {
      (void)fs_.MapBlock(inode, start);
      if (start > 0) (void)fs_.MapBlock(inode, start - 1);
    }
  }

  Ext2& fs_;
  int entries_left_ = kMaxEntries;
  uint64_t read_left_ = kMaxReadBytes;
  char path_[kMaxPath];
  uint8_t chunk_[kChunk];
};

}  // namespace
}  // namespace uk::fs

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  uk::fs::require_mount = std::getenv("EXT2_FUZZ_REQUIRE_MOUNT") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace uk::fs;  // NOLINT: a fuzz entry point, outside the namespace
  // A buffer this input owns, non-const whichever pointer MemoryBlockDevice
  // takes, sized exactly so a read past the image is an ASan report.
  std::unique_ptr<uint8_t[]> image(new uint8_t[size == 0 ? 1 : size]);
  if (size > 0) __builtin_memcpy(image.get(), data, size);
  MemoryBlockDevice device(image.get(), size);

  // On the heap: the reader holds ~12 KiB of buffers and the walker ~5 KiB,
  // and a fresh object per input keeps inputs independent.
  auto fs = std::make_unique<Ext2>();
  if (fs->Mount(device) != Error::kOk) {
    if (require_mount) __builtin_trap();
    return 0;
  }
  auto walker = std::make_unique<Walker>(*fs);
  walker->WalkRoot();
  walker->ReadRawInodes();
  walker->OddLookups();
  return 0;
}
