#include "lb/core/read_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace lb {
namespace {

TEST(ReadBuffer, SmallReadsShareOneBlock) {
  BlockPool pool;
  ReadBuffer rb;
  std::vector<BlockRef> held;  // as if every byte waited in a queue
  for (int i = 0; i < 1000; ++i) {
    const uv_buf_t room = rb.offer(pool);
    room.base[0] = char('a' + i % 26);
    char* at = rb.commit(1);
    EXPECT_EQ(at, room.base);
    held.push_back(rb.block());
  }
  EXPECT_EQ(pool.outstanding(), 1u);  // not 1,000 Blocks of 64 KiB
  EXPECT_EQ(held.front().data()[0], 'a');
  EXPECT_EQ(held.front().data()[999], char('a' + 999 % 26));
}

TEST(ReadBuffer, StartsOverWhenNobodyElseHoldsTheBlock) {
  BlockPool pool;
  ReadBuffer rb;
  uv_buf_t room = rb.offer(pool);
  rb.commit(60000);
  room = rb.offer(pool);  // nobody kept a slice: the same Block from its start
  EXPECT_EQ(room.len, Block::kSize);
  EXPECT_EQ(pool.outstanding(), 1u);
}

TEST(ReadBuffer, TakesAFreshBlockWhenTheTailIsTooSmall) {
  BlockPool pool;
  ReadBuffer rb;
  rb.offer(pool);
  rb.commit(Block::kSize - ReadBuffer::kMinReadRoom + 1);
  BlockRef kept = rb.block();  // a queued slice keeps the first Block
  const uv_buf_t room = rb.offer(pool);
  EXPECT_EQ(room.len, Block::kSize);
  EXPECT_NE(rb.block().get(), kept.get());
  EXPECT_EQ(pool.outstanding(), 2u);
}

TEST(ReadBuffer, ResetLetsGoButSlicesKeepTheirBlock) {
  BlockPool pool;
  ReadBuffer rb;
  uv_buf_t room = rb.offer(pool);
  std::memcpy(room.base, "abc", 3);
  rb.commit(3);
  BlockRef kept = rb.block();
  rb.reset();
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(std::string(kept.data(), 3), "abc");
  kept.reset();
  EXPECT_EQ(pool.outstanding(), 0u);  // an idle connection holds no Block
}

}  // namespace
}  // namespace lb
