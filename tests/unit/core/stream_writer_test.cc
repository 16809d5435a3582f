#include "lb/core/stream_writer.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <string>
#include <vector>

#include "lb/core/uv_handle.h"

namespace lb {
namespace {

// A connected pair of pipes on one loop: the writer sends on one end, the
// test reads what arrives on the other.
class StreamWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_os_sock_t fds[2];
    ASSERT_EQ(uv_socketpair(SOCK_STREAM, 0, fds, 0, 0), 0);
    ASSERT_EQ(sender_.init(&loop_, uv_pipe_init, 0), 0);
    ASSERT_EQ(uv_pipe_open(sender_.get(), fds[0]), 0);
    ASSERT_EQ(receiver_.init(&loop_, uv_pipe_init, 0), 0);
    ASSERT_EQ(uv_pipe_open(receiver_.get(), fds[1]), 0);
    ASSERT_EQ(guard_.init(&loop_, uv_timer_init), 0);
    writer_.attach(sender_.stream(), this, &record_status);
  }

  static void record_status(void* self, int status) {
    static_cast<StreamWriterTest*>(self)->write_statuses_.push_back(status);
  }

  void TearDown() override {
    sender_.close();
    receiver_.close();
    guard_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `bytes` bytes have arrived and every write callback
  // has run, or 10 s have passed.
  void receive(size_t bytes) {
    want_ = bytes;
    receiver_->data = this;
    uv_read_start(
        receiver_.stream(), [](uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(new char[65536], 65536); },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          auto* self = static_cast<StreamWriterTest*>(s->data);
          if (n > 0) self->received_.append(buf->base, size_t(n));
          if (n < 0 || self->received_.size() >= self->want_) uv_read_stop(s);
          delete[] buf->base;
        });
    run_bounded();
  }

  // Runs until nothing is left to do; the guard only bounds a hang.
  void run_bounded() {
    guard_->data = this;
    uv_timer_start(guard_.get(), [](uv_timer_t* t) {
      static_cast<StreamWriterTest*>(t->data)->timed_out_ = true;
      uv_stop(t->loop);
    }, 10000, 0);
    uv_unref(guard_.handle());
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_timer_stop(guard_.get());
    ASSERT_FALSE(timed_out_);
  }

  // A pool block holding `text` at offset 0.
  BlockRef block_with(std::string_view text) {
    BlockRef b = pool_.take();
    std::memcpy(b.data(), text.data(), text.size());
    return b;
  }

  uv_loop_t loop_{};
  UvHandle<uv_pipe_t> sender_, receiver_;
  UvHandle<uv_timer_t> guard_;
  BlockPool pool_;
  WriteBatchPool batches_;  // outlives the writer and its batches
  StreamWriter writer_;
  std::vector<int> write_statuses_;
  std::string received_;
  size_t want_ = 0;
  bool timed_out_ = false;
};

// Stands in for TLS: frames each flush as "[<bytes>]" and may have output of
// its own (a handshake flight) to send with no application bytes at all.
struct BracketEncoder : StreamEncoder {
  std::string own_output;
  int calls = 0;
  void encode(const uv_buf_t* bufs, size_t count, std::string& out) override {
    ++calls;
    out += own_output;
    own_output.clear();
    if (count == 0) return;
    out += '[';
    for (size_t i = 0; i < count; ++i) out.append(bufs[i].base, bufs[i].len);
    out += ']';
  }
  bool has_output() const override { return !own_output.empty(); }
};

TEST_F(StreamWriterTest, EncoderSeesEachFlushWholeAndCanSendOnItsOwn) {
  BracketEncoder enc;
  writer_.set_encoder(&enc);
  ASSERT_EQ(writer_.flush(), 0);  // nothing gathered, nothing of its own: no call
  EXPECT_EQ(enc.calls, 0);

  enc.own_output = "HELLO";
  ASSERT_EQ(writer_.flush(), 0);
  BlockRef body = block_with("chunk one");
  writer_.append_copy("1;");
  writer_.append_ref(body, body.data(), 9);
  ASSERT_EQ(writer_.flush(), 0);  // one flush, one encoded piece: no holding back
  writer_.append_copy("chunk two");
  ASSERT_EQ(writer_.flush(), 0);
  body.reset();
  EXPECT_EQ(pool_.outstanding(), 0u);  // the plaintext batch let go of its blocks

  const std::string expected = "HELLO[1;chunk one][chunk two]";
  receive(expected.size());
  EXPECT_EQ(received_, expected);
  EXPECT_EQ(enc.calls, 3);
}

TEST_F(StreamWriterTest, GatheredCopiesAndBlockSlicesGoOutInOrderWithOneWrite) {
  BlockRef body = block_with("xxhello worldxx");
  BlockRef tail = block_with("the end");
  writer_.append_copy("POST / HTTP/1.1\r\n");
  writer_.append_copy("Transfer-Encoding: chunked\r\n\r\nb\r\n");
  writer_.append_ref(body, body.data() + 2, 11);
  writer_.append_copy("\r\n7\r\n");
  writer_.append_ref(tail, tail.data(), 7);
  writer_.append_copy("\r\n0\r\n\r\n");
  const std::string expected =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n7\r\nthe end\r\n0\r\n\r\n";
  EXPECT_EQ(writer_.gathered(), expected.size());
  EXPECT_EQ(writer_.in_flight(), 0u);
  EXPECT_FALSE(writer_.idle());

  // A socket with room takes the whole writev at once: nothing is queued,
  // so no write callback follows and the blocks are free immediately.
  ASSERT_EQ(writer_.flush(), 0);
  EXPECT_EQ(writer_.gathered(), 0u);
  EXPECT_EQ(writer_.in_flight(), 0u);
  EXPECT_TRUE(writer_.idle());
  body.reset();
  tail.reset();
  EXPECT_EQ(pool_.outstanding(), 0u);

  receive(expected.size());
  EXPECT_EQ(received_, expected);
  EXPECT_TRUE(write_statuses_.empty());
}

TEST_F(StreamWriterTest, LargeBodyAcrossManyBlocksArrivesIntact) {
  std::string expected;
  std::vector<BlockRef> blocks;
  for (int i = 0; i < 8; ++i) {
    BlockRef b = pool_.take();
    std::memset(b.data(), 'a' + i, Block::kSize);
    writer_.append_copy("[" + std::to_string(i) + "]");
    writer_.append_ref(b, b.data(), Block::kSize);
    expected += "[" + std::to_string(i) + "]" + std::string(Block::kSize, char('a' + i));
  }
  // 512 KiB is more than a socket buffer takes at once: the part written
  // now is dropped from the batch, the rest is queued, and its write
  // callback reports completion. The blocks stay alive until then.
  ASSERT_EQ(writer_.flush(), 0);
  EXPECT_GT(writer_.in_flight(), 0u);
  EXPECT_LT(writer_.in_flight(), expected.size());
  blocks.clear();
  EXPECT_GT(pool_.outstanding(), 0u);
  receive(expected.size());
  EXPECT_EQ(received_.size(), expected.size());
  EXPECT_TRUE(received_ == expected);
  EXPECT_EQ(write_statuses_, std::vector<int>{0});
  EXPECT_EQ(writer_.in_flight(), 0u);
  EXPECT_EQ(pool_.outstanding(), 0u);
}

TEST_F(StreamWriterTest, SuccessiveFlushesKeepTheirOrder) {
  writer_.append_copy("one ");
  ASSERT_EQ(writer_.flush(), 0);
  BlockRef b = block_with("two ");
  writer_.append_ref(b, b.data(), 4);
  ASSERT_EQ(writer_.flush(), 0);
  writer_.append_copy("three");
  ASSERT_EQ(writer_.flush(), 0);
  receive(13);
  EXPECT_EQ(received_, "one two three");
  EXPECT_EQ(writer_.in_flight(), 0u);
}

TEST_F(StreamWriterTest, DiscardDropsWhatWasNotFlushed) {
  BlockRef b = block_with("dropped body");
  writer_.append_copy("dropped head");
  writer_.append_ref(b, b.data(), 12);
  writer_.discard();
  EXPECT_EQ(writer_.gathered(), 0u);
  EXPECT_TRUE(writer_.idle());
  b.reset();
  EXPECT_EQ(pool_.outstanding(), 0u);  // the discarded slice let go of its block

  writer_.append_copy("kept");
  ASSERT_EQ(writer_.flush(), 0);
  receive(4);
  EXPECT_EQ(received_, "kept");
}

TEST_F(StreamWriterTest, FlushWithNothingGatheredWritesNothing) {
  writer_.append_copy("");
  BlockRef b = pool_.take();
  writer_.append_ref(b, b.data(), 0);
  EXPECT_EQ(writer_.flush(), 0);
  EXPECT_EQ(writer_.in_flight(), 0u);
  run_bounded();
  EXPECT_TRUE(write_statuses_.empty());
  EXPECT_TRUE(writer_.idle());
}

TEST_F(StreamWriterTest, FailedWriteReportsItsStatusAndSettlesAccounting) {
  // Writing to a closed peer raises SIGPIPE; lbd ignores it, so does this test.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &previous), 0);

  receiver_.close();
  run_bounded();  // the peer is gone
  BlockRef b = block_with("body");
  writer_.append_copy("head");
  writer_.append_ref(b, b.data(), 4);
  b.reset();
  const int rc = writer_.flush();
  run_bounded();
  if (rc == 0) {
    ASSERT_EQ(write_statuses_.size(), 1u);
    EXPECT_LT(write_statuses_[0], 0);
  } else {
    EXPECT_TRUE(write_statuses_.empty());
  }
  EXPECT_EQ(writer_.in_flight(), 0u);
  EXPECT_EQ(pool_.outstanding(), 0u);
  sigaction(SIGPIPE, &previous, nullptr);
}

TEST_F(StreamWriterTest, RecycledBatchesCarryNothingOver) {
  writer_.attach(sender_.stream(), this, &record_status, &batches_);
  for (std::string_view word : {"first ", "second ", "third"}) {
    BlockRef b = block_with(word);
    writer_.append_copy("<");
    writer_.append_ref(b, b.data(), word.size());
    writer_.append_copy(">");
    ASSERT_EQ(writer_.flush(), 0);
    receive(received_.size() + word.size() + 2);  // the batch goes back to the pool
  }
  EXPECT_EQ(received_, "<first ><second ><third>");
  EXPECT_TRUE(writer_.idle());
}

TEST_F(StreamWriterTest, CountsBlocksHeldNotBytes) {
  // 100-byte events each in a Block of their own pin 64 KiB apiece: the
  // count is what back-pressure must look at.
  std::vector<BlockRef> blocks;
  for (int i = 0; i < 3; ++i) {
    blocks.push_back(block_with("event"));
    writer_.append_copy("5\r\n");
    writer_.append_ref(blocks.back(), blocks.back().data(), 5);
    writer_.append_copy("\r\n");
  }
  EXPECT_EQ(writer_.blocks_held(), 3u);
  // Slices of one Block, one after another, count once (and merge).
  BlockRef shared = block_with("abcdef");
  writer_.append_ref(shared, shared.data(), 3);
  writer_.append_ref(shared, shared.data() + 3, 3);
  EXPECT_EQ(writer_.blocks_held(), 4u);
  ASSERT_EQ(writer_.flush(), 0);
  const std::string expected = "5\r\nevent\r\n5\r\nevent\r\n5\r\nevent\r\nabcdef";
  receive(expected.size());
  EXPECT_EQ(received_, expected);
  EXPECT_EQ(writer_.blocks_held(), 0u);
  EXPECT_EQ(writer_.flushed(), expected.size());
}

TEST_F(StreamWriterTest, RollbackDropsWhatWasGatheredAfterAMark) {
  writer_.append_copy("HTTP/1.1 100 Continue\r\n\r\n");
  const size_t mark = writer_.gathered();
  BlockRef body = block_with("broken");
  writer_.append_copy("HTTP/1.1 200 OK\r\n\r\n");  // merges into the owned bytes above
  writer_.append_ref(body, body.data(), 6);
  EXPECT_EQ(writer_.blocks_held(), 1u);
  writer_.rollback(mark);
  EXPECT_EQ(writer_.gathered(), mark);
  EXPECT_EQ(writer_.blocks_held(), 0u);
  writer_.append_copy("HTTP/1.1 502 Bad Gateway\r\n\r\n");
  ASSERT_EQ(writer_.flush(), 0);
  const std::string expected = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 502 Bad Gateway\r\n\r\n";
  receive(expected.size());
  EXPECT_EQ(received_, expected);
  body.reset();
  EXPECT_EQ(pool_.outstanding(), 0u);
}

}  // namespace
}  // namespace lb
