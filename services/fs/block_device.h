#pragma once
// The seam between the filesystem and storage. Host tests implement it over
// an image held in memory; the kernel will implement it over virtio-blk.
//
// Byte-addressed rather than sector-addressed so the filesystem can read a
// 4-byte block pointer or a 128-byte inode without a bounce buffer; a
// sector-based device does the rounding (and may cache) on its side.

#include <cstddef>
#include <cstdint>

namespace uk::fs {

class BlockDevice {
 public:
  // Size of the device in bytes. Mount checks the superblock's block count
  // against it, so a truncated image is rejected up front.
  virtual uint64_t SizeBytes() const = 0;

  // Copies `length` bytes starting at byte `offset` into `out`. Returns false
  // on an I/O error or when [offset, offset + length) is not inside the
  // device; `out` is then unspecified.
  virtual bool ReadBytes(uint64_t offset, void* out, size_t length) = 0;

  // Copies `length` bytes from `data` to byte `offset`. Returns false on an
  // I/O error, on a read-only device, or when the range is not inside the
  // device. A device may buffer the write until Flush.
  virtual bool WriteBytes(uint64_t offset, const void* data, size_t length) = 0;

  // Makes every completed WriteBytes durable. Returns false on an I/O error.
  virtual bool Flush() = 0;

 protected:
  // Never deleted through this interface, so no virtual destructor (which
  // would drag operator delete into every user).
  ~BlockDevice() = default;
};

// A device over bytes already in memory (a ramdisk, or a test image).
// Writes land in that memory directly, so Flush has nothing to do.
class MemoryBlockDevice final : public BlockDevice {
 public:
  MemoryBlockDevice(uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t SizeBytes() const override { return size_; }
  bool ReadBytes(uint64_t offset, void* out, size_t length) override {
    if (offset > size_ || length > size_ - offset) return false;
    __builtin_memcpy(out, data_ + offset, length);
    return true;
  }
  bool WriteBytes(uint64_t offset, const void* data, size_t length) override {
    if (offset > size_ || length > size_ - offset) return false;
    __builtin_memcpy(data_ + offset, data, length);
    return true;
  }
  bool Flush() override { return true; }

 private:
  uint8_t* data_;
  uint64_t size_;
};

}  // namespace uk::fs
