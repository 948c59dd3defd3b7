#pragma once
// Host-test support for the ext2 writer: a writable image in memory built
// by mke2fs, e2fsck -fn and debugfs over it, and write helpers that record
// gtest failures.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "services/fs/ext2.h"
#include "services/fs/test_image.h"

namespace uk::fs::testing {

inline constexpr uint32_t kNow = 1700000000;  // a fixed, plausible clock

inline std::string Describe(const ImageOptions& o) {
  return "b" + std::to_string(o.block_size) + "_r" +
         std::to_string(o.revision) + (o.index_directories ? "_htree" : "");
}

// Runs a shell command; returns its exit status and output.
inline int Run(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void WriteHostFile(const std::string& path,
                          const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()),
            static_cast<std::streamsize>(b.size()));
  ASSERT_TRUE(out.good());
}

// A writable image in memory, mounted.
struct Image {
  std::string path;
  std::vector<uint8_t> bytes;
  std::unique_ptr<MemoryBlockDevice> device;
  std::unique_ptr<Ext2> fs;

  Error Mount() {
    device = std::make_unique<MemoryBlockDevice>(bytes.data(), bytes.size());
    fs = std::make_unique<Ext2>();
    Error e = fs->Mount(*device);
    fs->SetTime(kNow);
    return e;
  }
  // e2fsck -fn on the current bytes; "" when clean, else its output. Clean
  // also means no question asked: e2fsck exits 0 when the only problems are
  // the superblock's summary counts ("Free blocks count wrong ... Fix? no"),
  // which must be right too.
  std::string Fsck() {
    WriteHostFile(path, bytes);
    std::string output;
    const int status = Run("/usr/sbin/e2fsck -fn '" + path + "'", &output);
    const bool clean = status == 0 && output.find("? no") == std::string::npos;
    return clean ? "" : "status " + std::to_string(status) + "\n" + output;
  }
  std::vector<uint8_t> DebugfsCat(const std::string& file) {
    std::string output;
    Run("/usr/sbin/debugfs -R 'cat \"" + file + "\"' '" + path +
            "' 2>/dev/null",
        &output);
    // debugfs prints its banner on stderr, which Run merges: drop line 1.
    const size_t banner = output.find('\n');
    if (output.rfind("debugfs ", 0) == 0 && banner != std::string::npos)
      output.erase(0, banner + 1);
    return {output.begin(), output.end()};
  }
};

inline const std::string& SourceTree() {
  static const std::string* root = [] {
    auto* r = new std::string(MakeTempDir("ext2_write_source"));
    BuildSourceTree(*r, /*large_file=*/false);
    return r;
  }();
  return *root;
}

inline const std::string& EmptyTree() {
  static const std::string* root =
      new std::string(MakeTempDir("ext2_write_empty"));
  return *root;
}

inline std::unique_ptr<Image> MakeWritable(const std::string& name,
                                           const ImageOptions& options,
                                           const std::string& source) {
  auto image = std::make_unique<Image>();
  const std::string dir = MakeTempDir("ext2_write_" + name);
  image->path = dir + "/fs.img";
  image->bytes = MakeImage(source, image->path, options);
  EXPECT_FALSE(image->bytes.empty());
  EXPECT_EQ(image->Mount(), Error::kOk);
  return image;
}

inline std::vector<uint8_t> Bytes(const std::string& seed, size_t size) {
  return FileBytes(seed, size);
}

inline uint32_t MustCreate(Ext2& fs, const std::string& path) {
  Result<uint32_t> r = fs.Create(path, 0644);
  EXPECT_TRUE(r.ok()) << path << ": " << ErrorName(r.error());
  return r.ok() ? r.value() : 0;
}

inline void MustWrite(Ext2& fs, uint32_t inode, uint64_t offset,
                      const std::vector<uint8_t>& bytes, size_t chunk = 0) {
  if (chunk == 0) chunk = bytes.size();
  for (size_t done = 0; done < bytes.size(); done += chunk) {
    const size_t n = std::min(chunk, bytes.size() - done);
    Result<size_t> r = fs.WriteFile(
        inode, offset + done, std::span<const uint8_t>(bytes.data() + done, n));
    ASSERT_TRUE(r.ok()) << ErrorName(r.error());
    ASSERT_EQ(r.value(), n);
  }
}

// A scripted sequence touching every write path, then e2fsck and read-back.

}  // namespace uk::fs::testing
