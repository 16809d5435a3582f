#include "lb/admin/admin_server.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "lb/core/block.h"
#include "lb/core/stream_writer.h"
#include "lb/http/error_response.h"
#include "lb/http/request_parser.h"
#include "lb/proxy/listener.h"

namespace lb::admin {

namespace {
constexpr size_t kMaxAdminBody = 1024 * 1024;
constexpr Duration kDeadlineResolution{100};
}  // namespace

// One admin connection: parse, dispatch, answer; keep-alive honoured. Its
// one deadline is always armed while it is open (see admin_server.h).
class AdminServer::Connection final : private http::RequestEvents {
 public:
  explicit Connection(AdminServer& server) : server_(&server), parser_(*this) {
    uv_tcp_init(server.loop_, &tcp_);
    tcp_.data = this;
    deadline_.init(server.deadlines_, this, [](void* self) { static_cast<Connection*>(self)->on_deadline(); });
    writer_.attach(reinterpret_cast<uv_stream_t*>(&tcp_), this, [](void* self, int status) {
      auto* c = static_cast<Connection*>(self);
      if (c->closed_) return;
      if (status != 0 || (c->close_after_ && c->writer_.idle())) return c->close();
      if (c->writer_.idle()) c->deadline_.expire_in(c->server_->limits_.header_timeout);  // next request
    });
  }

  bool accept(uv_stream_t* server) {
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) return false;
    deadline_.expire_in(server_->limits_.header_timeout);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* c = static_cast<Connection*>(h->data);
          *buf = uv_buf_init(c->buf_, sizeof c->buf_);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<Connection*>(s->data)->on_read(n, buf); });
    return true;
  }

  // The server stops: close now, or once the response being written is out.
  void finish() {
    if (closed_) return;
    if (writer_.idle()) return close();
    close_after_ = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  }

  // The server goes away before the loop runs our close callback.
  void detach() {
    server_ = nullptr;
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();  // the wheel may be gone before the callback runs
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
      auto* c = static_cast<Connection*>(h->data);
      if (c->server_) c->server_->forget(c);
      delete c;
    });
  }

 private:
  void on_deadline() {
    // A request cut short learns why (best effort: nothing waits for a
    // client that does not read); an idle or stalled one is just closed.
    if (parser_.in_message() && writer_.idle()) {
      std::string out;
      http::append_error_response(408, true, out);
      uv_buf_t b = uv_buf_init(out.data(), unsigned(out.size()));
      uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
    }
    spdlog::debug("admin connection closed: nothing for {} ms", server_->limits_.header_timeout.count());
    close();
  }

  void on_read(ssize_t n, const uv_buf_t* buf) {
    if (n < 0) return close();
    char* p = buf->base;
    size_t left = size_t(n);
    while (left > 0 && !closed_ && !close_after_) {
      auto r = parser_.execute(p, left);
      if (r.status == http::RequestParser::Status::error) {
        std::string out;
        if (parser_.error_status()) http::append_error_response(parser_.error_status(), true, out);
        send(out, true);
        return;
      }
      if (r.status == http::RequestParser::Status::ok) break;
      p += r.consumed;
      left -= r.consumed;
      respond();
      parser_.resume();
    }
  }

  bool on_request_head(http::RequestHead& head) override {
    req_ = AdminRequest{};
    req_.method = std::string(head.method_name());
    std::string_view target = head.url;
    size_t q = target.find('?');
    req_.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req_.query = std::string(target.substr(q + 1));
    authorization_ = std::string(head.headers.find("authorization").value_or(""));
    keep_alive_ = head.keep_alive;
    return true;
  }
  bool on_request_body(const char* data, size_t len) override {
    if (req_.body.size() + len > kMaxAdminBody) return false;
    req_.body.append(data, len);
    return true;
  }
  void on_request_complete() override {}

  void respond() {
    AdminResponse resp = server_->dispatch(req_, authorization_);
    std::string out = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{}\r\n", resp.status,
        http::status_reason(resp.status), resp.content_type, resp.body.size(),
        keep_alive_ ? "" : "Connection: close\r\n");
    if (req_.method != "HEAD") out += resp.body;
    send(out, !keep_alive_);
  }

  void send(const std::string& bytes, bool close_after) {
    close_after_ = close_after;
    writer_.append_copy(bytes);
    if (writer_.flush() != 0 || (close_after_ && writer_.idle())) return close();
    // The client has header_timeout to take the response.
    deadline_.expire_in(server_->limits_.header_timeout);
  }

  AdminServer* server_;  // null once the server is destroyed
  uv_tcp_t tcp_{};
  http::RequestParser parser_;
  StreamWriter writer_;
  DeadlineTimer deadline_;
  AdminRequest req_;
  std::string authorization_;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool closed_ = false;
  char buf_[16 * 1024];
};

AdminServer::AdminServer(uv_loop_t* loop, AdminLimits limits)
    : loop_(loop), limits_(limits), deadlines_(loop, kDeadlineResolution) {}

AdminServer::~AdminServer() {
  tcp_.close();
  // Their close callbacks run after we are gone: they must not call back.
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  connections_.clear();
  for (Connection* c : open) c->detach();
  deadlines_.close();
}

void AdminServer::route(std::string method, std::string path, Handler h, bool prefix) {
  routes_.push_back({std::move(method), std::move(path), std::move(h), prefix});
}

bool AdminServer::listen(const config::Address& address, std::string* error) {
  int fd = proxy::open_listening_socket(address, error);
  if (fd < 0) return false;
  tcp_.init(loop_, uv_tcp_init);
  tcp_->data = this;
  int rc = uv_tcp_open(tcp_.get(), fd);
  if (rc == 0) rc = uv_listen(tcp_.stream(), 128, &AdminServer::on_connection);
  if (rc != 0) {
    *error = fmt::format("admin listener {}: {}", address.text, uv_strerror(rc));
    return false;
  }
  return true;
}

uint16_t AdminServer::port() const {
  if (!tcp_) return 0;
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

void AdminServer::close() {
  tcp_.close();  // also drops a connection libuv held for us
  accept_waiting_ = false;
  const std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* c : open) c->finish();
}

void AdminServer::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (status != 0) {
    spdlog::warn("admin listener: accept: {}", uv_strerror(status));
    return;
  }
  if (self->connections_.size() >= self->limits_.max_connections) {
    // Not accepting it makes libuv keep it and stop polling the listener
    // until uv_accept (forget() below); the rest wait in the backlog.
    if (!self->accept_waiting_)
      spdlog::warn("admin listener: {} connections open, its limit; new ones wait", self->connections_.size());
    self->accept_waiting_ = true;
    return;
  }
  self->accept_one();
}

void AdminServer::accept_one() {
  auto* c = new Connection(*this);
  connections_.insert(c);
  if (!c->accept(tcp_.stream())) c->close();
}

void AdminServer::forget(Connection* c) {
  connections_.erase(c);
  if (accept_waiting_ && tcp_ && connections_.size() < limits_.max_connections) {
    accept_waiting_ = false;
    accept_one();  // uv_accept also resumes polling the listener
  }
}

AdminResponse AdminServer::dispatch(const AdminRequest& req, std::string_view authorization) const {
  if (!token_.empty()) {
    const std::string expected = "Bearer " + token_;
    if (authorization.size() != expected.size() ||
        CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) != 0) {
      return {401, "text/plain; charset=utf-8", "401 Unauthorized: Authorization: Bearer <token> required\n"};
    }
  }
  bool path_known = false;
  for (const Route& r : routes_) {
    const bool match = r.prefix ? req.path.rfind(r.path, 0) == 0 : req.path == r.path;
    if (!match) continue;
    path_known = true;
    if (r.method != req.method && !(r.method == "GET" && req.method == "HEAD")) continue;
    try {
      return r.handler(req);
    } catch (const std::exception& e) {
      spdlog::error("admin {} {}: {}", req.method, req.path, e.what());
      return {500, "text/plain; charset=utf-8", "500 Internal Server Error\n"};
    }
  }
  if (path_known) return {405, "text/plain; charset=utf-8", "405 Method Not Allowed\n"};
  return {404, "text/plain; charset=utf-8", "404 Not Found\n"};
}

}  // namespace lb::admin
