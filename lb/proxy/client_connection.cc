#include "lb/proxy/client_connection.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <xxhash.h>

#include "lb/balance/hash_key.h"
#include "lb/config/cidr.h"

#include "lb/http/error_response.h"
#include "lb/http2/preface.h"
#include "lb/log/access_log.h"
#include "lb/proxy/exchange.h"
#include "lb/proxy/request_intake.h"
#include "lb/proxy/router.h"
#include "lb/proxy/upstream_connection.h"

namespace lb::proxy {

namespace {

// Unparsed input kept while a request is being answered (pipelining): in
// bytes, and in Blocks held, whichever is reached first.
constexpr size_t kMaxPendingInput = 64 * 1024;
constexpr size_t kMaxPendingInputBlocks = 2;
// Stop reading the client while this much is queued towards the backend.
constexpr size_t kUpstreamHighWater = 256 * 1024;
constexpr size_t kUpstreamHighWaterBlocks = 4;
// How long a closing connection waits for the client's FIN (lingering close).
constexpr Duration kLingerTime{2000};
// The most of an answer, still unacknowledged, that a close without linger
// leaves the kernel to deliver (see start_lingering_close).
constexpr size_t kOrphanedTail = 16 * 1024;
// Above this many bytes, or read Blocks held, queued towards the client,
// the Exchange stops reading the backend; it resumes below both low marks.
// Blocks matter when the backend sends many small reads (SSE events) that
// pin whole Blocks.
constexpr size_t kResponseHighWater = 256 * 1024;
constexpr size_t kResponseLowWater = 64 * 1024;
constexpr size_t kResponseHighWaterBlocks = 4;
constexpr size_t kResponseLowWaterBlocks = 2;

// The peer's address, as the socket has it.
void peer_address(uv_tcp_t* tcp, ClientAddress& peer) {
  sockaddr_storage ss{};
  int ss_len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &ss_len) == 0) peer.assign(ss);
}

double ms_since(TimePoint t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

bool ClientConnection::accept_from(uv_stream_t* server, WorkerContext& worker,
                                   std::shared_ptr<ListenerIdentity> listener) {
  auto* c = new ClientConnection(worker, std::move(listener));
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_)) != 0) {
    c->close_now();
    return false;
  }
  uv_tcp_nodelay(&c->tcp_, 1);
  peer_address(&c->tcp_, c->peer_);
  const ListenerRuntime* lr = worker.current->snapshot->find_listener(c->identity_->name);
  if (!lr) {  // listener removed by a reload in between
    c->close_now();
    return false;
  }
  // listener_rt_ points into the snapshot: hold it for as long as we use it.
  c->ws_ = worker.current;
  c->listener_rt_ = lr;
  if (lr->tls) {
    c->tls_ = std::make_unique<tls::TlsSession>(lr->tls);
    c->writer_.set_encoder(c->tls_.get());
  }
  // The PROXY header comes first, before TLS: within timeouts.header too.
  if (lr->config->proxy_protocol) c->proxy_parser_ = std::make_unique<ProxyHeaderParser>();
  // The first request head must arrive within timeouts.header (slowloris).
  c->header_deadline_.expire_in(lr->config->timeouts.header);
  c->update_reading();
  return true;
}

ClientConnection::ClientConnection(WorkerContext& worker, std::shared_ptr<ListenerIdentity> listener)
    : worker_(worker), identity_(std::move(listener)) {
  uv_tcp_init(worker_.loop, &tcp_);
  tcp_.data = this;
  header_deadline_.init(*worker_.timers, this, &ClientConnection::on_header_timeout);
  body_deadline_.init(*worker_.timers, this, &ClientConnection::on_body_timeout);
  keepalive_deadline_.init(*worker_.timers, this, &ClientConnection::on_keepalive_timeout);
  send_deadline_.init(*worker_.timers, this, &ClientConnection::on_send_timeout);
  linger_deadline_.init(*worker_.timers, this, &ClientConnection::on_linger_timeout);
  writer_.attach(reinterpret_cast<uv_stream_t*>(&tcp_), this, &ClientConnection::on_write_done,
                 &worker_.write_batches);
  identity_->state->connections.fetch_add(1, std::memory_order_relaxed);
  identity_->state->stats.count_connection(worker_.index);
  next_client = worker_.clients;
  if (next_client) next_client->prev_client = this;
  worker_.clients = this;
  ++worker_.client_count;
}

ClientConnection::~ClientConnection() {
  if (flush_scheduled_) std::erase(worker_.flush_soon, this);
  identity_->state->connections.fetch_sub(1, std::memory_order_relaxed);
  if (prev_client) prev_client->next_client = next_client;
  else worker_.clients = next_client;
  if (next_client) next_client->prev_client = prev_client;
  --worker_.client_count;
}

void ClientConnection::close_if_idle() {
  if (closed_) return;  // on the list until its close callback; h2_ is gone already
  if (phase_ == Phase::http2) return h2_->shutdown_gracefully();  // GOAWAY; streams in flight finish
  if (phase_ != Phase::idle || !input_.empty()) return;
  if (writer_.idle()) return close_now();
  close_after_write();  // the last response is still being written
}

// ---- reading -------------------------------------------------------------

void ClientConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(h->data);
  *buf = (self->tls_ ? self->tls_in_ : self->read_buf_).offer(self->worker_.blocks);
}

void ClientConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(s->data);
  if (self->proxy_parser_ && nread > 0) return self->handle_proxy_read(nread, buf);
  if (self->tls_) return self->handle_tls_read(nread, buf);
  if (nread == 0) return;
  if (nread < 0) return self->handle_read_end(nread);
  self->handle_bytes(self->read_buf_.commit(size_t(nread)), size_t(nread));
}

void ClientConnection::handle_proxy_read(ssize_t nread, const uv_buf_t* buf) {
  // The bytes landed where they would without a PROXY header: TLS records
  // are only fed (tls_in_ is reset after), plaintext is committed.
  char* data = tls_ ? buf->base : read_buf_.commit(size_t(nread));
  auto let_go = [this] { tls_ ? tls_in_.reset() : read_buf_.release_if_unshared(); };
  const auto r = proxy_parser_->feed(data, size_t(nread));
  if (r.status == ProxyHeaderParser::Status::error) {
    spdlog::info("{} {}: {}; closing", identity_->name, peer_.text(), proxy_parser_->error());
    let_go();
    return close_now();  // nothing was asked: nothing to answer
  }
  if (r.status == ProxyHeaderParser::Status::need_more) return let_go();
  const ProxyHeader& h = proxy_parser_->header();
  const auto& trusted = listener_rt_->config->trusted_proxies;
  if (h.has_addresses && (trusted.empty() || config::any_contains(trusted, peer_.bytes()))) {
    other_clients().connection.assign(h.source);
    other_clients().has_connection = true;
    local_.assign(h.destination);
    local_known_ = true;
  }
  proxy_parser_.reset();
  const size_t rest = size_t(nread) - r.consumed;
  if (rest == 0) return let_go();
  if (tls_) {
    const uv_buf_t after = uv_buf_init(data + r.consumed, unsigned(rest));
    return handle_tls_read(ssize_t(rest), &after);
  }
  handle_bytes(data + r.consumed, rest);
}

ClientConnection::OtherClients& ClientConnection::other_clients() {
  if (!other_clients_) other_clients_ = std::make_unique<OtherClients>();
  return *other_clients_;
}

void ClientConnection::resolve_request_client(const http::RequestHead& head) {
  const auto& trusted = listener_rt_->config->trusted_proxies;
  if (trusted.empty()) return;  // the request's client is the connection's
  std::vector<std::string_view> values;
  for (size_t i = 0; i < head.headers.size(); ++i)
    if (head.headers.id(i) == http::FieldId::x_forwarded_for) values.push_back(head.headers.value(i));
  OtherClients& other = other_clients();
  other.request = request_client(connection_client(), trusted, values);
  other.has_request = true;
}

void ClientConnection::handle_tls_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;
  if (nread < 0) return handle_read_end(nread);  // EOF and errors are the socket's
  // TlsSession reads the records in place, so their Block must outlive the
  // loop below: held here, while tls_in_ lets go (the next read lands in a
  // fresh Block). Released early, the pool could hand that Block to
  // read_buf_ and plaintext would overwrite records not yet decrypted.
  tls_->feed(buf->base, size_t(nread));
  const BlockRef records = tls_in_.block();
  tls_in_.reset();
  while (!closed_) {
    // Records are at most 16 KiB: fill the room with several of them.
    const uv_buf_t room = read_buf_.offer(worker_.blocks);
    size_t filled = 0;
    auto r = tls::TlsSession::Read::data;
    while (r == tls::TlsSession::Read::data && filled < room.len) {
      size_t n = 0;
      r = tls_->read(room.base + filled, room.len - filled, &n);
      filled += n;
    }
    if (filled) {
      handle_bytes(read_buf_.commit(filled), filled);
      if (closed_) return;
    }
    if (r == tls::TlsSession::Read::data) continue;  // the room is full; more may follow
    if (r == tls::TlsSession::Read::closed) {
      handle_read_end(UV_EOF);  // close_notify: the client's end of input
      break;
    }
    if (r == tls::TlsSession::Read::failed) {
      if (phase_ == Phase::closing) break;  // lingering close: input is discarded anyway
      spdlog::info("{} {}: TLS {}: {}", identity_->name, client_ip(),
                   tls_->handshake_done() ? "error" : "handshake failed", tls_->error());
      if (tls_->plain_http() && phase_ == Phase::idle) {
        // Plain HTTP on the TLS port: say so in plain HTTP (nginx's 497
        // idea, as a 400), instead of bytes the client cannot read.
        writer_.set_encoder(nullptr);
        answer_error(400, "plain HTTP request sent to a TLS port");
        flush();
        return;
      }
      flush();  // the alert OpenSSL queued tells the client why
      return abort();
    }
    break;  // want more input
  }
  // Handshake flights, session tickets, alerts.
  if (!closed_) flush();
}

void ClientConnection::handle_read_end(ssize_t nread) {
  read_buf_.reset();
  tls_in_.reset();
  if (phase_ == Phase::http2) {
    // An HTTP/2 client that ends its side has no use for answers: streams
    // in flight are abandoned (their backends' requests cancelled).
    if (nread != UV_EOF) return abort();
    read_eof_ = true;
    h2_->abandon_all();
    return close_after_write();
  }
  if (phase_ == Phase::tunnel) {
    if (nread != UV_EOF) return tunnel_->relay->on_error(Tunnel::client, "client read error");
    read_eof_ = true;
    return tunnel_->relay->on_eof(Tunnel::client);
  }
  {
    if (nread != UV_EOF) return abort();  // reset by peer
    read_eof_ = true;
    if (std::exchange(protocol_open_, false)) {
      // The input ended inside what could have been the h2c preface: it
      // is HTTP/1.1 after all, and what was held is read as such.
      drive();
      if (closed_ || phase_ == Phase::closing) return;
    }
    switch (phase_) {
      case Phase::idle:
      case Phase::head:
        if (!input_.empty()) break;  // a complete request may wait there: answer it
        if (writer_.idle()) return close_now();  // nothing to answer
        return close_after_write();  // the last response is still on its way
      case Phase::body:
        if (exchange_ && exchange_->done()) return finish_request_and_close();  // answered early
        return abort();  // the client gave up mid-request
      case Phase::waiting:
        // Gone while it waits for a backend slot: it leaves the queue and
        // never reaches a backend (a half-closed client loses its answer,
        // as with HAProxy's abortonclose; a request never sent is worth more).
        if (exchange_ && exchange_->queued()) return abort();
        break;  // half-close: answer, then close
      case Phase::closing:
        if (shut_down_ || writer_.idle()) return close_now();  // lingering close done
        break;  // a half-close: the last response is still on its way, the linger is not needed
      case Phase::tunnel:
      case Phase::http2:
        break;  // handled above
    }
    update_reading();
  }
}

void ClientConnection::handle_bytes(char* data, size_t len) {
  if (protocol_open_) {
    const Sniff said = sniff_protocol(data, len);
    if (said == Sniff::need_more) {
      bytes_in_ += len;
      return input_.push(read_buf_.block(), data, len);  // at most the preface's 23 bytes
    }
    protocol_open_ = false;
    if (said == Sniff::http2) {
      start_http2();
      if (closed_) return;
    }
  }
  if (phase_ == Phase::http2) {
    bytes_in_ += len;
    h2_->on_input(read_buf_.block(), data, len);
    if (!closed_) read_buf_.release_if_unshared();
    return;
  }
  if (phase_ == Phase::tunnel) {
    bytes_in_ += len;
    return tunnel_->relay->on_data(Tunnel::client, read_buf_.block(), data, len);
  }
  if (phase_ == Phase::closing) {  // lingering close: discard
    client_sends_no_more_ = false;  // it did send more: the linger drains it
    return read_buf_.release_if_unshared();
  }
  bytes_in_ += len;
  input_.push(read_buf_.block(), data, len);
  drive();
}

void ClientConnection::drive() {
  if (driving_) return;  // the outer call loops until nothing can move
  driving_ = true;
  while (!input_.empty() && (phase_ == Phase::idle || phase_ == Phase::head || phase_ == Phase::body)) {
    SliceQueue::Slice in = input_.pop();
    parse(in);
  }
  driving_ = false;
  // Hold no Block that nothing else needs (slices of it queued for writing
  // keep it, and the next read lands behind them).
  read_buf_.release_if_unshared();
  if (phase_ != Phase::closing && read_eof_ && input_.empty() &&
      (phase_ == Phase::idle || phase_ == Phase::head)) {
    close_after_write();
  }
  flush();
  update_reading();
}

void ClientConnection::parse(SliceQueue::Slice& in) {
  if (phase_ == Phase::idle) {
    phase_ = Phase::head;
    if (!parser_) {
      parser_ = worker_.parsers.take(*this);
      parser_->set_max_header_bytes(listener_rt_->config->limits.max_header_bytes);
    }
    keepalive_deadline_.cancel();
    // A new connection's first head counts from the accept; later ones from their first byte.
    if (!header_deadline_.pending()) header_deadline_.expire_in(listener_rt_->config->timeouts.header);
  } else if (phase_ == Phase::body) {
    body_deadline_.expire_in(listener_rt_->config->timeouts.idle);  // the client is still sending
  }
  current_block_ = in.block;
  const auto r = parser_->execute(in.data, in.len);
  current_block_.reset();
  switch (r.status) {
    case http::RequestParser::Status::ok:
      return;
    case http::RequestParser::Status::complete:
      if (r.consumed < in.len && phase_ != Phase::closing && !closed_) {
        // Pipelined bytes: they wait at the front until this request is answered.
        input_.push_front({in.block, in.data + r.consumed, in.len - r.consumed});
      }
      if (exchange_ && exchange_->done()) on_exchange_done();
      return;
    case http::RequestParser::Status::error:
      // A response already under way cannot carry an error answer inside
      // it (a bad trailer after an early response): cut the connection.
      if (exchange_ && exchange_->response_started()) {
        if (exchange_->done()) return finish_request_and_close();  // a complete early answer stays whole
        return abort();
      }
      if (parser_->error_status() != 0) answer_error(parser_->error_status(), parser_->error_reason());
      if (exchange_) {
        exchange_->abort();
        worker_.deferred->retire(std::move(exchange_));
      }
      close_after_write();
      return;
  }
}

// ---- requests ------------------------------------------------------------

bool ClientConnection::on_request_head(http::RequestHead& head) {
  phase_ = Phase::body;
  request_start_ = Clock::now();
  // A retired listener's connection finishes on the snapshot it has.
  if (!identity_->retired) ws_ = worker_.current;
  listener_rt_ = ws_->snapshot->find_listener(identity_->name);
  if (!listener_rt_) {
    answer_error(503, "listener removed by reload");
    return false;
  }
  const config::ListenerConfig& lc = *listener_rt_->config;
  bytes_out_at_start_ = bytes_out_;
  route_ = nullptr;
  body_bytes_ = 0;
  assign_request_id();
  header_deadline_.cancel();
  if (head.has_body()) body_deadline_.expire_in(lc.timeouts.idle);

  resolve_request_client(head);  // before anything that uses the client's address
  const Intake in =
      take_in_request(worker_, *listener_rt_, *identity_->state, head, client_address(), request_id(), request_start_);
  route_ = in.route;
  if (in.refuse_status) {
    // A client over its rate (429) has no claim on an open connection either.
    answer_error(in.refuse_status, in.why, in.extra_headers());
    return false;
  }
  const size_t pool = in.pool;
  if (route_->forwards() && head.expect_continue && head.minor >= 1 && head.has_body()) {
    // lbd accepts the body itself and streams it on; the backend is not asked.
    writer_.append_copy("HTTP/1.1 100 Continue\r\n\r\n");
  }
  response_.start(head);
  Downstream& downstream = *this;  // a private base: converted here, where that is allowed
  exchange_ = std::make_unique<Exchange>(downstream, ws_, pool, head, *route_);
  exchange_->start();
  return phase_ != Phase::closing;
}

bool ClientConnection::on_request_body(const char* data, size_t len) {
  body_bytes_ += len;
  const uint64_t limit = listener_rt_->config->limits.max_body_bytes;
  if (limit && body_bytes_ > limit) {
    if (exchange_ && exchange_->response_started()) {
      abort();
    } else {
      answer_error(413, "body over max_body_bytes");
    }
    return false;
  }
  if (exchange_ && !exchange_->done()) exchange_->forward_body(current_block_, data, len);
  return true;
}

void ClientConnection::on_request_complete() {
  phase_ = Phase::waiting;
  body_deadline_.cancel();  // waiting on the backend: timeouts.response rules
  if (exchange_) exchange_->request_complete(&parser_->trailers());
}

void ClientConnection::assign_request_id() { request_id_len_ = next_request_id(worker_, request_id_); }

void ClientConnection::on_exchange_done() {
  if (!exchange_) return;
  if (phase_ == Phase::body) {
    // Answered before the request body ended (an error, an early response):
    // wait for the end of the request only if it is about to come.
    if (!response_.keep_alive()) {
      finish_request_and_close();
      return;
    }
    return;  // on_request_complete moves us to waiting; parse() calls back
  }
  if (phase_ != Phase::waiting) return;
  log_request(exchange_->status(), exchange_->pool_name(), exchange_->backend_name(), exchange_->upstream_ms());
  const bool keep = response_.keep_alive() && !read_eof_ && !draining();
  worker_.deferred->retire(std::move(exchange_));
  if (!keep) {
    client_sends_no_more_ = response_.client_asked_close() && input_.empty();
    return close_after_write();
  }
  // Between requests follow reloads: pin the newest snapshot, not the one
  // this request started with (its listener may be gone).
  ws_ = worker_.current;
  listener_rt_ = ws_->snapshot->find_listener(identity_->name);
  if (!listener_rt_) return close_after_write();
  phase_ = Phase::idle;
  parser_->resume();
  arm_keepalive_if_drained();
  drive();
  release_parser_if_idle();
}

void ClientConnection::release_parser_if_idle() {
  if (phase_ == Phase::idle && input_.empty() && parser_) {
    worker_.parsers.give_back(std::move(parser_));
  }
}

void ClientConnection::finish_request_and_close() {
  log_request(exchange_->status(), exchange_->pool_name(), exchange_->backend_name(), exchange_->upstream_ms());
  worker_.deferred->retire(std::move(exchange_));
  close_after_write();
}

void ClientConnection::answer_error(int status, const char* why, std::string_view extra_headers) {
  // A client held to its rate_limit may send thousands of these a second;
  // the access log and lbd_rate_limited_total already say so.
  spdlog::log(status == 429 ? spdlog::level::debug : spdlog::level::info, "{} {}: {} {}", identity_->name, client_ip(),
              status, why);
  const bool head_seen = parser_ && phase_ != Phase::head && phase_ != Phase::idle;
  std::string& scratch = worker_.scratch;
  scratch.clear();
  // An answer to HEAD has no body: one would be read as the next response.
  const bool to_head = head_seen && parser_->head().method == HTTP_HEAD;
  http::append_error_response(status, true, scratch, extra_headers, to_head);
  writer_.append_copy(scratch);
  identity_->state->stats.count_request(
      worker_.index, status,
      head_seen ? std::optional(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request_start_))
                : std::nullopt);
  if (listener_rt_) {
    log::AccessRecord r;
    r.listener = identity_->name;
    r.client = client_ip();
    const bool have_head = parser_ && phase_ != Phase::head && phase_ != Phase::idle;
    static const http::RequestHead kNoHead;
    const http::RequestHead& h = have_head ? parser_->head() : kNoHead;
    r.method = have_head ? h.method_name() : "-";
    r.path = have_head ? std::string_view(h.url) : "-";
    if (have_head) r.protocol = h.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    r.status = status;
    r.bytes_in = bytes_in_;
    r.bytes_out = scratch.size();
    r.request_id = request_id_;
    if (route_) r.route = route_->label;
    if (worker_.access_log) worker_.access_log->write(r);
  }
  close_after_write();
}

void ClientConnection::log_request(int status, const char* pool, const char* backend, double upstream_ms) {
  identity_->state->stats.count_request(
      worker_.index, status, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request_start_));
  // The route lives in this request's snapshot, which the next request may not hold.
  const CompiledRoute* route = std::exchange(route_, nullptr);
  if (!worker_.access_log) return;
  const http::RequestHead& h = parser_->head();
  log::AccessRecord r;
  r.listener = identity_->name;
  r.client = client_ip();
  r.method = h.method_name();
  r.path = h.url;
  r.protocol = h.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  r.status = status;
  r.bytes_in = bytes_in_;
  r.bytes_out = bytes_out_ + writer_.gathered() - bytes_out_at_start_;
  r.duration_ms = ms_since(request_start_);
  r.pool = pool;
  r.backend = backend;
  r.upstream_ms = upstream_ms;
  r.request_id = request_id_;
  r.interrupted = exchange_ && exchange_->interrupted();
  if (route) r.route = route->label;
  worker_.access_log->write(r);
  bytes_in_ = 0;
}

// ---- writing and flow control -------------------------------------------

void ClientConnection::flush() {
  if (closed_) return;
  if (h2_) h2_->fill_writer();
  bytes_out_ += writer_.gathered();
  if (writer_.flush() != 0) return abort();
  // HTTP/2: when the socket took it all at once no write callback comes, so
  // frames the session held back (its output is bounded per fill) go now.
  while (h2_ && writer_.idle() && h2_->wants_write()) {
    h2_->fill_writer();
    if (writer_.idle()) break;
    bytes_out_ += writer_.gathered();
    if (writer_.flush() != 0) return abort();
  }
  if (h2_) {
    h2_->after_flush();  // streams may have ended: deadlines, or the session's end
    if (closed_) return;
  }
  watch_send_progress();
  if (!keepalive_deadline_.pending()) arm_keepalive_if_drained();
  if (exchange_) exchange_->flush_upstream();
  if (phase_ == Phase::closing && writer_.idle()) start_lingering_close();
}

void ClientConnection::flush_soon() {
  if (worker_.flushing_clients) return flush();  // the loop is about to block: no later turn to wait for
  if (closed_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  worker_.flush_soon.push_back(this);
}

void ClientConnection::flush_scheduled() {
  flush_scheduled_ = false;
  flush();
}

// The send deadline runs while bytes wait for the client and restarts on
// every bit of progress: completed writes (on_write_done) and, checked when
// it expires, a shrinking kernel-bound queue within one long write.
void ClientConnection::watch_send_progress() {
  if (writer_.in_flight() == 0) {
    send_deadline_.cancel();
    return;
  }
  if (send_deadline_.pending()) return;
  delivered_at_arm_ = bytes_delivered();
  send_deadline_.expire_in(send_timeout());
}

void ClientConnection::arm_keepalive_if_drained() {
  if (phase_ == Phase::idle && writer_.idle() && input_.empty())
    keepalive_deadline_.expire_in(listener_rt_->config->timeouts.idle);
}

void ClientConnection::after_upstream_io() {
  flush();
  update_reading();
}

bool ClientConnection::above_high_water() const {
  return writer_.pending() > kResponseHighWater || writer_.blocks_held() > kResponseHighWaterBlocks;
}

bool ClientConnection::below_low_water() const {
  return writer_.pending() < kResponseLowWater && writer_.blocks_held() <= kResponseLowWaterBlocks;
}

void ClientConnection::on_write_done(void* p, int status) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->closed_) return;
  if (status == 0) {
    self->send_deadline_.cancel();  // progress: the deadline starts over
    self->watch_send_progress();
  }
  if (self->phase_ == Phase::tunnel) {
    if (status != 0) return self->tunnel_->relay->on_error(Tunnel::client, "client write error");
    return self->tunnel_->relay->on_drained(Tunnel::client);
  }
  if (status != 0) return self->abort();
  if (self->phase_ == Phase::http2) return self->h2_->on_written();  // more frames may go
  if (self->phase_ == Phase::closing) {
    if (self->h2_) self->flush();  // the session's last frames (GOAWAY) may not all have fit
    if (self->writer_.idle()) self->start_lingering_close();
    return;
  }
  if (self->exchange_) return self->exchange_->client_drained();
  self->arm_keepalive_if_drained();
}

void ClientConnection::update_reading() {
  if (closed_) return;
  bool want = !read_eof_;
  if (phase_ == Phase::closing) {
    // Input is discarded until the close. Reading on, rather than pausing
    // until our FIN is sent, spares libuv re-registering the socket (two
    // epoll_ctl calls) when the linger starts.
  } else if (phase_ == Phase::tunnel) want = want && tunnel_ && tunnel_->reading;
  else if (input_.bytes() > kMaxPendingInput || input_.blocks() > kMaxPendingInputBlocks) want = false;
  else if (exchange_ && (exchange_->upstream_backlog() > kUpstreamHighWater ||
                         exchange_->upstream_blocks_held() > kUpstreamHighWaterBlocks))
    want = false;
  if (want == reading_active_) return;
  reading_active_ = want;
  // The body deadline keeps running while lbd holds the client back: the
  // backend not taking the body is then the stall (see on_body_timeout).
  auto* s = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want) {
    uv_read_start(s, &ClientConnection::on_alloc, &ClientConnection::on_read);
  } else {
    uv_read_stop(s);
  }
}

// ---- timers and closing -------------------------------------------------

void ClientConnection::on_header_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->phase_ == Phase::head) {
    // Slowloris: the head did not arrive in time.
    self->answer_error(408, "request head timeout");
    return self->flush();
  }
  if (self->phase_ != Phase::idle) return;
  if (self->proxy_parser_)
    spdlog::info("{} {}: PROXY header not complete within timeouts.header; closing", self->identity_->name,
                 self->peer_.text());
  else if (self->tls_ && !self->tls_->handshake_done())
    spdlog::info("{} {}: TLS handshake not done within timeouts.header; closing", self->identity_->name,
                 self->client_ip());
  self->close_now();  // not a byte of a request: nothing to answer
}

void ClientConnection::on_body_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->phase_ != Phase::body) return;
  // Not reading because the backend has not taken what we sent: its stall.
  const bool backend_stalled = !self->reading_active_ && !self->read_eof_ && self->exchange_ &&
                               self->exchange_->upstream_backlog() > 0;
  spdlog::info("{} {}: request body stalled for timeouts.idle ({}); closing", self->identity_->name, self->client_ip(),
               backend_stalled ? "the backend stopped taking it" : "the client stopped sending");
  if (self->exchange_ && self->exchange_->done()) return self->finish_request_and_close();  // answered early
  if (self->exchange_ && !self->exchange_->response_started()) {
    self->exchange_->abort();  // the backend never gets the rest
    self->answer_error(backend_stalled ? 504 : 408, backend_stalled ? "backend stopped reading the request body"
                                                                     : "request body timeout");
    return self->flush();
  }
  self->abort();
}

void ClientConnection::on_keepalive_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->phase_ == Phase::idle && self->writer_.idle()) self->close_now();  // ends quietly
}

void ClientConnection::on_send_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->writer_.in_flight() == 0) return;
  const uint64_t delivered = self->bytes_delivered();
  if (delivered > self->delivered_at_arm_) {  // slow, but taking bytes: that is progress
    self->delivered_at_arm_ = delivered;
    return self->send_deadline_.expire_in(self->send_timeout());
  }
  spdlog::info("{} {}: client took no bytes for timeouts.send; closing", self->identity_->name, self->client_ip());
  if (self->h2_)  // no GOAWAY can reach a client that reads nothing: counted all the same
    self->identity_->state->h2_goaway[size_t(http2::GoawayReason::send_timeout)].fetch_add(1, std::memory_order_relaxed);
  self->abort();
}

// Our last bytes may still sit in the kernel's send queue when lbd has
// written them all: a slow reader takes seconds for a few MiB. Closing then
// would leave the kernel to deliver them from an orphaned socket, which it
// drops under memory pressure. So the lingering close lasts while that queue
// keeps shrinking (no progress for timeouts.send ends it, as everywhere),
// and then kLingerTime more for the client to read and close its side.
void ClientConnection::on_linger_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  const size_t unsent = self->kernel_unsent_bytes();
  const TimePoint now = Clock::now();
  if (unsent > 0 || self->linger_unsent_ > 0) {
    if (unsent != self->linger_unsent_) self->linger_progress_at_ = now;
    self->linger_unsent_ = unsent;
    if (now - self->linger_progress_at_ < self->send_timeout()) return self->linger_deadline_.expire_in(kLingerTime);
  }
  self->close_now();
}

uint64_t ClientConnection::bytes_delivered() const {
  // flushed() only grows; what libuv still queues, and what the kernel has
  // not had acknowledged, has not reached the client yet. This only grows
  // too, so neither new writes queued behind a slow one nor the kernel's
  // choice of when to report the socket writable hide a client's reads.
  const uint64_t taken = writer_.flushed() - uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
  const size_t unsent = kernel_unsent_bytes();
  return taken > unsent ? taken - unsent : 0;
}

Duration ClientConnection::send_timeout() const {
  return listener_rt_ ? listener_rt_->config->timeouts.send : config::ListenerTimeouts{}.send;
}

size_t ClientConnection::kernel_unread_bytes() const {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return 0;
  int unread = 0;
  if (ioctl(fd, SIOCINQ, &unread) != 0 || unread < 0) return 1;  // unknown: assume some
  return size_t(unread);
}

size_t ClientConnection::kernel_unsent_bytes() const {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return 0;
  int unsent = 0;
  if (ioctl(fd, SIOCOUTQ, &unsent) != 0 || unsent < 0) return 0;
  return size_t(unsent);
}

void ClientConnection::close_after_write() {
  if (phase_ == Phase::closing || closed_) return;
  phase_ = Phase::closing;
  input_.clear();
  header_deadline_.cancel();
  body_deadline_.cancel();
  keepalive_deadline_.cancel();
  update_reading();
  flush();  // starts the lingering close once everything is written; the send deadline guards that
}

void ClientConnection::start_lingering_close() {
  if (shut_down_ || closed_) return;
  shut_down_ = true;
  if (tls_) {  // a clean TLS end, so clients can tell it from a truncation
    tls_->close_notify();
    writer_.flush();
  }
  // A client that asked for this close, and whose request was read to its
  // end with nothing after it, sends nothing more: waiting for its FIN
  // would only hold a connection slot (up to kLingerTime when the client
  // keeps its socket open) and cost three system calls. nginx closes at
  // once here (lingering_close "on") unless input is waiting, HAProxy
  // always does. Unread input would turn the close into a reset, so the
  // kernel's receive queue must be empty too (bytes arriving after the
  // close still get one: the client broke its word). What the kernel
  // still has to send is then delivered from an orphaned socket: a small
  // tail is left to it, a larger one gets the lingering close below, which
  // watches its delivery.
  if (client_sends_no_more_ && !tls_ && kernel_unread_bytes() == 0 && kernel_unsent_bytes() <= kOrphanedTail)
    return close_now();
  // Send FIN, then read and discard until the client's FIN or the linger
  // timer, so unread request bytes cannot turn our answer into a reset.
  auto* req = new uv_shutdown_t;
  req->data = this;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), [](uv_shutdown_t* r, int) { delete r; });
  if (rc != 0) {
    delete req;
    return close_now();
  }
  if (read_eof_ && kernel_unsent_bytes() == 0) return close_now();  // nothing left to read or deliver
  linger_unsent_ = 0;
  linger_progress_at_ = Clock::now();
  linger_deadline_.expire_in(kLingerTime);
  update_reading();
}

ClientConnection::Sniff ClientConnection::sniff_protocol(const char* data, size_t len) const {
  if (!listener_rt_ || !listener_rt_->config->http2.enabled) return Sniff::http1;
  if (tls_) return tls_->negotiated_h2() ? Sniff::http2 : Sniff::http1;
  // h2c by prior knowledge (RFC 9113 §3.3). "PRI * HTTP/2.0" also starts
  // an HTTP/1.1 request line, so only the whole preface says HTTP/2 (as in
  // HAProxy); bytes that match so far wait in input_ for the rest.
  const std::string_view preface = http2::kClientPreface;
  const size_t seen = input_.bytes();
  const size_t n = std::min(len, preface.size() - seen);
  if (std::string_view(data, n) != preface.substr(seen, n)) return Sniff::http1;
  return seen + n == preface.size() ? Sniff::http2 : Sniff::need_more;
}

const SocketAddress& ClientConnection::local_address() const {
  if (local_known_) return local_;
  local_known_ = true;
  sockaddr_storage ss{};
  int ss_len = sizeof ss;
  auto* tcp = const_cast<uv_tcp_t*>(&tcp_);  // libuv's getter takes a non-const handle; it changes nothing
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &ss_len) == 0) local_.assign(ss);
  return local_;
}

void ClientConnection::start_http2() {
  phase_ = Phase::http2;
  header_deadline_.cancel();  // the session has its own
  keepalive_deadline_.cancel();
  if (parser_) worker_.parsers.give_back(std::move(parser_));
  Http2Transport& transport = *this;  // a private base: converted here, where that is allowed
  h2_ = std::make_unique<Http2Connection>(worker_, transport, writer_, identity_, ws_, connection_client(),
                                          local_address());
  while (!input_.empty() && !closed_) {
    const SliceQueue::Slice held = input_.pop();
    h2_->on_input(held.block, held.data, held.len);
  }
  input_.clear();
}

bool ClientConnection::end_stream_for_stop() {
  if (h2_) return h2_->end_streams("shutdown") > 0;
  return end_long_stream(http::kWsGoingAway, "shutdown");
}

bool ClientConnection::end_stream_for_drain() {
  return end_long_stream(http::kWsServiceRestart, "backend_drained");
}

bool ClientConnection::stream_closing() const {
  return !closed_ && phase_ == Phase::tunnel && tunnel_ && tunnel_->relay->closing() && !tunnel_->relay->ended();
}

void ClientConnection::long_stream_backends(std::vector<const balance::Backend*>& out) const {
  if (closed_) return;
  if (h2_) return h2_->stream_backends(out);
  if (const balance::Backend* b = long_stream_backend()) out.push_back(b);
}

bool ClientConnection::end_streams_of(const balance::Backend& backend) {
  if (h2_) return h2_->end_streams("backend_drained", &backend) > 0;
  return long_stream_backend() == &backend && end_stream_for_drain();
}

const balance::Backend* ClientConnection::long_stream_backend() const {
  if (closed_) return nullptr;
  if (phase_ == Phase::tunnel)
    return tunnel_ && tunnel_->upstream && !tunnel_->relay->ended() && !tunnel_->relay->closing()
               ? &tunnel_->upstream->backend()
               : nullptr;
  return exchange_ ? exchange_->stream_backend() : nullptr;
}

bool ClientConnection::end_long_stream(uint16_t ws_code, const char* sse_reason) {
  const balance::Backend* backend = long_stream_backend();
  if (!backend) return false;
  if (phase_ == Phase::tunnel) {
    tunnel_->upstream->backend().stats().count_stream_ended(worker_.index);
    tunnel_->relay->close_with(ws_code);  // ends through on_tunnel_end, now or within Tunnel::kCloseWait
    return true;
  }
  exchange_->end_stream(sse_reason);  // its answer is complete: the connection closes once it is out
  flush();
  return true;
}

void ClientConnection::abort() {
  if (exchange_) {
    exchange_->abort();
    if (phase_ != Phase::closing && phase_ != Phase::idle)
      log_request(exchange_->status() ? exchange_->status() : 499, exchange_->pool_name(), exchange_->backend_name(),
                  exchange_->upstream_ms());
    worker_.deferred->retire(std::move(exchange_));
  }
  close_now();
}

void ClientConnection::close_now() {
  if (closed_) return;
  closed_ = true;
  if (tunnel_) {
    if (!tunnel_->relay->ended()) tunnel_->relay->on_error(Tunnel::client, "connection closed");
    tunnel_->slot.release();
  }
  if (exchange_) {
    exchange_->abort();
    worker_.deferred->retire(std::move(exchange_));
  }
  if (h2_) {
    h2_->abandon_all();
    worker_.deferred->retire(std::move(h2_));  // its frames may be on the stack
  }
  input_.clear();
  read_buf_.reset();
  tls_in_.reset();
  header_deadline_.cancel();
  body_deadline_.cancel();
  keepalive_deadline_.cancel();
  send_deadline_.cancel();
  linger_deadline_.cancel();
  writer_.discard();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
           [](uv_handle_t* h) { delete static_cast<ClientConnection*>(h->data); });
}

// ---- tunnel (after 101 Switching Protocols) ------------------------------

void ClientConnection::start_tunnel(UpstreamConnection* upstream, BackendSlot slot, const char* pool,
                                    double upstream_ms, const BlockRef& block, const char* rest, size_t len) {
  phase_ = Phase::tunnel;
  header_deadline_.cancel();
  body_deadline_.cancel();
  keepalive_deadline_.cancel();
  TunnelSide& client_side = *this;  // private bases: converted here, where that is allowed
  TunnelOwner& owner = *this;
  tunnel_ = std::make_unique<TunnelState>(TunnelState{
      .relay = std::make_unique<Tunnel>(client_side, *upstream, *worker_.timers, listener_rt_->config->timeouts.idle,
                                        owner),
      .upstream = upstream,
      .slot = std::move(slot),
      .pool = pool,
      .upstream_ms = upstream_ms,
  });
  upstream->start_tunnel(tunnel_->relay.get());
  identity_->state->tunnels_active.fetch_add(1, std::memory_order_relaxed);
  identity_->state->tunnels_total.fetch_add(1, std::memory_order_relaxed);
  if (exchange_) worker_.deferred->retire(std::move(exchange_));  // it is calling us: freed after this turn
  flush();  // the 101 head goes first
  // Bytes that arrived right behind either head belong to the new protocol.
  if (len > 0) tunnel_->relay->on_data(Tunnel::upstream, block, rest, len);
  SliceQueue early = std::move(input_);
  input_.clear();
  while (!early.empty()) {
    if (tunnel_->relay->ended()) return;
    SliceQueue::Slice in = early.pop();
    tunnel_->relay->on_data(Tunnel::client, in.block, in.data, in.len);
  }
  if (tunnel_->relay->ended()) return;
  if (read_eof_) tunnel_->relay->on_eof(Tunnel::client);
  tunnel_->relay->start();
}

void ClientConnection::tunnel_send(const BlockRef& block, const char* data, size_t len) {
  writer_.append_ref(block, data, len);
  flush();
}

void ClientConnection::tunnel_send_copy(std::string_view bytes) {
  writer_.append_copy(bytes);
  flush();
}

void ClientConnection::tunnel_reading(bool on) {
  tunnel_->reading = on;
  update_reading();
}

void ClientConnection::tunnel_shutdown() {
  if (closed_) return;
  if (tls_) tls_->close_notify();  // the TLS end of this direction, before the FIN
  flush();
  auto* req = new uv_shutdown_t;
  req->data = this;
  // libuv sends the FIN after the queued writes.
  const int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), [](uv_shutdown_t* r, int status) {
    auto* self = static_cast<ClientConnection*>(r->data);
    delete r;
    if (!self->closed_) self->tunnel_->relay->on_shutdown_done(Tunnel::client, status);
  });
  if (rc != 0) {
    delete req;
    tunnel_->relay->on_shutdown_done(Tunnel::client, rc);
  }
}

void ClientConnection::on_tunnel_end(const char* why) {
  identity_->state->tunnels_active.fetch_sub(1, std::memory_order_relaxed);
  spdlog::debug("{} {}: tunnel {} ended: {}", identity_->name, client_ip(), request_id(), why);
  const char* backend = tunnel_->upstream ? tunnel_->upstream->backend().name().c_str() : "-";
  log_request(101, tunnel_->pool, backend, tunnel_->upstream_ms);
  if (tunnel_->upstream) std::exchange(tunnel_->upstream, nullptr)->close();
  tunnel_->slot.release();
  close_now();
}

}  // namespace lb::proxy
