#include "lb/health/http_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace lb::health {
namespace {

using namespace std::chrono_literals;

TEST(HttpCheckStatus, MatchesRangesAndSingleCodes) {
  const std::vector<config::StatusRange> expected{{200, 200}, {300, 302}};
  EXPECT_TRUE(status_expected(expected, 200));
  EXPECT_TRUE(status_expected(expected, 301));
  EXPECT_FALSE(status_expected(expected, 204));
  EXPECT_FALSE(status_expected(expected, 503));
  EXPECT_EQ(describe_expected(expected), "200, 300-302");
}

TEST(HttpCheckStatus, DefaultIs200To399) {
  const config::HealthCheck cfg;
  EXPECT_TRUE(status_expected(cfg.expect_status, 399));
  EXPECT_FALSE(status_expected(cfg.expect_status, 400));
  EXPECT_EQ(describe_expected(cfg.expect_status), "200-399");
}

// A backend on the test's loop: accepts, records what it reads, and once a
// request head is complete answers `reply` (nothing if empty).
class TestBackend {
 public:
  TestBackend(uv_loop_t* loop, std::string reply) : loop_(loop), reply_(std::move(reply)) {
    uv_tcp_init(loop, &listener_);
    listener_.data = this;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<TestBackend*>(s->data)->accept();
    });
    int len = sizeof address_;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&address_), &len);
  }

  const sockaddr_storage& address() const { return address_; }
  const std::string& received() const { return received_; }
  int connections() const { return int(conns_.size()); }

  void close() {
    for (uv_tcp_t* c : conns_)
      if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(c)))
        uv_close(reinterpret_cast<uv_handle_t*>(c), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    conns_.clear();
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_))) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }

 private:
  void accept() {
    auto* c = new uv_tcp_t;
    uv_tcp_init(loop_, c);
    c->data = this;
    uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(c));
    conns_.push_back(c);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(c),
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* self = static_cast<TestBackend*>(h->data);
          *b = uv_buf_init(self->buf_, sizeof self->buf_);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
          auto* self = static_cast<TestBackend*>(s->data);
          if (n <= 0) return;
          self->received_.append(b->base, size_t(n));
          if (self->reply_.empty() || self->received_.find("\r\n\r\n") == std::string::npos) return;
          auto* req = new uv_write_t;
          uv_buf_t out = uv_buf_init(self->reply_.data(), unsigned(self->reply_.size()));
          uv_write(req, s, &out, 1, [](uv_write_t* r, int) { delete r; });
        });
  }

  uv_loop_t* loop_;
  std::string reply_;
  uv_tcp_t listener_{};
  sockaddr_storage address_{};
  std::vector<uv_tcp_t*> conns_;
  std::string received_;
  char buf_[4096];
};

class HttpCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    cfg_.timeout = 200ms;
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived the check";
  }

  // Runs one check against `backend` (closed when the check reports).
  CheckOutcome check(TestBackend& backend, const sockaddr_storage& address) {
    std::optional<CheckOutcome> outcome;
    HttpCheck::start(&loop_, address, cfg_, "app.internal", "", [&](const CheckOutcome& o) {
      outcome = o;
      backend.close();
    });
    EXPECT_FALSE(outcome.has_value()) << "reported from inside start()";
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_TRUE(outcome.has_value());
    return outcome.value_or(CheckOutcome{});
  }
  CheckOutcome check(TestBackend& backend) { return check(backend, backend.address()); }

  uv_loop_t loop_{};
  config::HealthCheck cfg_;
};

TEST_F(HttpCheckTest, ExpectedStatusPassesAndTheRequestIsTheConfiguredOne) {
  TestBackend backend(&loop_, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  cfg_.path = "/ready?x=1";
  const CheckOutcome o = check(backend);
  EXPECT_EQ(o.result, balance::CheckResult::success);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.detail, "HTTP 200");
  EXPECT_EQ(backend.received(),
            "GET /ready?x=1 HTTP/1.1\r\nHost: app.internal\r\nUser-Agent: lbd-health-check\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n");
}

TEST_F(HttpCheckTest, InterimResponsesAreSkipped) {
  TestBackend backend(&loop_, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(check(backend).detail, "HTTP 204");
}

TEST_F(HttpCheckTest, UnexpectedStatusFails) {
  TestBackend backend(&loop_, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  const CheckOutcome o = check(backend);
  EXPECT_EQ(o.result, balance::CheckResult::failure);
  EXPECT_EQ(o.detail, "HTTP 503 (expected 200-399)");
}

TEST_F(HttpCheckTest, MalformedResponseFails) {
  TestBackend backend(&loop_, "NOT HTTP AT ALL\r\n\r\n");
  const CheckOutcome o = check(backend);
  EXPECT_EQ(o.result, balance::CheckResult::failure);
  EXPECT_EQ(o.detail.rfind("malformed response: ", 0), 0u) << o.detail;
}

TEST_F(HttpCheckTest, SilentBackendTimesOut) {
  TestBackend backend(&loop_, "");
  const CheckOutcome o = check(backend);
  EXPECT_EQ(o.result, balance::CheckResult::timeout);
  EXPECT_EQ(o.detail, "no answer within 200 ms");
  EXPECT_GE(o.took, 190ms);
}

TEST_F(HttpCheckTest, RefusedConnectionFails) {
  TestBackend backend(&loop_, "");
  sockaddr_storage address = backend.address();
  backend.close();  // nothing listens there any more
  uv_run(&loop_, UV_RUN_DEFAULT);
  const CheckOutcome o = check(backend, address);
  EXPECT_EQ(o.result, balance::CheckResult::failure);
  EXPECT_EQ(o.detail, "connect: connection refused");
}

TEST_F(HttpCheckTest, UnresolvedAddressFailsFromTheLoop) {
  TestBackend backend(&loop_, "");
  const CheckOutcome o = check(backend, sockaddr_storage{});
  EXPECT_EQ(o.result, balance::CheckResult::failure);
  EXPECT_EQ(o.detail, "connect: address did not resolve");
}

TEST_F(HttpCheckTest, CancelledCheckNeverReports) {
  TestBackend backend(&loop_, "");
  bool reported = false;
  HttpCheck* c = HttpCheck::start(&loop_, backend.address(), cfg_, "h", "", [&](const CheckOutcome&) { reported = true; });
  uv_run(&loop_, UV_RUN_NOWAIT);
  c->cancel();
  backend.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(reported);
}

}  // namespace
}  // namespace lb::health
