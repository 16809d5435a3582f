#include "lb/admin/admin_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace lb::admin {
namespace {

using std::chrono::milliseconds;

// A blocking client socket on 127.0.0.1; reads never block.
class Client {
 public:
  explicit Client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void send(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())); }
  // Takes what has arrived; true once the server closed (FIN or RST).
  bool poll() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buf, size_t(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) eof_ = true;
      return eof_;
    }
  }
  const std::string& received() const { return received_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    server_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  uint16_t start(AdminLimits limits) {
    server_ = std::make_unique<AdminServer>(&loop_, limits);
    server_->route("GET", "/healthz", [](const AdminRequest&) { return AdminResponse{200, "text/plain", "ok\n"}; });
    server_->route("GET", "/big", [](const AdminRequest&) {
      return AdminResponse{200, "text/plain", std::string(kBig, 'x')};
    });
    std::string error;
    EXPECT_TRUE(server_->listen({"127.0.0.1", 0, "127.0.0.1:0"}, &error)) << error;
    return server_->port();
  }

  // Runs the loop until `done` or `limit` passes; returns done().
  bool run_until(const std::function<bool()>& done, milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }
  void run_for(milliseconds d) {
    run_until([] { return false; }, d);
  }

  static constexpr size_t kBig = 32 * 1024 * 1024;  // more than loopback buffers hold
  uv_loop_t loop_{};
  std::unique_ptr<AdminServer> server_;
};

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(AdminServerTest, SilentStalledAndIdleConnectionsCloseAfterTheHeaderTimeout) {
  const uint16_t port = start({.header_timeout = milliseconds(300), .max_connections = 64});
  Client silent(port), partial(port), idle(port);
  partial.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // the head never ends
  idle.send(kHealthz);
  ASSERT_TRUE(run_until([&] { idle.poll(); return idle.received().find("ok\n") != std::string::npos; },
                        milliseconds(1000)));
  run_for(milliseconds(150));
  EXPECT_FALSE(silent.poll() || partial.poll() || idle.poll()) << "closed before the timeout";
  EXPECT_EQ(server_->connections(), 3u);

  ASSERT_TRUE(run_until([&] { return silent.poll() && partial.poll() && idle.poll(); }, milliseconds(2000)))
      << "still open after the header timeout";
  EXPECT_EQ(silent.received(), "");
  EXPECT_EQ(partial.received().rfind("HTTP/1.1 408 ", 0), 0u) << partial.received();
  EXPECT_EQ(idle.received().find("HTTP/1.1 200 "), 0u);
  EXPECT_EQ(idle.received().find("408"), std::string::npos) << "an idle connection gets no 408";
  ASSERT_TRUE(run_until([&] { return server_->connections() == 0; }, milliseconds(500)));
}

TEST_F(AdminServerTest, OverTheLimitNewConnectionsWaitUntilOneCloses) {
  const uint16_t port = start({.header_timeout = std::chrono::seconds(10), .max_connections = 2});
  Client a(port), b(port);
  ASSERT_TRUE(run_until([&] { return server_->connections() == 2; }, milliseconds(1000)));
  Client probe(port);  // the kernel completes the handshake; lbd does not take it
  ASSERT_TRUE(probe.connected());
  probe.send(kHealthz);
  run_for(milliseconds(200));
  EXPECT_EQ(server_->connections(), 2u);
  EXPECT_FALSE(probe.poll());
  EXPECT_EQ(probe.received(), "") << "served past the limit";

  a.close();
  ASSERT_TRUE(run_until([&] { probe.poll(); return probe.received().find("ok\n") != std::string::npos; },
                        milliseconds(1000)))
      << "the waiting connection was not taken when a slot freed";
  EXPECT_EQ(server_->connections(), 2u);
}

TEST_F(AdminServerTest, CloseEndsIdleConnectionsAtOnceAndBusyOnesAfterTheirResponse) {
  const uint16_t port = start({.header_timeout = std::chrono::seconds(10), .max_connections = 64});
  Client idle(port), silent(port), busy(port, 4096);
  idle.send(kHealthz);
  busy.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");  // and does not read yet
  ASSERT_TRUE(run_until([&] { idle.poll(); return idle.received().find("ok\n") != std::string::npos; },
                        milliseconds(1000)));
  run_for(milliseconds(100));
  ASSERT_EQ(server_->connections(), 3u);

  server_->close();
  ASSERT_TRUE(run_until([&] { return idle.poll() && silent.poll(); }, milliseconds(500)))
      << "idle connections left open at stop";
  EXPECT_TRUE(run_until([&] { return server_->connections() == 1; }, milliseconds(500)))
      << "the busy one closes after its response, the others at once";
  EXPECT_FALSE(Client(port).connected()) << "still accepting after close()";

  // Drained without run_until's 1 ms naps: through a 4 KiB receive buffer,
  // 32 MiB took over 10 s that way under TSan. The bound only stops a hang.
  const auto drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!busy.poll() && std::chrono::steady_clock::now() < drain_end) uv_run(&loop_, UV_RUN_NOWAIT);
  ASSERT_TRUE(busy.poll()) << "the busy connection was not closed after its response";
  const size_t head_end = busy.received().find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(busy.received().size() - head_end - 4, kBig) << "the response in flight was cut";
  ASSERT_TRUE(run_until([&] { return server_->connections() == 0; }, milliseconds(500)));
}

TEST_F(AdminServerTest, HandlerThatThrowsGetsA500AndTheServerGoesOn) {
  const uint16_t port = start({.header_timeout = std::chrono::seconds(10), .max_connections = 64});
  server_->route("GET", "/boom", [](const AdminRequest&) -> AdminResponse { throw std::runtime_error("boom"); });
  AdminResponse r;
  EXPECT_NO_THROW(r = server_->dispatch({"GET", "/boom", "", ""}, ""));
  EXPECT_EQ(r.status, 500);

  Client c(port);
  c.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n" + kHealthz);
  ASSERT_TRUE(run_until([&] { c.poll(); return c.received().find("ok\n") != std::string::npos; },
                        milliseconds(1000)));
  EXPECT_EQ(c.received().rfind("HTTP/1.1 500 ", 0), 0u) << c.received();
}

}  // namespace
}  // namespace lb::admin
