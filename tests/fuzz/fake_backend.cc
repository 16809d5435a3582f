#include "fake_backend.h"

#include <unistd.h>

namespace lb::fuzz {

namespace {

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
constexpr std::string_view kOkHead = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
constexpr std::string_view kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
    "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Sum: 6\r\n\r\n";
constexpr std::string_view kClose = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited body";
constexpr std::string_view kNoContent = "HTTP/1.1 204 No Content\r\n\r\n";
constexpr std::string_view kContinue =
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter";
// Misbehaving backends lbd must answer 502 for, not relay.
constexpr std::string_view kTwoDigitStatus = "HTTP/1.1 20 OK\r\nContent-Length: 1\r\n\r\nx";
constexpr std::string_view kCrlfThenClose = "\r\n";
constexpr std::string_view kInterimThenClose = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kSwitch =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
constexpr std::string_view kNotAllowed =
    "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

// One accepted connection from lbd. Deletes itself in its close callback.
class FakeBackend::Conn {
 public:
  Conn(FakeBackend& owner) : owner_(owner) {
    uv_tcp_init(owner.loop_, &tcp_);
    tcp_.data = this;
    llhttp_settings_init(&settings_);
    settings_.on_url = [](llhttp_t* p, const char* at, size_t len) {
      static_cast<Conn*>(p->data)->url_.append(at, len);
      return 0;
    };
    settings_.on_message_begin = [](llhttp_t* p) {
      static_cast<Conn*>(p->data)->url_.clear();
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      static_cast<Conn*>(p->data)->answer();
      return 0;
    };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
    next_ = owner.conns_;
    if (next_) next_->prev_ = this;
    owner.conns_ = this;
    ++owner.connections_;
  }

  bool accept(uv_stream_t* server) {
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) return false;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_),
                  [](uv_handle_t*, size_t, uv_buf_t* buf) {
                    static char block[64 * 1024];  // one loop, one read at a time
                    *buf = uv_buf_init(block, sizeof block);
                  },
                  [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) { static_cast<Conn*>(s->data)->on_read(n, buf); });
    return true;
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    if (prev_) prev_->next_ = next_;
    else owner_.conns_ = next_;
    if (next_) next_->prev_ = prev_;
    --owner_.connections_;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
  }

 private:
  void on_read(ssize_t n, const uv_buf_t* buf) {
    if (n == 0) return;
    ++owner_.activity_;
    if (n < 0) return close();  // lbd closed or reset: so do we
    owner_.activity_ += uint64_t(n);
    if (tunnel_) return send({buf->base, size_t(n)});  // echo
    if (close_after_) return;
    const llhttp_errno_t err = llhttp_execute(&parser_, buf->base, size_t(n));
    if (err == HPE_PAUSED_UPGRADE) {
      // CONNECT is valid HTTP that this origin does not serve (no count).
      if (llhttp_get_method(&parser_) == HTTP_CONNECT) {
        close_with(kNotAllowed);
        return flush();
      }
      tunnel_ = true;  // answered 101 in answer(); the rest is the tunnel's
      const char* rest = llhttp_get_error_pos(&parser_);
      const size_t left = size_t(buf->base + n - rest);
      if (left) send({rest, left});
    } else if (err != HPE_OK) {
      refuse();
    }
    flush();
  }

  void answer() {
    if (close_after_) return;
    if (parser_.upgrade) {
      if (llhttp_get_method(&parser_) != HTTP_CONNECT) out_.append(kSwitch);
      return;
    }
    const bool head = llhttp_get_method(&parser_) == HTTP_HEAD;
    if (head) out_.append(kOkHead);
    else if (starts_with(url_, "/chunked")) out_.append(kChunked);
    else if (starts_with(url_, "/close")) close_with(kClose);
    else if (starts_with(url_, "/204")) out_.append(kNoContent);
    else if (starts_with(url_, "/100")) out_.append(kContinue);
    else if (starts_with(url_, "/bad/status")) out_.append(kTwoDigitStatus);
    else if (starts_with(url_, "/bad/crlf")) close_with(kCrlfThenClose);
    else if (starts_with(url_, "/bad/interim")) close_with(kInterimThenClose);
    else out_.append(kOk);
  }

  void refuse() {
    ++owner_.refused_;
    close_with(kBadRequest);
  }

  void close_with(std::string_view last) {
    if (close_after_) return;
    out_.append(last);
    close_after_ = true;
  }

  void send(std::string_view bytes) {
    out_.append(bytes);
    flush();
  }

  // Writes out_; closes once written if this was the last response.
  void flush() {
    if (out_.empty() || closing_) {
      if (close_after_ && out_.empty() && !closing_ && !writing_) close();
      return;
    }
    owner_.activity_ += out_.size();
    auto* w = new Write;
    w->bytes.swap(out_);
    w->req.data = w;
    w->conn = this;
    uv_buf_t b = uv_buf_init(w->bytes.data(), unsigned(w->bytes.size()));
    ++writing_;
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, [](uv_write_t* r, int status) {
      auto* w = static_cast<Write*>(r->data);
      Conn* c = w->conn;
      delete w;
      --c->writing_;
      if (status != 0) return c->close();
      if (c->close_after_ && !c->writing_) c->close();
    });
    if (rc != 0) {
      delete w;
      --writing_;
      close();
    }
  }

  struct Write {
    uv_write_t req;
    std::string bytes;
    Conn* conn;
  };

  FakeBackend& owner_;
  uv_tcp_t tcp_{};
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  std::string url_;
  std::string out_;
  int writing_ = 0;
  bool tunnel_ = false;
  bool close_after_ = false;
  bool closing_ = false;
  Conn* next_ = nullptr;
  Conn* prev_ = nullptr;

  friend class FakeBackend;
};

void FakeBackend::start(uv_loop_t* loop, int fd) {
  loop_ = loop;
  uv_tcp_init(loop, &server_);
  server_.data = this;
  uv_tcp_open(&server_, ::dup(fd));
  uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 128, &FakeBackend::on_connection);
  open_ = true;
}

void FakeBackend::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<FakeBackend*>(server->data);
  if (status != 0) return;
  auto* c = new Conn(*self);
  if (!c->accept(server)) c->close();
}

void FakeBackend::close() {
  while (conns_) conns_->close();
  if (open_) uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
  open_ = false;
}

}  // namespace lb::fuzz
