#include "lb/core/block.h"

#include <gtest/gtest.h>

namespace lb {
namespace {

TEST(BlockPool, TakeHandsOutAReferencedBlock) {
  BlockPool pool;
  BlockRef ref = pool.take();
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref.get()->refs, 1u);
  EXPECT_EQ(ref.get()->pool, &pool);
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(pool.cached(), 0u);
}

TEST(BlockPool, LastReferenceReturnsTheBlockForReuse) {
  BlockPool pool;
  Block* first = nullptr;
  {
    BlockRef ref = pool.take();
    first = ref.get();
    ref.data()[0] = 'x';
  }
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
  BlockRef again = pool.take();
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(again.get()->refs, 1u);
  EXPECT_EQ(pool.cached(), 0u);
}

TEST(BlockPool, CopiesShareTheBlockUntilTheLastOneGoes) {
  BlockPool pool;
  BlockRef a = pool.take();
  BlockRef b = a;
  BlockRef c;
  c = b;
  EXPECT_EQ(a.get(), c.get());
  EXPECT_EQ(a.get()->refs, 3u);
  a.reset();
  EXPECT_FALSE(a);
  b.reset();
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(c.get()->refs, 1u);
  c.reset();
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
}

TEST(BlockPool, MoveTransfersTheReferenceWithoutCounting) {
  BlockPool pool;
  BlockRef a = pool.take();
  Block* block = a.get();
  BlockRef b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  EXPECT_EQ(b.get(), block);
  EXPECT_EQ(block->refs, 1u);
  BlockRef c;
  c = std::move(b);
  EXPECT_EQ(block->refs, 1u);
  EXPECT_EQ(pool.outstanding(), 1u);
}

TEST(BlockPool, AssigningOverAReferenceReleasesTheOldBlock) {
  BlockPool pool;
  BlockRef a = pool.take();
  BlockRef b = pool.take();
  EXPECT_EQ(pool.outstanding(), 2u);
  a = b;
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(pool.cached(), 1u);
  EXPECT_EQ(b.get()->refs, 2u);
}

TEST(BlockPool, CachesAtMostMaxCachedBlocks) {
  BlockPool pool(2);
  {
    BlockRef a = pool.take(), b = pool.take(), c = pool.take();
    EXPECT_EQ(pool.outstanding(), 3u);
  }
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 2u);
}

TEST(BlockPool, ResetOfAnEmptyRefIsHarmless) {
  BlockRef empty;
  empty.reset();
  EXPECT_FALSE(empty);
  BlockRef copy = empty;
  EXPECT_FALSE(copy);
}

}  // namespace
}  // namespace lb
