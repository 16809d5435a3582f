#pragma once
// One active health check (DESIGN.md §1 health_check): a fresh TCP
// connection of its own — never a pooled client connection, so a check
// tests what a new request would meet — sends
//   GET <path> HTTP/1.1, Host: <host or the backend address>, Connection: close
// and judges the response head: a status within expect_status passes; a
// connect error, an unexpected status, a malformed response or a connection
// closed before the head fails; nothing decided within `timeout` (connect
// included) is a timeout. Runs on the control thread's loop.
// With a body limit (load_report.metric's poller) the check also reads the
// final response's body, and a body over the limit fails it.
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "lb/balance/backend.h"
#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/core/uv_handle.h"
#include "lb/http/response_parser.h"
#include "lb/tls/tls_session.h"

namespace lb::health {

struct CheckOutcome {
  balance::CheckResult result = balance::CheckResult::failure;
  int status = 0;      // the response status, 0 if none came
  std::string detail;  // "HTTP 200", "connect: connection refused", ...
  Duration took{0};
  std::string body;  // with a body limit (the load poller): the final response's body
};

// Is `status` one of the expected ones?
bool status_expected(const std::vector<config::StatusRange>& expected, int status);
// "200-399" or "200, 300-302", as the operator wrote it.
std::string describe_expected(const std::vector<config::StatusRange>& expected);

// A check over TLS (pool `tls`): the same context, names and session cache
// (its control-thread slot) as the pool's own connections.
struct CheckTls {
  std::shared_ptr<const tls::UpstreamTlsContext> context;
  std::string host;         // the backend address's host (default name)
  std::string session_key;  // the backend address
};

class HttpCheck final : private http::ResponseEvents {
 public:
  using Done = std::function<void(const CheckOutcome&)>;

  // Starts a check against `address`. `done` runs exactly once, from the
  // loop (never inside start), unless cancel() comes first.
  // `preamble` (a PROXY protocol header, or "") goes before the request.
  // `tls` (may be null) makes the check speak TLS, after the preamble.
  // `body_limit` > 0: the whole body is read (up to that many bytes) and
  // handed over in the outcome (load_report.metric); 0: the head decides.
  static HttpCheck* start(uv_loop_t* loop, const sockaddr_storage& address, const config::HealthCheck& cfg,
                          const std::string& host, const std::string& preamble, Done done,
                          const CheckTls* tls = nullptr, size_t body_limit = 0);
  // Abandons the check: `done` is not called; the object frees itself once
  // libuv has let go of its handles.
  void cancel();

 private:
  HttpCheck(const config::HealthCheck& cfg, const std::string& host, const std::string& preamble, Done done,
            size_t body_limit);
  // Judged: the head (head only) or the whole final response (body mode).
  bool decided() const { return body_limit_ ? complete_ : status_ != 0; }
  void judge();
  void on_end_of_input();
  ~HttpCheck() = default;  // only from the connection's close callback
  void begin(uv_loop_t* loop, const sockaddr_storage& address);
  void on_connected(int status);
  void on_read(ssize_t n);
  void on_tls_read(size_t n);
  void parse(const char* p, size_t left);
  void send(std::string bytes);
  void finish(balance::CheckResult result, std::string detail);

  // http::ResponseEvents
  void on_response_head(http::ResponseHead& head) override;
  void on_response_body(const char* data, size_t len) override;
  void on_response_complete() override { complete_ = status_ != 0; }

  std::vector<config::StatusRange> expected_;
  Duration timeout_;
  std::string request_;
  Done done_;
  UvHandle<uv_tcp_t> tcp_;
  UvHandle<uv_timer_t> timer_;
  uv_connect_t connect_req_{};
  http::ResponseParser parser_;
  TimePoint started_;
  int status_ = 0;           // final (>= 200) status once its head is parsed
  std::string early_error_;  // a failure known before the loop ran: reported by the timer
  bool finished_ = false;
  size_t body_limit_ = 0;  // 0: judged by the head alone
  std::string body_;
  bool complete_ = false;   // body mode: the final response ended
  bool too_large_ = false;  // body mode: its body went over body_limit_
  char buf_[4096];
  std::unique_ptr<tls::TlsSession> tls_;
  std::string preamble_;  // over TLS: sent raw before the handshake (request_ holds it otherwise)
  bool request_sent_ = false;
  char plain_[4096];
};

}  // namespace lb::health
