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
  void tunnel_send_copy(std::string_view bytes) override {
    sent.append(bytes);
    backlog += bytes.size();
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

// Server frames are unmasked; client frames carry a 4-byte key (zeros here).
std::string server_frame(std::string_view payload) { return std::string{char(0x82), char(payload.size())} + std::string(payload); }
std::string client_frame(std::string_view payload) {
  return std::string{char(0x82), char(0x80 | payload.size()), 0, 0, 0, 0} + std::string(payload);
}
// The close code of the Close frame at the end of `sent` (unmasking it if needed).
int close_code_at_end(const std::string& sent) {
  const size_t n = sent.size();
  if (n >= 4 && uint8_t(sent[n - 4]) == 0x88 && uint8_t(sent[n - 3]) == 0x02)
    return uint8_t(sent[n - 2]) << 8 | uint8_t(sent[n - 1]);
  if (n >= 8 && uint8_t(sent[n - 8]) == 0x88 && uint8_t(sent[n - 7]) == 0x82)
    return (uint8_t(sent[n - 2]) ^ uint8_t(sent[n - 6])) << 8 | (uint8_t(sent[n - 1]) ^ uint8_t(sent[n - 5]));
  return -1;
}

TEST_F(TunnelTest, CloseAtFrameBoundariesSendsCloseFramesBothWaysThenFins) {
  start();
  send(Tunnel::upstream, server_frame("hi"));
  send(Tunnel::client, client_frame("yo"));
  tunnel_->close_with(http::kWsServiceRestart);
  EXPECT_EQ(close_code_at_end(client_.sent), 1012);
  EXPECT_EQ(close_code_at_end(upstream_.sent), 1001);
  EXPECT_EQ(uint8_t(upstream_.sent[upstream_.sent.size() - 7]), 0x82) << "masked towards the backend";
  EXPECT_EQ(client_.shutdowns, 1);
  EXPECT_EQ(upstream_.shutdowns, 1);
  // Nothing is relayed after our Close; the tunnel ends when the client closes.
  const size_t before = client_.sent.size();
  send(Tunnel::upstream, server_frame("late"));
  EXPECT_EQ(client_.sent.size(), before);
  tunnel_->on_shutdown_done(Tunnel::client, 0);
  tunnel_->on_shutdown_done(Tunnel::upstream, 0);
  EXPECT_TRUE(owner_.ends.empty()) << "waits for the client's answer";
  tunnel_->on_eof(Tunnel::client);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "closed by lbd");
}

TEST_F(TunnelTest, AFrameInFlightIsFinishedBeforeTheClose) {
  start();
  const std::string f = server_frame("0123456789");
  send(Tunnel::upstream, f.substr(0, 5));
  tunnel_->close_with(http::kWsGoingAway);
  EXPECT_EQ(client_.sent, f.substr(0, 5)) << "no Close inside a frame";
  EXPECT_EQ(client_.shutdowns, 0);
  EXPECT_EQ(close_code_at_end(upstream_.sent), 1001) << "the other direction was at a boundary";
  send(Tunnel::upstream, f.substr(5) + server_frame("next"));
  EXPECT_EQ(client_.sent.substr(0, f.size()), f) << "the frame ends whole";
  EXPECT_EQ(client_.sent.size(), f.size() + 4) << "then the Close, and not the next frame";
  EXPECT_EQ(close_code_at_end(client_.sent), 1001);
  EXPECT_EQ(client_.shutdowns, 1);
}

TEST_F(TunnelTest, AFrameThatNeverEndsIsCutAfterTheCloseWait) {
  start();
  send(Tunnel::upstream, std::string{char(0x82), 126, 0x10, 0x00} + "partial");  // 4096 bytes announced
  tunnel_->close_with(http::kWsGoingAway);
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "close timeout");
  EXPECT_EQ(close_code_at_end(client_.sent), -1) << "nothing was put inside the frame";
}

// Ending cancels whatever is still queued: the tunnel waits until both
// FINs (hence both Closes before them) are out, not only the client's EOF.
TEST_F(TunnelTest, EndsOnlyOnceOurClosesAreWrittenOut) {
  start();
  tunnel_->close_with(http::kWsGoingAway);
  tunnel_->on_eof(Tunnel::client);  // the client answers fast; our writes are still queued
  EXPECT_TRUE(owner_.ends.empty()) << "would cancel the Close still queued to the backend";
  tunnel_->on_shutdown_done(Tunnel::client, 0);
  EXPECT_TRUE(owner_.ends.empty());
  tunnel_->on_shutdown_done(Tunnel::upstream, 0);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "closed by lbd");
}

// The backend sent its FIN in the middle of a frame before the stop: that
// frame never ends, and the client already has our FIN. Nothing waits for it.
TEST_F(TunnelTest, ASideThatEndedMidFrameIsNotWaitedFor) {
  start();
  send(Tunnel::upstream, std::string{char(0x82), 10} + "part");
  tunnel_->on_eof(Tunnel::upstream);
  EXPECT_EQ(client_.shutdowns, 1);  // the half-close went on
  tunnel_->close_with(http::kWsGoingAway);
  EXPECT_EQ(close_code_at_end(upstream_.sent), 1001);
  EXPECT_EQ(close_code_at_end(client_.sent), -1) << "nothing after our FIN";
  EXPECT_EQ(client_.shutdowns, 1) << "one FIN only";
  tunnel_->on_shutdown_done(Tunnel::client, 0);
  tunnel_->on_shutdown_done(Tunnel::upstream, 0);
  tunnel_->on_eof(Tunnel::client);
  ASSERT_EQ(owner_.ends.size(), 1u);
  EXPECT_EQ(owner_.ends[0], "closed by lbd") << "not the 1 s close timeout";
}

// The backend began the close handshake itself: lbd adds no second Close.
TEST_F(TunnelTest, APeersOwnCloseIsNotFollowedByAnother) {
  start();
  send(Tunnel::upstream, http::ws_close_frame(1000, nullptr));
  tunnel_->close_with(http::kWsServiceRestart);
  EXPECT_EQ(client_.sent, http::ws_close_frame(1000, nullptr)) << "only the backend's Close";
  EXPECT_EQ(client_.shutdowns, 1);
  EXPECT_EQ(close_code_at_end(upstream_.sent), 1001);
}

TEST_F(TunnelTest, BrokenFramingIsNeverWrittenInto) {
  start();
  send(Tunnel::upstream, "HTTP/1.1 200 not websocket\r\n");
  tunnel_->close_with(http::kWsGoingAway);
  send(Tunnel::upstream, server_frame("x"));
  EXPECT_EQ(client_.sent.find('\x88'), std::string::npos);
  EXPECT_EQ(client_.shutdowns, 0);
}

}  // namespace
}  // namespace lb::proxy
