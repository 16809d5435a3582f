#include "lb/health/http_check.h"

#include <fmt/format.h>

namespace lb::health {

using balance::CheckResult;

bool status_expected(const std::vector<config::StatusRange>& expected, int status) {
  for (const auto& r : expected)
    if (status >= r.low && status <= r.high) return true;
  return false;
}

std::string describe_expected(const std::vector<config::StatusRange>& expected) {
  std::string out;
  for (const auto& r : expected) {
    if (!out.empty()) out += ", ";
    out += r.low == r.high ? std::to_string(r.low) : fmt::format("{}-{}", r.low, r.high);
  }
  return out;
}

HttpCheck::HttpCheck(const config::HealthCheck& cfg, const std::string& host, const std::string& preamble,
                     Done done, size_t body_limit)
    : expected_(cfg.expect_status),
      timeout_(cfg.timeout),
      request_(preamble + fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: lbd-health-check\r\nAccept: */*\r\n"
                           "Connection: close\r\n\r\n",
                           cfg.path, host)),
      done_(std::move(done)),
      parser_(*this),
      started_(Clock::now()),
      body_limit_(body_limit) {}

HttpCheck* HttpCheck::start(uv_loop_t* loop, const sockaddr_storage& address, const config::HealthCheck& cfg,
                            const std::string& host, const std::string& preamble, Done done,
                            const CheckTls* tls, size_t body_limit) {
  auto* check = new HttpCheck(cfg, host, preamble, std::move(done), body_limit);
  if (tls && tls->context) {
    // The preamble goes raw, before the handshake: it is sent from on_connected.
    check->request_.erase(0, preamble.size());
    check->preamble_ = preamble;
    check->tls_ = std::make_unique<tls::TlsSession>(tls->context, tls->host, tls::UpstreamTlsContext::kControlSlot,
                                                    tls->session_key);
  }
  check->begin(loop, address);
  return check;
}

void HttpCheck::begin(uv_loop_t* loop, const sockaddr_storage& address) {
  parser_.expect_response(false);
  timer_.init(loop, uv_timer_init);
  timer_->data = this;
  int rc = tcp_.init(loop, uv_tcp_init);
  if (rc == 0) {
    tcp_->data = this;
    connect_req_.data = this;
    rc = address.ss_family == AF_UNSPEC
             ? UV_EADDRNOTAVAIL
             : uv_tcp_connect(&connect_req_, tcp_.get(), reinterpret_cast<const sockaddr*>(&address),
                              [](uv_connect_t* req, int status) {
                                static_cast<HttpCheck*>(req->data)->on_connected(status);
                              });
  }
  // A failure known now is reported from the loop, like every other outcome.
  if (rc != 0) early_error_ = fmt::format("connect: {}", address.ss_family == AF_UNSPEC ? "address did not resolve"
                                                                                          : uv_strerror(rc));
  uv_timer_start(
      timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<HttpCheck*>(t->data);
        if (!self->early_error_.empty()) return self->finish(CheckResult::failure, self->early_error_);
        self->finish(CheckResult::timeout, fmt::format("no answer within {} ms", self->timeout_.count()));
      },
      rc != 0 ? 0 : to_uv_ms(timeout_), 0);
}

void HttpCheck::cancel() {
  done_ = nullptr;
  finish(CheckResult::failure, "cancelled");
}

void HttpCheck::on_connected(int status) {
  if (finished_) return;  // cancelled or timed out: the handle is closing
  if (status != 0) return finish(CheckResult::failure, fmt::format("connect: {}", uv_strerror(status)));
  std::string first = std::move(preamble_);
  if (tls_) {
    if (!tls_->start_handshake()) return finish(CheckResult::failure, "TLS: " + tls_->error());
    first += tls_->take_output();
  } else {
    first += request_;
    request_sent_ = true;
  }
  send(std::move(first));
  if (finished_) return;
  int rc = uv_read_start(
        tcp_.stream(),
        [](uv_handle_t* h, size_t, uv_buf_t* b) {
          auto* self = static_cast<HttpCheck*>(h->data);
          *b = uv_buf_init(self->buf_, sizeof self->buf_);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) { static_cast<HttpCheck*>(s->data)->on_read(n); });
  if (rc != 0) finish(CheckResult::failure, fmt::format("send: {}", uv_strerror(rc)));
}

void HttpCheck::send(std::string bytes) {
  if (bytes.empty()) return;
  struct Req {
    uv_write_t req;
    std::string bytes;
    HttpCheck* self;
  };
  auto* r = new Req{{}, std::move(bytes), this};
  r->req.data = r;
  uv_buf_t buf = uv_buf_init(r->bytes.data(), static_cast<unsigned>(r->bytes.size()));
  const int rc = uv_write(&r->req, tcp_.stream(), &buf, 1, [](uv_write_t* req, int status) {
    auto* done = static_cast<Req*>(req->data);
    HttpCheck* self = done->self;
    delete done;
    // Cancelled writes come back before the close callback frees the check.
    if (!self->finished_ && status != 0) self->finish(CheckResult::failure, fmt::format("send: {}", uv_strerror(status)));
  });
  if (rc != 0) {
    delete r;
    finish(CheckResult::failure, fmt::format("send: {}", uv_strerror(rc)));
  }
}

void HttpCheck::on_read(ssize_t n) {
  if (finished_ || n == 0) return;
  if (n < 0) {
    if (n == UV_EOF) return on_end_of_input();
    return finish(CheckResult::failure, fmt::format("read: {}", uv_strerror(int(n))));
  }
  if (tls_) return on_tls_read(size_t(n));
  parse(buf_, size_t(n));
}

// The backend closed (EOF, or TLS close_notify): a close-delimited body in
// body mode is complete; anything else ended too soon.
void HttpCheck::on_end_of_input() {
  if (body_limit_ && status_ != 0 && parser_.finish() == http::ResponseParser::Status::complete) {
    complete_ = true;
    return judge();
  }
  finish(CheckResult::failure, tls_ && !tls_->handshake_done()
                                   ? "TLS: the backend closed the connection during the handshake"
                               : status_ ? "connection closed before the end of the response"
                                         : "connection closed before a complete response head");
}

void HttpCheck::on_tls_read(size_t n) {
  tls_->feed(buf_, n);
  for (;;) {
    size_t got = 0;
    const auto r = tls_->read(plain_, sizeof plain_, &got);
    if (r == tls::TlsSession::Read::failed) return finish(CheckResult::failure, "TLS: " + tls_->error());
    if (!tls_->handshake_done()) {
      send(tls_->take_output());
    } else if (!request_sent_) {
      request_sent_ = true;
      std::string out;
      uv_buf_t plain = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
      tls_->encode(&plain, 1, out);  // the handshake's last flight first, then the request
      send(std::move(out));
    }
    if (finished_) return;
    if (got) {
      parse(plain_, got);
      if (finished_) return;
    }
    if (r == tls::TlsSession::Read::data) continue;
    if (r == tls::TlsSession::Read::closed) return on_end_of_input();
    return;
  }
}

void HttpCheck::parse(const char* p, size_t left) {
  while (left > 0 && !decided()) {
    const auto r = parser_.execute(p, left);
    if (too_large_) return finish(CheckResult::failure, fmt::format("response body over {} bytes", body_limit_));
    if (decided()) break;  // judged; what follows does not matter
    if (r.status == http::ResponseParser::Status::error)
      return finish(CheckResult::failure, fmt::format("malformed response: {}", parser_.error_reason()));
    if (r.status == http::ResponseParser::Status::ok) break;
    p += r.consumed;  // a complete 1xx interim response: the final one follows
    left -= r.consumed;
    parser_.resume();
  }
  if (decided()) judge();
}

void HttpCheck::on_response_body(const char* data, size_t len) {
  if (!body_limit_ || status_ == 0 || too_large_) return;
  if (body_.size() + len > body_limit_) {
    too_large_ = true;
    body_.clear();
    return;
  }
  body_.append(data, len);
}

void HttpCheck::judge() {
  if (status_expected(expected_, status_)) return finish(CheckResult::success, fmt::format("HTTP {}", status_));
  finish(CheckResult::failure, fmt::format("HTTP {} (expected {})", status_, describe_expected(expected_)));
}

void HttpCheck::on_response_head(http::ResponseHead& head) {
  if (head.status >= 200) status_ = head.status;
}

void HttpCheck::finish(CheckResult result, std::string detail) {
  if (finished_) return;
  finished_ = true;
  Done done = std::move(done_);
  CheckOutcome outcome{result, status_, std::move(detail),
                       std::chrono::duration_cast<Duration>(Clock::now() - started_), std::move(body_)};
  timer_.close();
  const bool has_tcp = bool(tcp_);
  // Pending connect/write requests are cancelled before the close callback
  // runs; they find finished_ set and touch nothing else.
  if (has_tcp) tcp_.close([](uv_handle_t* h) { delete static_cast<HttpCheck*>(h->data); });
  if (done) done(outcome);
  if (!has_tcp) delete this;
}

}  // namespace lb::health
