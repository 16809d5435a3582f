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
#include "lb/core/free_list.h"
#include "lb/core/recycling.h"
#include "lb/core/slab_pool.h"
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
  auto* c = new (*worker.client_memory) ClientConnection(worker, std::move(listener));
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
  if (lr->tls) c->tls_ = std::make_unique<tls::TlsSession>(lr->tls);
  // The PROXY header comes first, before TLS: within timeouts.header too.
  if (lr->config->proxy_protocol) c->proxy_parser_ = std::make_unique<ProxyHeaderParser>();
  // The first request head must arrive within timeouts.header (slowloris).
  c->wait_deadline_.expire_in(lr->config->timeouts.header);
  c->update_reading();
  return true;
}

ClientConnection::ClientConnection(WorkerContext& worker, std::shared_ptr<ListenerIdentity> listener)
    : worker_(worker), identity_(std::move(listener)) {
  uv_tcp_init(worker_.loop, &tcp_);
  tcp_.data = this;
  wait_deadline_.init(*worker_.timers, this, &ClientConnection::on_wait_timeout);
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

// ---- the Busy part --------------------------------------------------------

// Busy parts come and go with the requests of keep-alive connections:
// recycled through this thread's FreeList, which the worker trims every
// second like its other caches. Not under AddressSanitizer (recycling.h).
struct BusyMemory {
  alignas(ClientConnection::Busy) std::byte bytes[sizeof(ClientConnection::Busy)];
};

namespace {
// As many as a burst used, up to this many.
constexpr size_t kMaxCachedBusy = 4096;
thread_local FreeList<BusyMemory> busy_memory(kMaxCachedBusy);
}  // namespace

void* ClientConnection::Busy::operator new(size_t size) {
  if (LB_RECYCLE_MEMORY && size == sizeof(BusyMemory)) {
    if (BusyMemory* m = busy_memory.pop()) return m;
    return new BusyMemory;
  }
  return ::operator new(size);
}

void ClientConnection::Busy::operator delete(void* p, size_t size) {
  if (LB_RECYCLE_MEMORY && size == sizeof(BusyMemory)) {
    auto* m = static_cast<BusyMemory*>(p);
    if (!busy_memory.push(m)) delete m;
    return;
  }
  ::operator delete(p);  // not the sized form: clang before 19 does not declare it by default
}

size_t ClientConnection::trim_caches() { return busy_memory.trim() * sizeof(BusyMemory); }

ClientConnection::Busy::Busy(ClientConnection& c) : response(writer, c.worker_.scratch) {
  header_deadline.init(*c.worker_.timers, &c, &ClientConnection::on_header_timeout);
  body_deadline.init(*c.worker_.timers, &c, &ClientConnection::on_body_timeout);
  send_deadline.init(*c.worker_.timers, &c, &ClientConnection::on_send_timeout);
  linger_deadline.init(*c.worker_.timers, &c, &ClientConnection::on_linger_timeout);
  writer.attach(reinterpret_cast<uv_stream_t*>(&c.tcp_), &c, &ClientConnection::on_write_done,
                &c.worker_.write_batches);
  writer.set_encoder(c.tls_.get());
}

ClientConnection::Busy& ClientConnection::busy() {
  if (!busy_) busy_.reset(new Busy(*this));
  return *busy_;
}

void ClientConnection::rest() {
  if (closed_ || driving_ || !busy_ || phase_ != Phase::idle || !busy_->writer.idle() || !busy_->input.empty() ||
      busy_->exchange || busy_->h2 || busy_->tunnel || !wait_deadline_.pending())
    return;
  if (busy_->parser) worker_.parsers.give_back(std::move(busy_->parser));
  busy_.reset();  // its Blocks (reads, nothing unsent) go back with it
}

void ClientConnection::close_if_idle() {
  if (closed_) return;  // on the list until its close callback; the HTTP/2 session is gone already
  if (phase_ == Phase::http2) return h2()->shutdown_gracefully();  // GOAWAY; streams in flight finish
  if (phase_ != Phase::idle || !input_empty()) return;
  if (writer_idle()) return close_now();
  close_after_write();  // the last response is still being written
}

// ---- reading -------------------------------------------------------------

void ClientConnection::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(h->data);
  *buf = (self->tls_ ? self->busy().tls_in : self->busy().read_buf).offer(self->worker_.blocks);
}

void ClientConnection::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(s->data);
  if (self->proxy_parser_ && nread > 0) self->handle_proxy_read(nread, buf);
  else if (self->tls_) self->handle_tls_read(nread, buf);
  else if (nread < 0) self->handle_read_end(nread);
  else if (nread > 0) self->handle_bytes(self->busy().read_buf.commit(size_t(nread)), size_t(nread));
  // A read that started nothing (no bytes after all, a TLS record without
  // plaintext, part of a PROXY header) leaves a waiting connection waiting:
  // the Busy part on_alloc took goes back.
  if (self->phase_ == Phase::idle && self->wait_deadline_.pending()) self->rest_soon();
}

void ClientConnection::handle_proxy_read(ssize_t nread, const uv_buf_t* buf) {
  Busy& b = busy();
  // The bytes landed where they would without a PROXY header: TLS records
  // are only fed (tls_in is reset after), plaintext is committed.
  char* data = tls_ ? buf->base : b.read_buf.commit(size_t(nread));
  auto let_go = [this, &b] { tls_ ? b.tls_in.reset() : b.read_buf.release_if_unshared(); };
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
    other_clients().local.assign(h.destination);
    other_clients().has_local = true;
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

ClientConnection::OtherClients& ClientConnection::other_clients() const {
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
  Busy& b = busy();
  if (nread == 0) return;
  if (nread < 0) return handle_read_end(nread);  // EOF and errors are the socket's
  // TlsSession reads the records in place, so their Block must outlive the
  // loop below: held here, while tls_in lets go (the next read lands in a
  // fresh Block). Released early, the pool could hand that Block to
  // read_buf and plaintext would overwrite records not yet decrypted.
  tls_->feed(buf->base, size_t(nread));
  const BlockRef records = b.tls_in.block();
  b.tls_in.reset();
  while (!closed_) {
    // Records are at most 16 KiB: fill the room with several of them.
    const uv_buf_t room = b.read_buf.offer(worker_.blocks);
    size_t filled = 0;
    auto r = tls::TlsSession::Read::data;
    while (r == tls::TlsSession::Read::data && filled < room.len) {
      size_t n = 0;
      r = tls_->read(room.base + filled, room.len - filled, &n);
      filled += n;
    }
    if (filled) {
      handle_bytes(b.read_buf.commit(filled), filled);
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
        b.writer.set_encoder(nullptr);
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
  Busy& b = busy();
  b.read_buf.reset();
  b.tls_in.reset();
  if (phase_ == Phase::http2) {
    // An HTTP/2 client that ends its side has no use for answers: streams
    // in flight are abandoned (their backends' requests cancelled).
    if (nread != UV_EOF) return abort();
    read_eof_ = true;
    b.h2->abandon_all();
    return close_after_write();
  }
  if (phase_ == Phase::tunnel) {
    if (nread != UV_EOF) return b.tunnel->relay->on_error(Tunnel::client, "client read error");
    read_eof_ = true;
    return b.tunnel->relay->on_eof(Tunnel::client);
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
        if (!b.input.empty()) break;  // a complete request may wait there: answer it
        if (b.writer.idle()) return close_now();  // nothing to answer
        return close_after_write();  // the last response is still on its way
      case Phase::body:
        if (b.exchange && b.exchange->done()) return finish_request_and_close();  // answered early
        return abort();  // the client gave up mid-request
      case Phase::waiting:
        // Gone while it waits for a backend slot: it leaves the queue and
        // never reaches a backend (a half-closed client loses its answer,
        // as with HAProxy's abortonclose; a request never sent is worth more).
        if (b.exchange && b.exchange->queued()) return abort();
        break;  // half-close: answer, then close
      case Phase::closing:
        if (shut_down_ || b.writer.idle()) return close_now();  // lingering close done
        break;  // a half-close: the last response is still on its way, the linger is not needed
      case Phase::tunnel:
      case Phase::http2:
        break;  // handled above
    }
    update_reading();
  }
}

void ClientConnection::handle_bytes(char* data, size_t len) {
  Busy& b = busy();
  if (protocol_open_) {
    const Sniff said = sniff_protocol(data, len);
    if (said == Sniff::need_more) {
      b.bytes_in += len;
      return b.input.push(b.read_buf.block(), data, len);  // at most the preface's 23 bytes
    }
    protocol_open_ = false;
    if (said == Sniff::http2) {
      start_http2();
      if (closed_) return;
    }
  }
  if (phase_ == Phase::http2) {
    b.bytes_in += len;
    b.h2->on_input(b.read_buf.block(), data, len);
    if (!closed_) b.read_buf.release_if_unshared();
    return;
  }
  if (phase_ == Phase::tunnel) {
    b.bytes_in += len;
    return b.tunnel->relay->on_data(Tunnel::client, b.read_buf.block(), data, len);
  }
  if (phase_ == Phase::closing) {  // lingering close: discard
    client_sends_no_more_ = false;  // it did send more: the linger drains it
    return b.read_buf.release_if_unshared();
  }
  b.bytes_in += len;
  b.input.push(b.read_buf.block(), data, len);
  drive();
}

void ClientConnection::drive() {
  if (driving_) return;  // the outer call loops until nothing can move
  Busy& b = busy();
  driving_ = true;
  while (!b.input.empty() && (phase_ == Phase::idle || phase_ == Phase::head || phase_ == Phase::body)) {
    SliceQueue::Slice in = b.input.pop();
    parse(in);
  }
  driving_ = false;
  // Hold no Block that nothing else needs (slices of it queued for writing
  // keep it, and the next read lands behind them).
  b.read_buf.release_if_unshared();
  if (phase_ != Phase::closing && read_eof_ && b.input.empty() && (phase_ == Phase::idle || phase_ == Phase::head)) {
    close_after_write();
  }
  flush();
  update_reading();
}

void ClientConnection::parse(SliceQueue::Slice& in) {
  Busy& b = busy();
  if (phase_ == Phase::idle) {
    phase_ = Phase::head;
    if (!b.parser) {
      b.parser = worker_.parsers.take(*this);
      b.parser->set_max_header_bytes(listener_rt_->config->limits.max_header_bytes);
    }
    // The head is due timeouts.header after its first byte; a connection's
    // first head when the wait deadline, set at the accept, would fire.
    if (!b.header_deadline.pending()) {
      const bool first = !served_ && wait_deadline_.pending();
      b.header_deadline.expire_in(first ? wait_deadline_.remaining() : listener_rt_->config->timeouts.header);
    }
    wait_deadline_.cancel();
  } else if (phase_ == Phase::body) {
    b.body_deadline.expire_in(listener_rt_->config->timeouts.idle);  // the client is still sending
  }
  b.current_block = in.block;
  const auto r = b.parser->execute(in.data, in.len);
  b.current_block.reset();
  switch (r.status) {
    case http::RequestParser::Status::ok:
      return;
    case http::RequestParser::Status::complete:
      if (r.consumed < in.len && phase_ != Phase::closing && !closed_) {
        // Pipelined bytes: they wait at the front until this request is answered.
        b.input.push_front({in.block, in.data + r.consumed, in.len - r.consumed});
      }
      if (b.exchange && b.exchange->done()) on_exchange_done();
      return;
    case http::RequestParser::Status::error:
      // A response already under way cannot carry an error answer inside
      // it (a bad trailer after an early response): cut the connection.
      if (b.exchange && b.exchange->response_started()) {
        if (b.exchange->done()) return finish_request_and_close();  // a complete early answer stays whole
        return abort();
      }
      if (b.parser->error_status() != 0) answer_error(b.parser->error_status(), b.parser->error_reason());
      if (b.exchange) {
        b.exchange->abort();
        worker_.deferred->retire(std::move(b.exchange));
      }
      close_after_write();
      return;
  }
}

// ---- requests ------------------------------------------------------------

bool ClientConnection::on_request_head(http::RequestHead& head) {
  Busy& b = busy();
  phase_ = Phase::body;
  served_ = true;  // from now on the wait between requests is timeouts.idle
  b.request_start = Clock::now();
  // A retired listener's connection finishes on the snapshot it has.
  if (!identity_->retired) ws_ = worker_.current;
  listener_rt_ = ws_->snapshot->find_listener(identity_->name);
  if (!listener_rt_) {
    answer_error(503, "listener removed by reload");
    return false;
  }
  const config::ListenerConfig& lc = *listener_rt_->config;
  b.bytes_out_at_start = b.bytes_out;
  b.route = nullptr;
  b.body_bytes = 0;
  assign_request_id();
  b.header_deadline.cancel();
  if (head.has_body()) b.body_deadline.expire_in(lc.timeouts.idle);

  resolve_request_client(head);  // before anything that uses the client's address
  const Intake in =
      take_in_request(worker_, *listener_rt_, *identity_->state, head, client_address(), request_id(), b.request_start);
  b.route = in.route;
  if (in.refuse_status) {
    // A client over its rate (429) has no claim on an open connection either.
    answer_error(in.refuse_status, in.why, in.extra_headers());
    return false;
  }
  const size_t pool = in.pool;
  if (b.route->forwards() && head.expect_continue && head.minor >= 1 && head.has_body()) {
    // lbd accepts the body itself and streams it on; the backend is not asked.
    b.writer.append_copy("HTTP/1.1 100 Continue\r\n\r\n");
  }
  b.response.start(head);
  Downstream& downstream = *this;  // a private base: converted here, where that is allowed
  b.exchange = std::make_unique<Exchange>(downstream, ws_, pool, head, *b.route);
  b.exchange->start();
  return phase_ != Phase::closing;
}

bool ClientConnection::on_request_body(const char* data, size_t len) {
  Busy& b = busy();
  b.body_bytes += len;
  const uint64_t limit = listener_rt_->config->limits.max_body_bytes;
  if (limit && b.body_bytes > limit) {
    if (b.exchange && b.exchange->response_started()) {
      abort();
    } else {
      answer_error(413, "body over max_body_bytes");
    }
    return false;
  }
  if (b.exchange && !b.exchange->done()) b.exchange->forward_body(b.current_block, data, len);
  return true;
}

void ClientConnection::on_request_complete() {
  Busy& b = busy();
  phase_ = Phase::waiting;
  b.body_deadline.cancel();  // waiting on the backend: timeouts.response rules
  if (b.exchange) b.exchange->request_complete(&b.parser->trailers());
}

void ClientConnection::assign_request_id() { busy().request_id_len = next_request_id(worker_, busy().request_id); }

void ClientConnection::on_exchange_done() {
  Busy& b = busy();
  if (!b.exchange) return;
  if (phase_ == Phase::body) {
    // Answered before the request body ended (an error, an early response):
    // wait for the end of the request only if it is about to come.
    if (!b.response.keep_alive()) {
      finish_request_and_close();
      return;
    }
    return;  // on_request_complete moves us to waiting; parse() calls back
  }
  if (phase_ != Phase::waiting) return;
  log_request(b.exchange->status(), b.exchange->pool_name(), b.exchange->backend_name(), b.exchange->upstream_ms());
  const bool keep = b.response.keep_alive() && !read_eof_ && !draining();
  worker_.deferred->retire(std::move(b.exchange));
  if (!keep) {
    client_sends_no_more_ = b.response.client_asked_close() && b.input.empty();
    return close_after_write();
  }
  // Between requests follow reloads: pin the newest snapshot, not the one
  // this request started with (its listener may be gone).
  ws_ = worker_.current;
  listener_rt_ = ws_->snapshot->find_listener(identity_->name);
  if (!listener_rt_) return close_after_write();
  phase_ = Phase::idle;
  b.parser->resume();
  arm_keepalive_if_drained();
  drive();
  release_parser_if_idle();
}

void ClientConnection::release_parser_if_idle() {
  if (phase_ == Phase::idle && busy().input.empty() && busy().parser) {
    worker_.parsers.give_back(std::move(busy().parser));
  }
}

void ClientConnection::finish_request_and_close() {
  Busy& b = busy();
  log_request(b.exchange->status(), b.exchange->pool_name(), b.exchange->backend_name(), b.exchange->upstream_ms());
  worker_.deferred->retire(std::move(b.exchange));
  close_after_write();
}

void ClientConnection::answer_error(int status, const char* why, std::string_view extra_headers) {
  Busy& b = busy();
  // A client held to its rate_limit may send thousands of these a second;
  // the access log and lbd_rate_limited_total already say so.
  spdlog::log(status == 429 ? spdlog::level::debug : spdlog::level::info, "{} {}: {} {}", identity_->name, client_ip(),
              status, why);
  const bool head_seen = b.parser && phase_ != Phase::head && phase_ != Phase::idle;
  std::string& scratch = worker_.scratch;
  scratch.clear();
  // An answer to HEAD has no body: one would be read as the next response.
  const bool to_head = head_seen && b.parser->head().method == HTTP_HEAD;
  http::append_error_response(status, true, scratch, extra_headers, to_head);
  b.writer.append_copy(scratch);
  identity_->state->stats.count_request(
      worker_.index, status,
      head_seen ? std::optional(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - b.request_start))
                : std::nullopt);
  if (listener_rt_) {
    log::AccessRecord r;
    r.listener = identity_->name;
    r.client = client_ip();
    const bool have_head = b.parser && phase_ != Phase::head && phase_ != Phase::idle;
    static const http::RequestHead kNoHead;
    const http::RequestHead& h = have_head ? b.parser->head() : kNoHead;
    r.method = have_head ? h.method_name() : "-";
    r.path = have_head ? std::string_view(h.url) : "-";
    if (have_head) r.protocol = h.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    r.status = status;
    r.bytes_in = b.bytes_in;
    r.bytes_out = scratch.size();
    r.request_id = b.request_id;
    if (b.route) r.route = b.route->label;
    if (worker_.access_log) worker_.access_log->write(r);
  }
  close_after_write();
}

void ClientConnection::log_request(int status, const char* pool, const char* backend, double upstream_ms) {
  Busy& b = busy();
  identity_->state->stats.count_request(
      worker_.index, status, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - b.request_start));
  // The route lives in this request's snapshot, which the next request may not hold.
  const CompiledRoute* route = std::exchange(b.route, nullptr);
  if (!worker_.access_log) return;
  const http::RequestHead& h = b.parser->head();
  log::AccessRecord r;
  r.listener = identity_->name;
  r.client = client_ip();
  r.method = h.method_name();
  r.path = h.url;
  r.protocol = h.minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  r.status = status;
  r.bytes_in = b.bytes_in;
  r.bytes_out = b.bytes_out + b.writer.gathered() - b.bytes_out_at_start;
  r.duration_ms = ms_since(b.request_start);
  r.pool = pool;
  r.backend = backend;
  r.upstream_ms = upstream_ms;
  r.request_id = b.request_id;
  r.interrupted = b.exchange && b.exchange->interrupted();
  if (route) r.route = route->label;
  worker_.access_log->write(r);
  b.bytes_in = 0;
}

// ---- writing and flow control -------------------------------------------

void ClientConnection::flush() {
  if (closed_ || !busy_) return;  // resting: nothing to write, the keep-alive deadline armed
  Busy& b = *busy_;
  if (b.h2) b.h2->fill_writer();
  b.bytes_out += b.writer.gathered();
  if (b.writer.flush() != 0) return abort();
  // HTTP/2: when the socket took it all at once no write callback comes, so
  // frames the session held back (its output is bounded per fill) go now.
  while (b.h2 && b.writer.idle() && b.h2->wants_write()) {
    b.h2->fill_writer();
    if (b.writer.idle()) break;
    b.bytes_out += b.writer.gathered();
    if (b.writer.flush() != 0) return abort();
  }
  if (b.h2) {
    b.h2->after_flush();  // streams may have ended: deadlines, or the session's end
    if (closed_) return;
  }
  watch_send_progress();
  if (!wait_deadline_.pending()) arm_keepalive_if_drained();
  if (b.exchange) b.exchange->flush_upstream();
  if (phase_ == Phase::closing && b.writer.idle()) start_lingering_close();
}

void ClientConnection::flush_soon() {
  if (worker_.flushing_clients) return flush();  // the loop is about to block: no later turn to wait for
  if (closed_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  worker_.flush_soon.push_back(this);
}

void ClientConnection::rest_soon() {
  if (closed_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  worker_.flush_soon.push_back(this);
}

void ClientConnection::flush_scheduled() {
  flush_scheduled_ = false;
  flush();
  rest();
}

// The send deadline runs while bytes wait for the client and restarts on
// every bit of progress: completed writes (on_write_done) and, checked when
// it expires, a shrinking kernel-bound queue within one long write.
void ClientConnection::watch_send_progress() {
  Busy& b = busy();
  if (b.writer.in_flight() == 0) {
    b.send_deadline.cancel();
    return;
  }
  if (b.send_deadline.pending()) return;
  b.delivered_at_arm = bytes_delivered();
  b.send_deadline.expire_in(send_timeout());
}

void ClientConnection::arm_keepalive_if_drained() {
  // Before the first request the wait deadline is timeouts.header from the
  // accept (a TLS handshake's writes end here too): it stays.
  if (!served_ || phase_ != Phase::idle || !writer_idle() || !input_empty()) return;
  wait_deadline_.expire_in(listener_rt_->config->timeouts.idle);
  rest_soon();  // not now: our caller may hold parts of the Busy part
}

void ClientConnection::after_upstream_io() {
  flush();
  update_reading();
}

// Asked by the request's Exchange: the Busy part is there.
bool ClientConnection::above_high_water() const {
  const StreamWriter& w = busy_->writer;
  return w.pending() > kResponseHighWater || w.blocks_held() > kResponseHighWaterBlocks;
}

bool ClientConnection::below_low_water() const {
  const StreamWriter& w = busy_->writer;
  return w.pending() < kResponseLowWater && w.blocks_held() <= kResponseLowWaterBlocks;
}

void ClientConnection::on_write_done(void* p, int status) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->closed_) return;
  Busy& b = self->busy();  // writes were in flight: it is there
  if (status == 0) {
    b.send_deadline.cancel();  // progress: the deadline starts over
    self->watch_send_progress();
  }
  if (self->phase_ == Phase::tunnel) {
    if (status != 0) return b.tunnel->relay->on_error(Tunnel::client, "client write error");
    return b.tunnel->relay->on_drained(Tunnel::client);
  }
  if (status != 0) return self->abort();
  if (self->phase_ == Phase::http2) return b.h2->on_written();  // more frames may go
  if (self->phase_ == Phase::closing) {
    if (b.h2) self->flush();  // the session's last frames (GOAWAY) may not all have fit
    if (b.writer.idle()) self->start_lingering_close();
    return;
  }
  if (b.exchange) return b.exchange->client_drained();
  self->arm_keepalive_if_drained();
  self->rest();  // at once: in libuv's callback nothing up the stack holds the Busy part
}

void ClientConnection::update_reading() {
  if (closed_) return;
  bool want = !read_eof_;
  if (phase_ == Phase::closing) {
    // Input is discarded until the close. Reading on, rather than pausing
    // until our FIN is sent, spares libuv re-registering the socket (two
    // epoll_ctl calls) when the linger starts.
  } else if (phase_ == Phase::tunnel) {
    want = want && tunnel() && tunnel()->reading;
  } else if (busy_) {  // a resting connection has no input waiting and no request
    const SliceQueue& input = busy_->input;
    const Exchange* x = busy_->exchange.get();
    if (input.bytes() > kMaxPendingInput || input.blocks() > kMaxPendingInputBlocks) want = false;
    else if (x && (x->upstream_backlog() > kUpstreamHighWater || x->upstream_blocks_held() > kUpstreamHighWaterBlocks))
      want = false;
  }
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
  if (self->phase_ != Phase::head) return;
  // Slowloris: the head did not arrive in time.
  self->answer_error(408, "request head timeout");
  self->flush();
}

void ClientConnection::on_wait_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  if (self->phase_ != Phase::idle) return;
  if (self->proxy_parser_)
    spdlog::info("{} {}: PROXY header not complete within timeouts.header; closing", self->identity_->name,
                 self->peer_.text());
  else if (self->tls_ && !self->tls_->handshake_done())
    spdlog::info("{} {}: TLS handshake not done within timeouts.header; closing", self->identity_->name,
                 self->client_ip());
  self->close_now();  // not a byte of a request: nothing to answer (keep-alive ends quietly)
}

void ClientConnection::on_body_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  Busy& b = self->busy();
  if (self->phase_ != Phase::body) return;
  // Not reading because the backend has not taken what we sent: its stall.
  const bool backend_stalled = !self->reading_active_ && !self->read_eof_ && b.exchange &&
                               b.exchange->upstream_backlog() > 0;
  spdlog::info("{} {}: request body stalled for timeouts.idle ({}); closing", self->identity_->name, self->client_ip(),
               backend_stalled ? "the backend stopped taking it" : "the client stopped sending");
  if (b.exchange && b.exchange->done()) return self->finish_request_and_close();  // answered early
  if (b.exchange && !b.exchange->response_started()) {
    b.exchange->abort();  // the backend never gets the rest
    self->answer_error(backend_stalled ? 504 : 408, backend_stalled ? "backend stopped reading the request body"
                                                                     : "request body timeout");
    return self->flush();
  }
  self->abort();
}

void ClientConnection::on_send_timeout(void* p) {
  auto* self = static_cast<ClientConnection*>(p);
  Busy& b = self->busy();
  if (b.writer.in_flight() == 0) return;
  const uint64_t delivered = self->bytes_delivered();
  if (delivered > b.delivered_at_arm) {  // slow, but taking bytes: that is progress
    b.delivered_at_arm = delivered;
    return b.send_deadline.expire_in(self->send_timeout());
  }
  spdlog::info("{} {}: client took no bytes for timeouts.send; closing", self->identity_->name, self->client_ip());
  if (b.h2)  // no GOAWAY can reach a client that reads nothing: counted all the same
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
  Busy& b = self->busy();
  const size_t unsent = self->kernel_unsent_bytes();
  const TimePoint now = Clock::now();
  if (unsent > 0 || b.linger_unsent > 0) {
    if (unsent != b.linger_unsent) b.linger_progress_at = now;
    b.linger_unsent = unsent;
    if (now - b.linger_progress_at < self->send_timeout()) return b.linger_deadline.expire_in(kLingerTime);
  }
  self->close_now();
}

uint64_t ClientConnection::bytes_delivered() const {
  // flushed() only grows; what libuv still queues, and what the kernel has
  // not had acknowledged, has not reached the client yet. This only grows
  // too, so neither new writes queued behind a slow one nor the kernel's
  // choice of when to report the socket writable hide a client's reads.
  // Asked while bytes are in flight: the Busy part is there.
  const uint64_t taken =
      busy_->writer.flushed() - uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
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
  Busy& b = busy();  // the lingering close needs it
  b.input.clear();
  b.header_deadline.cancel();
  b.body_deadline.cancel();
  wait_deadline_.cancel();
  update_reading();
  flush();  // starts the lingering close once everything is written; the send deadline guards that
}

void ClientConnection::start_lingering_close() {
  if (shut_down_ || closed_) return;
  Busy& b = busy();
  shut_down_ = true;
  if (tls_) {  // a clean TLS end, so clients can tell it from a truncation
    tls_->close_notify();
    // A client that closed without close_notify (right after its handshake,
    // say) has reset the socket by now: the alert cannot go, and what the
    // kernel still holds (session tickets) never drains. Lingering would
    // watch that queue until the send timeout, holding the client's slot,
    // a slot any client could take this way for the price of a handshake.
    if (b.writer.flush() != 0) return close_now();
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
  b.linger_unsent = 0;
  b.linger_progress_at = Clock::now();
  b.linger_deadline.expire_in(kLingerTime);
  update_reading();
}

ClientConnection::Sniff ClientConnection::sniff_protocol(const char* data, size_t len) const {
  if (!listener_rt_ || !listener_rt_->config->http2.enabled) return Sniff::http1;
  if (tls_) return tls_->negotiated_h2() ? Sniff::http2 : Sniff::http1;
  // h2c by prior knowledge (RFC 9113 §3.3). "PRI * HTTP/2.0" also starts
  // an HTTP/1.1 request line, so only the whole preface says HTTP/2 (as in
  // HAProxy); bytes that match so far wait in the input for the rest.
  const std::string_view preface = http2::kClientPreface;
  const size_t seen = busy_->input.bytes();  // bytes are being handled: the Busy part is there
  const size_t n = std::min(len, preface.size() - seen);
  if (std::string_view(data, n) != preface.substr(seen, n)) return Sniff::http1;
  return seen + n == preface.size() ? Sniff::http2 : Sniff::need_more;
}

const SocketAddress& ClientConnection::local_address() const {
  OtherClients& other = other_clients();
  if (other.has_local) return other.local;
  other.has_local = true;
  sockaddr_storage ss{};
  int ss_len = sizeof ss;
  auto* tcp = const_cast<uv_tcp_t*>(&tcp_);  // libuv's getter takes a non-const handle; it changes nothing
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &ss_len) == 0) other.local.assign(ss);
  return other.local;
}

void ClientConnection::start_http2() {
  Busy& b = busy();
  phase_ = Phase::http2;
  b.header_deadline.cancel();  // the session has its own
  wait_deadline_.cancel();
  if (b.parser) worker_.parsers.give_back(std::move(b.parser));
  Http2Transport& transport = *this;  // a private base: converted here, where that is allowed
  b.h2 = std::make_unique<Http2Connection>(worker_, transport, b.writer, identity_, ws_, connection_client(),
                                          local_address());
  while (!b.input.empty() && !closed_) {
    const SliceQueue::Slice held = b.input.pop();
    b.h2->on_input(held.block, held.data, held.len);
  }
  b.input.clear();
}

bool ClientConnection::end_stream_for_stop() {
  if (h2()) return h2()->end_streams("shutdown") > 0;
  return end_long_stream(http::kWsGoingAway, "shutdown");
}

bool ClientConnection::end_stream_for_drain() {
  return end_long_stream(http::kWsServiceRestart, "backend_drained");
}

bool ClientConnection::stream_closing() const {
  const TunnelState* t = tunnel();
  return !closed_ && phase_ == Phase::tunnel && t && t->relay->closing() && !t->relay->ended();
}

void ClientConnection::long_stream_backends(std::vector<const balance::Backend*>& out) const {
  if (closed_) return;
  if (h2()) return h2()->stream_backends(out);
  if (const balance::Backend* b = long_stream_backend()) out.push_back(b);
}

bool ClientConnection::end_streams_of(const balance::Backend& backend) {
  if (h2()) return h2()->end_streams("backend_drained", &backend) > 0;
  return long_stream_backend() == &backend && end_stream_for_drain();
}

const balance::Backend* ClientConnection::long_stream_backend() const {
  if (closed_) return nullptr;
  if (phase_ == Phase::tunnel) {
    const TunnelState* t = tunnel();
    return t && t->upstream && !t->relay->ended() && !t->relay->closing() ? &t->upstream->backend() : nullptr;
  }
  return exchange() ? exchange()->stream_backend() : nullptr;
}

bool ClientConnection::end_long_stream(uint16_t ws_code, const char* sse_reason) {
  const balance::Backend* backend = long_stream_backend();
  if (!backend) return false;  // and so no Busy part is taken below
  Busy& b = busy();
  if (phase_ == Phase::tunnel) {
    b.tunnel->upstream->backend().stats().count_stream_ended(worker_.index);
    b.tunnel->relay->close_with(ws_code);  // ends through on_tunnel_end, now or within Tunnel::kCloseWait
    return true;
  }
  b.exchange->end_stream(sse_reason);  // its answer is complete: the connection closes once it is out
  flush();
  return true;
}

void ClientConnection::abort() {
  if (Exchange* x = exchange()) {
    x->abort();
    if (phase_ != Phase::closing && phase_ != Phase::idle)
      log_request(x->status() ? x->status() : 499, x->pool_name(), x->backend_name(), x->upstream_ms());
    worker_.deferred->retire(std::move(busy_->exchange));
  }
  close_now();
}

void ClientConnection::close_now() {
  if (closed_) return;
  closed_ = true;
  wait_deadline_.cancel();
  if (busy_) {  // freed with the connection, in the close callback
    Busy& b = *busy_;
    if (b.tunnel) {
      if (!b.tunnel->relay->ended()) b.tunnel->relay->on_error(Tunnel::client, "connection closed");
      b.tunnel->slot.release();
    }
    if (b.exchange) {
      b.exchange->abort();
      worker_.deferred->retire(std::move(b.exchange));
    }
    if (b.h2) {
      b.h2->abandon_all();
      worker_.deferred->retire(std::move(b.h2));  // its frames may be on the stack
    }
    b.input.clear();
    b.read_buf.reset();
    b.tls_in.reset();
    b.header_deadline.cancel();
    b.body_deadline.cancel();
    b.send_deadline.cancel();
    b.linger_deadline.cancel();
    b.writer.discard();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
           [](uv_handle_t* h) { delete static_cast<ClientConnection*>(h->data); });
}

// ---- tunnel (after 101 Switching Protocols) ------------------------------

void ClientConnection::start_tunnel(UpstreamConnection* upstream, BackendSlot slot, const char* pool,
                                    double upstream_ms, const BlockRef& block, const char* rest, size_t len) {
  Busy& b = busy();
  phase_ = Phase::tunnel;
  b.header_deadline.cancel();
  b.body_deadline.cancel();
  wait_deadline_.cancel();
  TunnelSide& client_side = *this;  // private bases: converted here, where that is allowed
  TunnelOwner& owner = *this;
  b.tunnel = std::make_unique<TunnelState>(TunnelState{
      .relay = std::make_unique<Tunnel>(client_side, *upstream, *worker_.timers, listener_rt_->config->timeouts.idle,
                                        owner),
      .upstream = upstream,
      .slot = std::move(slot),
      .pool = pool,
      .upstream_ms = upstream_ms,
  });
  upstream->start_tunnel(b.tunnel->relay.get());
  identity_->state->tunnels_active.fetch_add(1, std::memory_order_relaxed);
  identity_->state->tunnels_total.fetch_add(1, std::memory_order_relaxed);
  if (b.exchange) worker_.deferred->retire(std::move(b.exchange));  // it is calling us: freed after this turn
  flush();  // the 101 head goes first
  // Bytes that arrived right behind either head belong to the new protocol.
  if (len > 0) b.tunnel->relay->on_data(Tunnel::upstream, block, rest, len);
  SliceQueue early = std::move(b.input);
  b.input.clear();
  while (!early.empty()) {
    if (b.tunnel->relay->ended()) return;
    SliceQueue::Slice in = early.pop();
    b.tunnel->relay->on_data(Tunnel::client, in.block, in.data, in.len);
  }
  if (b.tunnel->relay->ended()) return;
  if (read_eof_) b.tunnel->relay->on_eof(Tunnel::client);
  b.tunnel->relay->start();
}

void ClientConnection::tunnel_send(const BlockRef& block, const char* data, size_t len) {
  busy().writer.append_ref(block, data, len);
  flush();
}

void ClientConnection::tunnel_send_copy(std::string_view bytes) {
  busy().writer.append_copy(bytes);
  flush();
}

void ClientConnection::tunnel_reading(bool on) {
  busy().tunnel->reading = on;
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
    if (!self->closed_) self->busy().tunnel->relay->on_shutdown_done(Tunnel::client, status);
  });
  if (rc != 0) {
    delete req;
    busy().tunnel->relay->on_shutdown_done(Tunnel::client, rc);
  }
}

void ClientConnection::on_tunnel_end(const char* why) {
  Busy& b = busy();
  identity_->state->tunnels_active.fetch_sub(1, std::memory_order_relaxed);
  spdlog::debug("{} {}: tunnel {} ended: {}", identity_->name, client_ip(), request_id(), why);
  const char* backend = b.tunnel->upstream ? b.tunnel->upstream->backend().name().c_str() : "-";
  log_request(101, b.tunnel->pool, backend, b.tunnel->upstream_ms);
  if (b.tunnel->upstream) std::exchange(b.tunnel->upstream, nullptr)->close();
  b.tunnel->slot.release();
  close_now();
}

}  // namespace lb::proxy
