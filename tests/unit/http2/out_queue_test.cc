#include "lb/http2/out_queue.h"

#include <gtest/gtest.h>

#include <cstring>

namespace lb::http2 {
namespace {

TEST(Http2OutQueue, CountsDistinctBlocksAndCopies) {
  BlockPool pool;
  BlockRef a = pool.take(), b = pool.take();
  std::memcpy(a.data(), "abcdef", 6);
  std::memcpy(b.data(), "XYZ", 3);
  OutQueue q;
  q.push_ref(a, a.data(), 2);      // "ab"
  q.push_ref(a, a.data() + 2, 2);  // "cd", continues: merged
  q.push_ref(a, a.data() + 5, 1);  // "f", same Block elsewhere: still one
  EXPECT_EQ(q.blocks(), 1u);
  q.push_copy("12");
  q.push_copy("34");  // joins the copy before
  EXPECT_EQ(q.blocks(), 2u);
  q.push_ref(b, b.data(), 3);
  EXPECT_EQ(q.blocks(), 3u);
  EXPECT_EQ(q.bytes(), 12u);

  uint8_t buf[32];
  ASSERT_EQ(q.read(buf, 3), 3u);
  EXPECT_EQ(std::string((char*)buf, 3), "abc");
  EXPECT_EQ(q.blocks(), 3u);
  ASSERT_EQ(q.read(buf, 2), 2u);  // "df": the first Block is done with
  EXPECT_EQ(std::string((char*)buf, 2), "df");
  EXPECT_EQ(q.blocks(), 2u);
  ASSERT_EQ(q.read(buf, 32), 7u);
  EXPECT_EQ(std::string((char*)buf, 7), "1234XYZ");
  EXPECT_EQ(q.blocks(), 0u);
  EXPECT_TRUE(q.empty());
  a.reset();
  b.reset();
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(Http2OutQueue, ClearReleasesBlocks) {
  BlockPool pool;
  OutQueue q;
  {
    BlockRef a = pool.take();
    q.push_ref(a, a.data(), 10);
  }
  EXPECT_EQ(pool.outstanding(), 1u);
  q.clear();
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(q.bytes(), 0u);
}

}  // namespace
}  // namespace lb::http2
