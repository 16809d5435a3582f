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

// One admin connection: parse, dispatch, answer; keep-alive honoured.
class AdminConnection final : private http::RequestEvents {
 public:
  AdminConnection(uv_loop_t* loop, const AdminServer& server) : server_(server), parser_(*this) {
    uv_tcp_init(loop, &tcp_);
    tcp_.data = this;
    writer_.attach(reinterpret_cast<uv_stream_t*>(&tcp_), this, [](void* self, int status) {
      auto* c = static_cast<AdminConnection*>(self);
      if (status != 0 || (c->close_after_ && c->writer_.idle())) c->close();
    });
  }

  bool accept(uv_stream_t* server) {
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) return false;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* c = static_cast<AdminConnection*>(h->data);
          *buf = uv_buf_init(c->buf_, sizeof c->buf_);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<AdminConnection*>(s->data)->on_read(n, buf); });
    return true;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) { delete static_cast<AdminConnection*>(h->data); });
  }

 private:
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
    AdminResponse resp = server_.dispatch(req_, authorization_);
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
    if (writer_.flush() != 0 || (close_after_ && writer_.idle())) close();
  }

  const AdminServer& server_;
  uv_tcp_t tcp_{};
  http::RequestParser parser_;
  StreamWriter writer_;
  AdminRequest req_;
  std::string authorization_;
  bool keep_alive_ = true;
  bool close_after_ = false;
  bool closed_ = false;
  char buf_[16 * 1024];
};

}  // namespace

AdminServer::~AdminServer() { close(); }

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

void AdminServer::close() { tcp_.close(); }

void AdminServer::on_connection(uv_stream_t* server, int status) {
  if (status != 0) return;
  auto* self = static_cast<AdminServer*>(server->data);
  auto* c = new AdminConnection(self->loop_, *self);
  if (!c->accept(server)) c->close();
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
    if (r.method == req.method || (r.method == "GET" && req.method == "HEAD")) return r.handler(req);
  }
  if (path_known) return {405, "text/plain; charset=utf-8", "405 Method Not Allowed\n"};
  return {404, "text/plain; charset=utf-8", "404 Not Found\n"};
}

}  // namespace lb::admin
