#include "lb/core/slice_queue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace lb {
namespace {

TEST(SliceQueue, MergesContinuingSlicesAndCountsBlocksOnce) {
  BlockPool pool;
  BlockRef a = pool.take();
  SliceQueue q;
  // 1,000 one-byte reads into one Block: one slice, one Block held.
  for (int i = 0; i < 1000; ++i) q.push(a, a.data() + i, 1);
  EXPECT_EQ(q.bytes(), 1000u);
  EXPECT_EQ(q.blocks(), 1u);
  SliceQueue::Slice s = q.pop();
  EXPECT_EQ(s.len, 1000u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.blocks(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(SliceQueue, CountsEachBlockHeldEvenForTinySlices) {
  BlockPool pool;
  SliceQueue q;
  for (int i = 0; i < 5; ++i) {
    BlockRef b = pool.take();
    q.push(b, b.data(), 1);  // what a read per Block would pin
  }
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(q.blocks(), 5u);  // the limit sees 5 x 64 KiB held, not 5 bytes
  EXPECT_EQ(pool.outstanding(), 5u);
  q.pop();
  EXPECT_EQ(q.blocks(), 4u);
  q.clear();
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(SliceQueue, PushFrontPutsBackTheRestOfAPoppedSlice) {
  BlockPool pool;
  BlockRef a = pool.take();
  BlockRef b = pool.take();
  std::memcpy(a.data(), "GET /1 GET /2", 13);
  SliceQueue q;
  q.push(a, a.data(), 13);
  q.push(b, b.data(), 4);
  SliceQueue::Slice s = q.pop();
  EXPECT_EQ(q.blocks(), 1u);
  q.push_front({s.block, s.data + 7, s.len - 7});  // "GET /2" was pipelined
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(q.blocks(), 2u);
  SliceQueue::Slice again = q.pop();
  EXPECT_EQ(std::string(again.data, again.len), "GET /2");
  EXPECT_EQ(q.pop().block.get(), b.get());
  EXPECT_TRUE(q.empty());
}

// Slices of one Block that do not continue each other (the parser consumed
// bytes in between) stay apart, in order, and the Block counts once.
TEST(SliceQueue, GapsInOneBlockKeepTheirOrderAndCountTheBlockOnce) {
  BlockPool pool;
  BlockRef a = pool.take();
  BlockRef b = pool.take();
  std::memcpy(a.data(), "0123456789", 10);
  SliceQueue q;
  q.push(a, a.data(), 2);      // "01"
  q.push(a, a.data() + 4, 2);  // "45"
  q.push(b, b.data(), 3);
  q.push(a, a.data() + 8, 2);  // "89", after b
  EXPECT_EQ(q.blocks(), 3u);   // a, b, a: each run of one Block counts
  EXPECT_EQ(q.bytes(), 9u);
  SliceQueue::Slice s = q.pop();
  EXPECT_EQ(std::string(s.data, s.len), "01");
  EXPECT_EQ(q.blocks(), 3u);
  s = q.pop();
  EXPECT_EQ(std::string(s.data, s.len), "45");
  EXPECT_EQ(q.blocks(), 2u);
  q.push_front({s.block, s.data + 1, 1});  // "5" back in front of b
  EXPECT_EQ(q.blocks(), 3u);
  EXPECT_EQ(std::string(q.pop().data, 1), "5");
  EXPECT_EQ(q.pop().block.get(), b.get());
  s = q.pop();
  EXPECT_EQ(std::string(s.data, s.len), "89");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.blocks(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
  q.push(b, b.data(), 1);  // usable again after emptying
  EXPECT_EQ(q.blocks(), 1u);
  EXPECT_FALSE(q.empty());
  SliceQueue taken = std::move(q);  // as a tunnel takes what was read early
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(taken.bytes(), 1u);
  EXPECT_EQ(taken.pop().block.get(), b.get());
}

TEST(SliceQueue, ManyPopsAndPutBacksStayLinear) {
  // The old vector front erase was O(n^2) over a pipelining flood; this
  // one pops in O(1). 200,000 slices must take well under a second even
  // unoptimised (not timed: a quadratic version simply would not finish
  // within the test timeout).
  BlockPool pool;
  BlockRef a = pool.take();
  SliceQueue q;
  constexpr int kSlices = 200000;
  for (int i = 0; i < kSlices; ++i) q.push(a, a.data() + (i % 2) * 2, 1);  // never contiguous: no merging
  size_t seen = 0;
  while (!q.empty()) {
    SliceQueue::Slice s = q.pop();
    if (seen % 3 == 0 && s.len == 1) {
      q.push_front({s.block, s.data, 0});  // an empty rest is not queued
    }
    seen += s.len;
  }
  EXPECT_EQ(seen, size_t(kSlices));
  EXPECT_EQ(q.blocks(), 0u);
}

}  // namespace
}  // namespace lb
