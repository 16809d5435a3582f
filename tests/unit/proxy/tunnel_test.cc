#include "lb/proxy/tunnel.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace lb::proxy {
namespace {

// A side that records what the relay asks of it; the test plays the socket.
class FakeSide final : public TunnelSide {
 public:
  void tunnel_send(const BlockRef&, const char* data, size_t len) override {
    sent.append(data, len);
    backlog += len;
  }
  size_t tunnel_backlog() const override { return backlog; }
  void tunnel_reading(bool on) override { reading = on; }
  void tunnel_shutdown() override { ++shutdowns; }

  std::string sent;
  size_t backlog = 0;
  bool reading = false;
  int shutdowns = 0;
};

class RecordingOwner final : public TunnelOwner {
 public:
  void on_tunnel_end(const char* why) override { ends.emplace_back(why); }
  std::vector<std::string> ends;
};

class TunnelTest : public ::testing::Test {
 public:  // the idle test calls send() from a uv callback
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(5));
  }
  void TearDown() override {
    tunnel_.reset();
    wheel_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void start(Duration idle = Duration(0)) {
    tunnel_ = std::make_unique<Tunnel>(client_, upstream_, *wheel_, idle, owner_);
    tunnel_->start();
  }
  void send(Tunnel::Side from, std::string_view bytes) {
    BlockRef b = blocks_.take();
    bytes.copy(b.data(), bytes.size());
    tunnel_->on_data(from, b, b.data(), bytes.size());
  }

  uv_loop_t loop_{};
  std::unique_ptr<TimerWheel> wheel_;
  BlockPool blocks_;
  FakeSide client_, upstream_;
  RecordingOwner owner_;
  std::unique_ptr<Tunnel> tunnel_;
};

TEST_F(TunnelTest, RelaysBothWaysInOrderAndCounts) {
  start();
  EXPECT_TRUE(client_.reading);
  EXPECT_TRUE(upstream_.reading);
  send(Tunnel::client, "hello ");
  send(Tunnel::upstream, "HELLO");
  send(Tunnel::client, "world");
  EXPECT_EQ(upstream_.sent, "hello world");
  EXPECT_EQ(client_.sent, "HELLO");
  EXPECT_EQ(tunnel_->bytes_from(Tunnel::client), 11u);
  EXPECT_EQ(tunnel_->bytes_from(Tunnel::upstream), 5u);
  EXPECT_TRUE(owner_.ends.empty());
}

TEST_F(TunnelTest, StopsReadingASideWhileTheOtherIsBackedUp) {
  start();
  const std::string chunk(64 * 1024, 'x');
  while (upstream_.backlog <= Tunnel::kHighWater) send(Tunnel::client, chunk);
  EXPECT_FALSE(client_.reading) << "client still read with " << upstream_.backlog << " bytes queued upstream";
  EXPECT_TRUE(upstream_.reading) << "the other direction is not affected";

  upstream_.backlog = Tunnel::kLowWater;  // written, but not yet below low water
  tunnel_->on_drained(Tunnel::upstream);
  EXPECT_FALSE(client_.reading);
  upstream_.backlog = Tunnel::kLowWater - 1;
  tunnel_->on_drained(Tunnel::upstream);
  EXPECT_TRUE(client_.reading);
}

TEST_F(TunnelTest, HalfCloseIsPassedOnAndTheTunnelEndsWhenBothAreShut) {
  start();
  tunnel_->on_eof(Tunnel::client);
  EXPECT_EQ(upstream_.shutdowns, 1) << "the client's FIN goes on to the backend";
  EXPECT_FALSE(client_.reading);
  tunnel_->on_shutdown_done(Tunnel::upstream, 0);
  EXPECT_TRUE(owner_.ends.empty()) << "the backend may still answer";

  send(Tunnel::upstream, "last words");
  EXPECT_EQ(client_.sent, "last words");
  tunnel_->on_eof(Tunnel::upstream);
  EXPECT_EQ(client_.shutdowns, 1);
  EXPECT_TRUE(owner_.ends.empty()) << "ended before the FIN to the client was out";
  tunnel_->on_shutdown_done(Tunnel::client, 0);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "closed by both sides");
}

TEST_F(TunnelTest, AnErrorEndsAtOnceAndLaterEventsAreIgnored) {
  start();
  tunnel_->on_error(Tunnel::upstream, "backend read error");
  send(Tunnel::client, "too late");
  tunnel_->on_eof(Tunnel::client);
  tunnel_->on_error(Tunnel::client, "client read error");
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "backend read error");
  EXPECT_EQ(upstream_.sent, "");
  EXPECT_EQ(upstream_.shutdowns, 0);
}

TEST_F(TunnelTest, IdleTimeoutEndsASilentTunnelAndTrafficPostponesIt) {
  start(Duration(60));
  const uint64_t t0 = uv_now(&loop_);
  // Traffic at ~40 ms moves the deadline to ~100 ms.
  uv_timer_t nudge;
  uv_timer_init(&loop_, &nudge);
  nudge.data = this;
  uv_timer_start(
      &nudge, [](uv_timer_t* t) { static_cast<TunnelTest*>(t->data)->send(Tunnel::upstream, "ping"); }, 40, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&nudge), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);  // finish the close while `nudge` is in scope
  const uint64_t elapsed = uv_now(&loop_) - t0;
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "idle timeout");
  EXPECT_GE(elapsed, 100u);
  EXPECT_LT(elapsed, 2000u);
}

}  // namespace
}  // namespace lb::proxy
