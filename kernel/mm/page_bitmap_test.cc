#include "kernel/mm/page_bitmap.h"

#include <gtest/gtest.h>

#include <vector>

namespace uk {
namespace {

class PageBitmapTest : public ::testing::Test {
 protected:
  void Init(uint64_t pages) {
    words_.assign(PageBitmap::WordsFor(pages), 0);
    bitmap_.Init(words_.data(), pages);
  }
  std::vector<uint64_t> words_;
  PageBitmap bitmap_;
};

TEST_F(PageBitmapTest, StartsFullyUsed) {
  Init(100);
  EXPECT_EQ(bitmap_.free_count(), 0u);
  EXPECT_EQ(bitmap_.Allocate(1), PageBitmap::kNone);
}

TEST_F(PageBitmapTest, AllocatesOnlyFreeRangesAndCounts) {
  Init(200);
  bitmap_.SetFree(10, 20);
  bitmap_.SetFree(150, 50);
  EXPECT_EQ(bitmap_.free_count(), 70u);
  uint64_t a = bitmap_.Allocate(20);
  EXPECT_EQ(a, 10u);
  EXPECT_EQ(bitmap_.Allocate(21), 150u);  // does not fit below 150 any more
  EXPECT_EQ(bitmap_.free_count(), 29u);
  EXPECT_EQ(bitmap_.Allocate(30), PageBitmap::kNone);
}

TEST_F(PageBitmapTest, RunsCrossWordBoundaries) {
  Init(256);
  bitmap_.SetFree(60, 10);  // spans words 0 and 1
  EXPECT_EQ(bitmap_.Allocate(10), 60u);
  for (uint64_t p = 60; p < 70; ++p) EXPECT_TRUE(bitmap_.IsUsed(p));
}

TEST_F(PageBitmapTest, FreeRejectsDoubleFreeAndOutOfRange) {
  Init(128);
  bitmap_.SetFree(0, 128);
  uint64_t a = bitmap_.Allocate(4);
  EXPECT_TRUE(bitmap_.Free(a, 4));
  EXPECT_FALSE(bitmap_.Free(a, 4));
  EXPECT_FALSE(bitmap_.Free(127, 2));
  EXPECT_FALSE(bitmap_.Free(500, 1));
  EXPECT_EQ(bitmap_.free_count(), 128u);
}

TEST_F(PageBitmapTest, WrapsAroundToReuseFreedPages) {
  Init(64);
  bitmap_.SetFree(0, 64);
  for (int i = 0; i < 64; ++i) ASSERT_NE(bitmap_.Allocate(1), PageBitmap::kNone);
  EXPECT_EQ(bitmap_.Allocate(1), PageBitmap::kNone);
  EXPECT_TRUE(bitmap_.Free(5, 1));
  EXPECT_EQ(bitmap_.Allocate(1), 5u);
}

TEST_F(PageBitmapTest, SetUsedAndSetFreeClampToSize) {
  Init(10);
  bitmap_.SetFree(5, 100);
  EXPECT_EQ(bitmap_.free_count(), 5u);
  bitmap_.SetUsed(8, 100);
  EXPECT_EQ(bitmap_.free_count(), 3u);
}

}  // namespace
}  // namespace uk
