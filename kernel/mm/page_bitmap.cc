#include "kernel/mm/page_bitmap.h"

namespace uk {

void PageBitmap::Init(uint64_t* words, uint64_t page_count) {
  words_ = words;
  page_count_ = page_count;
  free_count_ = 0;
  next_ = 0;
  for (size_t i = 0; i < WordsFor(page_count); ++i) words_[i] = ~uint64_t{0};
}

void PageBitmap::SetFree(uint64_t first, uint64_t count) {
  for (uint64_t p = first; p < first + count && p < page_count_; ++p) {
    if (IsUsed(p)) {
      Set(p, false);
      ++free_count_;
    }
  }
}

void PageBitmap::SetUsed(uint64_t first, uint64_t count) {
  for (uint64_t p = first; p < first + count && p < page_count_; ++p) {
    if (!IsUsed(p)) {
      Set(p, true);
      --free_count_;
    }
  }
}

uint64_t PageBitmap::FindRun(uint64_t from, uint64_t to, uint64_t count) const {
  uint64_t run = 0;
  for (uint64_t p = from; p < to; ++p) {
    // Skip whole used words quickly.
    if (p % 64 == 0 && words_[p / 64] == ~uint64_t{0} && p + 64 <= to) {
      run = 0;
      p += 63;
      continue;
    }
    run = IsUsed(p) ? 0 : run + 1;
    if (run == count) return p + 1 - count;
  }
  return kNone;
}

uint64_t PageBitmap::Allocate(uint64_t count) {
  if (count == 0 || count > free_count_) return kNone;
  uint64_t first = FindRun(next_, page_count_, count);
  if (first == kNone) first = FindRun(0, page_count_, count);
  if (first == kNone) return kNone;
  SetUsed(first, count);
  next_ = first + count;
  return first;
}

bool PageBitmap::Free(uint64_t first, uint64_t count) {
  if (first >= page_count_ || count > page_count_ - first) return false;
  for (uint64_t p = first; p < first + count; ++p) {
    if (!IsUsed(p)) return false;
  }
  SetFree(first, count);
  return true;
}

}  // namespace uk
