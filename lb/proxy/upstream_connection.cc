#include "lb/proxy/upstream_connection.h"

#include <cstring>

#include "lb/proxy/upstream_pool.h"

namespace lb::proxy {

namespace {
// Below this many queued bytes the owner may send more (see Exchange).
constexpr size_t kLowWater = 64 * 1024;
// Interim responses allowed before the final one (HAProxy and nginx take a
// handful; RFC 9110 sets no bound).
constexpr unsigned kMaxInterimResponses = 16;
}  // namespace

const char* failure_name(UpstreamFailure f) {
  switch (f) {
    case UpstreamFailure::connect_failed: return "connect_failed";
    case UpstreamFailure::connect_timeout: return "connect_timeout";
    case UpstreamFailure::closed_early: return "closed_early";
    case UpstreamFailure::response_timeout: return "response_timeout";
    case UpstreamFailure::invalid_response: return "invalid_response";
    case UpstreamFailure::tls_failed: return "tls_failed";
  }
  return "?";
}

UpstreamConnection::UpstreamConnection(WorkerContext& worker, std::shared_ptr<balance::Backend> backend)
    : worker_(worker), backend_(std::move(backend)), parser_(*this) {
  uv_tcp_init(worker_.loop, &tcp_);
  tcp_.data = this;
  timer_.init(*worker_.timers, this, &UpstreamConnection::on_timer);
  writer_.attach(reinterpret_cast<uv_stream_t*>(&tcp_), this, &UpstreamConnection::on_write_done,
                 &worker_.write_batches);
}

bool UpstreamConnection::connected_to(const sockaddr_storage& address) const {
  if (address.ss_family != peer_.ss_family) return false;
  const size_t size = address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  return std::memcmp(&address, &peer_, size) == 0;
}

void UpstreamConnection::connect(UpstreamEvents* owner, Duration timeout) {
  owner_ = owner;
  state_ = State::connecting;
  connect_req_.data = this;
  peer_ = backend_->sockaddr();  // a DNS change applies from the next connect
  int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&peer_),
                          &UpstreamConnection::on_connect);
  if (rc != 0) {
    // Report asynchronously: the owner is still inside its own start().
    connect_failed_now_ = true;
    timer_.expire_in(Duration(0));
    return;
  }
  timer_.expire_in(timeout);
}

void UpstreamConnection::bind(UpstreamEvents* owner) {
  owner_ = owner;
  state_ = State::bound;
  timer_.cancel();
  resume_reading();
}

void UpstreamConnection::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<UpstreamConnection*>(req->data);
  if (self->state_ != State::connecting) return;  // closed meanwhile (UV_ECANCELED)
  if (status != 0) {
    self->timer_.cancel();
    self->fail(UpstreamFailure::connect_failed);
    return;
  }
  uv_tcp_nodelay(&self->tcp_, 1);
  if (!self->preamble_.empty() && !self->write_raw(std::move(self->preamble_))) {
    self->timer_.cancel();
    return self->fail(UpstreamFailure::connect_failed);
  }
  if (self->tls_) {
    // Still "connecting" (flush() holds the request back, the connect
    // timeout runs on) until the handshake is done.
    self->handshaking_ = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &UpstreamConnection::on_alloc,
                  &UpstreamConnection::on_read);
    if (!self->tls_->start_handshake() || !self->write_raw(self->tls_->take_output())) self->fail_tls();
    return;
  }
  self->timer_.cancel();
  uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &UpstreamConnection::on_alloc,
                &UpstreamConnection::on_read);
  self->became_connected();
}

void UpstreamConnection::became_connected() {
  state_ = State::bound;
  owner_->on_upstream_connected();
}

void UpstreamConnection::set_tls(std::shared_ptr<const tls::UpstreamTlsContext> context, size_t slot) {
  tls_ = std::make_unique<tls::TlsSession>(std::move(context), backend_->address().host, slot,
                                           backend_->address().text);
  writer_.set_encoder(tls_.get());
}

void UpstreamConnection::fail_tls(const char* why) {
  tls_error_ = why ? why : tls_->error();
  if (tls_error_.empty()) tls_error_ = "TLS handshake failed";
  failure_detail_ = tls_error_.c_str();
  timer_.cancel();
  fail(UpstreamFailure::tls_failed);
}

// Ciphertext from the backend: the handshake while connecting, then
// plaintext handed to handle_read as if it had come from the socket.
void UpstreamConnection::handle_tls_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;
  if (nread < 0) {
    tls_in_.reset();
    if (handshaking_) return fail_tls("the backend closed the connection during the TLS handshake");
    return handle_read(nread, buf);
  }
  // The records are read in place: their Block is held until the loop below
  // is done (see ClientConnection::handle_tls_read).
  tls_->feed(buf->base, size_t(nread));
  const BlockRef records = tls_in_.block();
  tls_in_.reset();
  while (state_ != State::closed) {
    const uv_buf_t room = read_buf_.offer(worker_.blocks);
    size_t filled = 0;
    auto r = tls::TlsSession::Read::data;
    while (r == tls::TlsSession::Read::data && filled < room.len) {
      size_t n = 0;
      r = tls_->read(room.base + filled, room.len - filled, &n);
      filled += n;
    }
    if (handshaking_) {
      if (r == tls::TlsSession::Read::failed) return fail_tls();
      if (r == tls::TlsSession::Read::closed) return fail_tls("the backend closed the connection during the TLS handshake");
      if (!write_raw(tls_->take_output())) return fail_tls("cannot write to the backend");
      if (!tls_->handshake_done()) return;
      handshaking_ = false;
      timer_.cancel();
      became_connected();
      if (state_ == State::closed) return;
    }
    if (filled) {
      handle_read(ssize_t(filled), nullptr);
      if (state_ == State::closed) return;
    }
    if (r == tls::TlsSession::Read::data) continue;  // the room is full; more may follow
    if (r == tls::TlsSession::Read::closed) return handle_read(UV_EOF, nullptr);
    if (r == tls::TlsSession::Read::failed) {
      tls_error_ = tls_->error();
      failure_detail_ = tls_error_.c_str();
      return handle_read(UV_ECONNRESET, nullptr);
    }
    return;  // want: all input used
  }
}

// The preamble and handshake records go out before anything the writer
// holds: written before its first flush, they are ahead of every later
// write (libuv keeps order, and a try-write never passes a queued write).
bool UpstreamConnection::write_raw(std::string bytes) {
  if (bytes.empty()) return true;
  uv_buf_t buf = uv_buf_init(bytes.data(), unsigned(bytes.size()));
  const int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
  if (n == int(bytes.size())) return true;
  if (n < 0 && n != UV_EAGAIN) return false;
  // A fresh socket takes a few hundred bytes at once; if not, queue the rest.
  struct Req {
    uv_write_t req;
    std::string rest;
  };
  auto* r = new Req{{}, bytes.substr(n > 0 ? size_t(n) : 0)};
  buf = uv_buf_init(r->rest.data(), unsigned(r->rest.size()));
  if (uv_write(&r->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
               [](uv_write_t* w, int) { delete reinterpret_cast<Req*>(w); }) != 0) {
    delete r;
    return false;
  }
  return true;
}

void UpstreamConnection::flush() {
  if (state_ != State::bound) return;
  if (writer_.flush() != 0) {
    reusable_ = false;  // the read side reports what happened
  }
}

void UpstreamConnection::arm_response_timeout(Duration d) {
  response_timeout_ = d;
  if (state_ == State::bound && !reading_paused_)
    timer_.expire_in(d);
}

void UpstreamConnection::pause_reading() {
  if (reading_paused_ || state_ != State::bound) return;
  reading_paused_ = true;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  timer_.cancel();  // a slow client is not the backend's fault
}

void UpstreamConnection::resume_reading() {
  if (state_ == State::closed || state_ == State::connecting) return;
  if (!reading_paused_ && uv_is_active(reinterpret_cast<uv_handle_t*>(&tcp_))) return;
  reading_paused_ = false;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &UpstreamConnection::on_alloc, &UpstreamConnection::on_read);
  if (state_ == State::bound && response_timeout_.count() > 0)
    timer_.expire_in(response_timeout_);
}

void UpstreamConnection::release_to_pool(UpstreamPool& pool, size_t max_idle, Duration idle_timeout) {
  owner_ = nullptr;
  state_ = State::idle;
  response_timeout_ = Duration(0);
  reading_paused_ = false;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &UpstreamConnection::on_alloc, &UpstreamConnection::on_read);
  timer_.expire_in(idle_timeout);
  read_buf_.reset();  // an idle connection holds no Block
  tls_in_.reset();
  pool.put(this, max_idle);
}

void UpstreamConnection::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  owner_ = nullptr;
  tunnel_ = nullptr;
  if (pool) pool->remove(this);
  timer_.cancel();
  // A clean TLS end (close_notify) keeps the session resumable: OpenSSL
  // voids the session of a connection dropped without one. Harmless after
  // a failure (nothing is sent then).
  if (tls_ && !handshaking_) {
    writer_.discard();  // a request we gave up on stays unsent
    tls_->close_notify();
    writer_.flush();
  }
  read_buf_.reset();
  tls_in_.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
           [](uv_handle_t* h) { delete static_cast<UpstreamConnection*>(h->data); });
}

void UpstreamConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<UpstreamConnection*>(h->data);
  *buf = (self->tls_ ? self->tls_in_ : self->read_buf_).offer(self->worker_.blocks);
}

void UpstreamConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<UpstreamConnection*>(s->data);
  if (self->tls_) return self->handle_tls_read(nread, buf);
  self->handle_read(nread, buf);
}

void UpstreamConnection::handle_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;  // EAGAIN; keep the block for the next read
  if (state_ == State::idle) {
    // The backend closed (or spoke) while we held the connection idle.
    close();
    return;
  }
  if (tunnel_) {
    if (nread == UV_EOF) {
      read_buf_.reset();
      return tunnel_->on_eof(Tunnel::upstream);
    }
    if (nread < 0) return tunnel_->on_error(Tunnel::upstream, "backend read error");
    char* data = read_buf_.commit(size_t(nread));
    const BlockRef block = read_buf_.block();
    return tunnel_->on_data(Tunnel::upstream, block, data, size_t(nread));
  }
  if (nread < 0) {
    read_buf_.reset();
    reusable_ = false;
    if (nread == UV_EOF && parser_.finish() == http::ResponseParser::Status::complete) {
      timer_.cancel();
      owner_->on_upstream_response_done();
      return;
    }
    fail(UpstreamFailure::closed_early);
    return;
  }
  if (response_timeout_.count() > 0)
    timer_.expire_in(response_timeout_);

  // Body bytes forwarded by the owner reference this block; it stays alive
  // through their writes, and the next read lands behind them.
  char* data = read_buf_.commit(size_t(nread));
  const BlockRef block = read_buf_.block();
  UpstreamEvents* owner = owner_;
  parse_response(block, data, size_t(nread));
  // The owner may have released or closed us meanwhile; it is still alive
  // (finished exchanges are freed by the worker after the loop turn).
  if (owner) owner->on_upstream_read_done();
  if (state_ != State::closed) read_buf_.release_if_unshared();
}

void UpstreamConnection::parse_response(const BlockRef& block, const char* p, size_t left) {
  while (left > 0 && state_ == State::bound) {
    current_block_ = block;
    auto r = parser_.execute(p, left);
    current_block_.reset();
    if (state_ != State::bound) return;  // the owner closed us from a callback
    if (r.status == http::ResponseParser::Status::error) {
      const char* why = parser_.error_reason();
      failure_detail_ = why ? why : "";
      fail(UpstreamFailure::invalid_response);
      return;
    }
    if (r.status == http::ResponseParser::Status::ok) return;
    // A message ended. Interim (1xx) responses are followed by the final one.
    p += r.consumed;
    left -= r.consumed;
    parser_.resume();
    if (last_status_ >= 100 && last_status_ < 200 && last_status_ != 101) {
      // Interim responses: a few are normal (100, 103); an endless stream
      // of them would hold the exchange forever, each read re-arming the
      // response timeout.
      if (++interim_responses_ > kMaxInterimResponses) {
        failure_detail_ = "too many interim (1xx) responses";
        fail(UpstreamFailure::invalid_response);
        return;
      }
      continue;
    }
    interim_responses_ = 0;  // the final response: the next one counts afresh
    if (last_status_ == 101) {
      // The protocol switched: what follows the head is no longer HTTP.
      reusable_ = false;
      timer_.cancel();
      response_timeout_ = Duration(0);
      owner_->on_upstream_switched(block, p, left);
      return;
    }
    if (left > 0) reusable_ = false;  // bytes after the response: never reuse
    timer_.cancel();
    response_timeout_ = Duration(0);
    owner_->on_upstream_response_done();
    return;
  }
}

void UpstreamConnection::on_timer(void* p) {
  auto* self = static_cast<UpstreamConnection*>(p);
  switch (self->state_) {
    case State::connecting:
      self->fail(self->connect_failed_now_ ? UpstreamFailure::connect_failed : UpstreamFailure::connect_timeout);
      break;
    case State::bound:
      self->fail(UpstreamFailure::response_timeout);
      break;
    case State::idle:
      self->close();
      break;
    case State::closed:
      break;
  }
}

void UpstreamConnection::on_write_done(void* p, int status) {
  auto* self = static_cast<UpstreamConnection*>(p);
  if (self->state_ != State::bound) return;
  if (self->tunnel_) {
    if (status != 0) return self->tunnel_->on_error(Tunnel::upstream, "backend write error");
    return self->tunnel_->on_drained(Tunnel::upstream);
  }
  if (status != 0) self->reusable_ = false;  // the read side reports what happened
  if (self->writer_.pending() < kLowWater) self->owner_->on_upstream_drained();
}

void UpstreamConnection::fail(UpstreamFailure why) {
  timer_.cancel();
  reusable_ = false;
  UpstreamEvents* owner = owner_;
  if (owner) owner->on_upstream_failed(why);
}

}  // namespace lb::proxy

namespace lb::proxy {

void UpstreamConnection::start_tunnel(Tunnel* tunnel) {
  tunnel_ = tunnel;
  owner_ = nullptr;
  reusable_ = false;
  timer_.cancel();
  response_timeout_ = Duration(0);
}

void UpstreamConnection::tunnel_send(const BlockRef& block, const char* data, size_t len) {
  writer_.append_ref(block, data, len);
  if (state_ == State::bound && writer_.flush() != 0 && tunnel_) tunnel_->on_error(Tunnel::upstream, "backend write error");
}

void UpstreamConnection::tunnel_send_copy(std::string_view bytes) {
  writer_.append_copy(bytes);
  if (state_ == State::bound && writer_.flush() != 0 && tunnel_) tunnel_->on_error(Tunnel::upstream, "backend write error");
}

void UpstreamConnection::tunnel_reading(bool on) {
  if (state_ != State::bound) return;
  auto* s = reinterpret_cast<uv_stream_t*>(&tcp_);
  reading_paused_ = !on;
  if (on) {
    uv_read_start(s, &UpstreamConnection::on_alloc, &UpstreamConnection::on_read);
  } else {
    uv_read_stop(s);
  }
}

void UpstreamConnection::tunnel_shutdown() {
  if (state_ != State::bound) return;
  if (tls_) {  // the TLS end of this direction, before the FIN
    tls_->close_notify();
    writer_.flush();
  }
  auto* req = new uv_shutdown_t;
  req->data = this;
  const int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), [](uv_shutdown_t* r, int status) {
    auto* self = static_cast<UpstreamConnection*>(r->data);
    delete r;
    // Cancelled by close(): the tunnel is gone already (tunnel_ is null).
    if (self->tunnel_) self->tunnel_->on_shutdown_done(Tunnel::upstream, status);
  });
  if (rc != 0) {
    delete req;
    if (tunnel_) tunnel_->on_shutdown_done(Tunnel::upstream, rc);
  }
}

}  // namespace lb::proxy
