#pragma once
// A bitmap of page frames: bit set = page in use. Portable (tested on the
// host); kernel/mm/page_allocator.cc wraps it in a lock and feeds it the
// boot memory map. Allocation is next-fit over runs of free pages, so the
// common single-page case is O(1) amortized and multi-page runs (stacks,
// large heap blocks) are contiguous.

#include <cstddef>
#include <cstdint>

namespace uk {

class PageBitmap {
 public:
  static constexpr uint64_t kNone = ~uint64_t{0};

  // `words` must hold `page_count` bits; every page starts out in use.
  void Init(uint64_t* words, uint64_t page_count);
  static constexpr size_t WordsFor(uint64_t page_count) { return (page_count + 63) / 64; }

  // Marks [first, first + count) free or used; clamps to the bitmap.
  void SetFree(uint64_t first, uint64_t count);
  void SetUsed(uint64_t first, uint64_t count);

  // Returns the first page of `count` contiguous free pages, now used, or
  // kNone when no such run exists.
  uint64_t Allocate(uint64_t count);
  // Frees pages; returns false (and changes nothing) if any was already free.
  bool Free(uint64_t first, uint64_t count);

  uint64_t free_count() const { return free_count_; }
  uint64_t page_count() const { return page_count_; }
  bool IsUsed(uint64_t page) const { return (words_[page / 64] >> (page % 64)) & 1; }

 private:
  void Set(uint64_t page, bool used) {
    uint64_t bit = uint64_t{1} << (page % 64);
    if (used) words_[page / 64] |= bit;
    else words_[page / 64] &= ~bit;
  }
  uint64_t FindRun(uint64_t from, uint64_t to, uint64_t count) const;

  uint64_t* words_ = nullptr;
  uint64_t page_count_ = 0;
  uint64_t free_count_ = 0;
  uint64_t next_ = 0;  // where the next search starts
};

}  // namespace uk
