#include "lb/proxy/http2_stream.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lb/http/error_response.h"
#include "lb/log/access_log.h"
#include "lb/proxy/client_connection.h"
#include "lb/proxy/exchange.h"
#include "lb/proxy/http2_connection.h"
#include "lb/proxy/request_intake.h"

namespace lb::proxy {

namespace {

// Response bytes queued in the session for one stream, in bytes and in read
// Blocks held: above the high marks the Exchange stops reading the backend,
// below both low marks it resumes (the same marks as HTTP/1.1's).
constexpr size_t kHighWater = 256 * 1024;
constexpr size_t kLowWater = 64 * 1024;
constexpr size_t kHighWaterBlocks = 4;
constexpr size_t kLowWaterBlocks = 2;

double ms_since(TimePoint t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

Http2Stream::Http2Stream(Http2Connection& connection, int32_t id)
    : conn_(connection), id_(id), listener_state_(connection.identity().state) {
  body_deadline_.init(*conn_.worker().timers, this, &Http2Stream::on_body_timeout);
  send_deadline_.init(*conn_.worker().timers, this, &Http2Stream::on_send_timeout);
  listener_state_->h2_streams_active.fetch_add(1, std::memory_order_relaxed);
  listener_state_->stats.count_h2_stream(conn_.worker().index);
}

// Freed after its connection may be (both go through DeferredFree): touches
// only what it holds itself.
Http2Stream::~Http2Stream() { listener_state_->h2_streams_active.fetch_sub(1, std::memory_order_relaxed); }

WorkerContext& Http2Stream::worker() { return conn_.worker(); }
const char* Http2Stream::forwarded_for() const { return conn_.connection_client().text(); }
sockaddr_storage Http2Stream::local_sockaddr() const { return conn_.local().storage(); }

void Http2Stream::start(http::RequestHead& head, bool end_stream) {
  head_ = &head;
  start_ = Clock::now();
  request_ended_ = end_stream;
  ws_ = conn_.snapshot_for_new_stream();
  listener_rt_ = ws_->snapshot->find_listener(conn_.identity().name);
  request_id_len_ = next_request_id(conn_.worker(), request_id_);
  client_ = conn_.connection_client();
  if (!listener_rt_) return answer(503, "listener removed by reload");
  const config::ListenerConfig& lc = *listener_rt_->config;
  if (!lc.trusted_proxies.empty()) {
    std::vector<std::string_view> values;
    for (size_t i = 0; i < head.headers.size(); ++i)
      if (head.headers.id(i) == http::FieldId::x_forwarded_for) values.push_back(head.headers.value(i));
    client_ = request_client(conn_.connection_client(), lc.trusted_proxies, values);
  }
  const Intake in = take_in_request(conn_.worker(), *listener_rt_, *conn_.identity().state, head, client_address(),
                                    request_id(), start_);
  route_ = in.route;
  if (in.refuse_status) return answer(in.refuse_status, in.why, in.extra_headers());
  if (!request_ended_) body_deadline_.expire_in(lc.timeouts.idle);
  exchange_ = std::make_unique<Exchange>(*this, ws_, in.pool, head, *route_);
  exchange_->start();
  if (request_ended_ && exchange_ && !exchange_->done())
    exchange_->request_complete(conn_.session().request_trailers(id_));
  if (exchange_) exchange_->flush_upstream();
}

void Http2Stream::on_data(const BlockRef& block, const char* data, size_t len) {
  body_bytes_ += len;
  if (listener_rt_) body_deadline_.expire_in(listener_rt_->config->timeouts.idle);
  const uint64_t limit = listener_rt_ ? listener_rt_->config->limits.max_body_bytes : 0;
  if (limit && body_bytes_ > limit && exchange_ && !exchange_->done()) {
    if (exchange_->response_started()) return abort();
    exchange_->abort();
    return answer(413, "body over max_body_bytes");
  }
  if (!exchange_ || exchange_->done()) {
    // Answered already (an error, an early response): the rest of the body
    // is read and dropped, and the connection's window must not shrink for it.
    conn_.session().consume(id_, len);
    consumed_ += len;
    return;
  }
  body_fed_ += len;
  exchange_->forward_body(block, data, len);
  exchange_->flush_upstream();
  open_window();
}

void Http2Stream::on_request_end() {
  request_ended_ = true;
  body_deadline_.cancel();
  if (exchange_ && !exchange_->done()) {
    exchange_->request_complete(conn_.session().request_trailers(id_));
    exchange_->flush_upstream();
  }
}

void Http2Stream::open_window() {
  if (!exchange_) return;
  // What the backend has taken: fed minus what still waits to be written
  // (chunk framing inflates the backlog a little, so the window opens a
  // little late, never early; at an empty backlog it is all given back).
  const size_t backlog = exchange_->upstream_backlog();
  const uint64_t taken = body_fed_ > backlog ? body_fed_ - backlog : 0;
  if (taken + (body_bytes_ - body_fed_) > consumed_) {
    const uint64_t target = taken + (body_bytes_ - body_fed_);
    conn_.session().consume(id_, size_t(target - consumed_));
    consumed_ = target;
  }
}

void Http2Stream::on_writable() {
  watch_send_progress();
  if (exchange_ && !exchange_->done()) exchange_->client_drained();
}

void Http2Stream::watch_send_progress() {
  const size_t queued = conn_.session().stream_bytes_queued(id_);
  if (queued == 0 || closed_) {
    send_deadline_.cancel();
    return;
  }
  if (send_deadline_.pending() && queued < queued_at_arm_) send_deadline_.cancel();  // progress: start over
  if (send_deadline_.pending()) return;
  queued_at_arm_ = queued;
  send_deadline_.expire_in(listener_rt_ ? listener_rt_->config->timeouts.send : config::ListenerTimeouts{}.send);
}

void Http2Stream::on_send_timeout(void* p) {
  auto* self = static_cast<Http2Stream*>(p);
  if (self->closed_) return;
  if (self->conn_.session().stream_bytes_queued(self->id_) < self->queued_at_arm_) return self->watch_send_progress();
  spdlog::info("{} {}: HTTP/2 stream {} took no bytes for timeouts.send; resetting it", self->conn_.identity().name,
               self->client_ip(), self->id_);
  self->abort();
}

void Http2Stream::on_body_timeout(void* p) {
  auto* self = static_cast<Http2Stream*>(p);
  if (self->closed_ || self->request_ended_) return;
  spdlog::info("{} {}: HTTP/2 stream {} request body stalled for timeouts.idle", self->conn_.identity().name,
               self->client_ip(), self->id_);
  if (self->exchange_ && !self->exchange_->response_started() && !self->exchange_->done()) {
    const bool backend_stalled = self->exchange_->upstream_backlog() > 0;
    self->exchange_->abort();
    return self->answer(backend_stalled ? 504 : 408,
                        backend_stalled ? "backend stopped reading the request body" : "request body timeout");
  }
  if (self->exchange_ && self->exchange_->done()) return;
  self->abort();
}

// ---- the response --------------------------------------------------------

void Http2Stream::send_interim(const http::ResponseHead& head) {
  if (head.status == 100 || head.status == 101) return;
  conn_.session().submit_interim(id_, head);
}

bool Http2Stream::send_head(const http::ResponseHead& head, const http::HeaderEdits* edits) {
  status_ = head.status;
  const bool no_body = head.no_body || head_->method == HTTP_HEAD;
  conn_.session().submit_response(id_, head, edits, no_body);
  if (no_body) response_ended_ = true;
  return !no_body;  // DATA frames carry any bytes of lbd's own between the backend's
}

void Http2Stream::send_body(const BlockRef& block, const char* data, size_t len) {
  if (response_ended_ || closed_) return;
  bytes_out_ += len;
  conn_.session().submit_data(id_, block, data, len);
}

void Http2Stream::send_own(std::string_view bytes) {
  if (response_ended_ || closed_) return;
  bytes_out_ += bytes.size();
  conn_.session().submit_data_copy(id_, bytes);
}

void Http2Stream::end_response(bool, const http::HeaderList* trailers) {
  if (response_ended_ || closed_) return;
  response_ended_ = true;
  conn_.session().submit_end(id_, trailers);
}

void Http2Stream::send_error(int status, std::string_view extra_headers, bool) {
  status_ = status;
  if (closed_) return;
  std::string fields = "content-type: text/plain\r\n";
  fields.append(extra_headers);
  std::string body = std::to_string(status);
  body += ' ';
  body.append(http::status_reason(status));
  body += '\n';
  response_ended_ = true;
  conn_.session().submit_fixed(id_, status, fields, body, head_ && head_->method == HTTP_HEAD);
}

void Http2Stream::send_fixed(int status, std::string_view content_type, std::string_view body,
                             std::string_view extra_headers, bool) {
  status_ = status;
  if (closed_) return;
  std::string fields;
  if (!content_type.empty()) {
    fields = "content-type: ";
    fields.append(content_type);
    fields.append("\r\n");
  }
  fields.append(extra_headers);
  response_ended_ = true;
  conn_.session().submit_fixed(id_, status, fields, body, head_ && head_->method == HTTP_HEAD);
}

void Http2Stream::start_tunnel(UpstreamConnection* upstream, BackendSlot, const char*, double, const BlockRef&,
                               const char*, size_t) {
  // An HTTP/2 request carries no Upgrade (the session refuses one), so no
  // backend can switch protocols on it; if one claims to, drop it.
  upstream->close();
  abort();
}

bool Http2Stream::above_high_water() const {
  return conn_.session().stream_bytes_queued(id_) > kHighWater ||
         conn_.session().stream_blocks_held(id_) > kHighWaterBlocks;
}

bool Http2Stream::below_low_water() const {
  return conn_.session().stream_bytes_queued(id_) < kLowWater &&
         conn_.session().stream_blocks_held(id_) <= kLowWaterBlocks;
}

void Http2Stream::after_upstream_io() {
  open_window();
  conn_.transport().flush_soon();
  watch_send_progress();
}

void Http2Stream::release_idle_block() { conn_.transport().release_idle_block(); }

void Http2Stream::abort() {
  if (exchange_) {
    exchange_->abort();
    log_request(status_ && exchange_->response_started() ? status_ : 499);
    retire_exchange();
  }
  if (!closed_) conn_.session().reset_stream(id_, NGHTTP2_INTERNAL_ERROR);
  conn_.transport().flush();
}

void Http2Stream::on_exchange_done() {
  if (!exchange_) return;
  log_request(exchange_->status());
  retire_exchange();
  // An answer of lbd's own (a 502 after a failed connect, a 503 from the
  // queue) comes from a backend or timer event: nothing else sends it.
  conn_.transport().flush_soon();
  // A request body still coming is read and dropped (on_data consumes it).
}

void Http2Stream::retire_exchange() {
  body_deadline_.cancel();
  if (exchange_) worker().deferred->retire(std::move(exchange_));
}

void Http2Stream::answer(int status, const char* why, std::string_view extra_headers) {
  spdlog::log(status == 429 ? spdlog::level::debug : spdlog::level::info, "{} {}: {} {} (HTTP/2 stream {})",
              conn_.identity().name, client_ip(), status, why, id_);
  send_error(status, extra_headers, true);
  log_request(status);
  body_deadline_.cancel();
  conn_.transport().flush();
}

void Http2Stream::on_closed(uint32_t error_code) {
  closed_ = true;
  body_deadline_.cancel();
  send_deadline_.cancel();
  if (exchange_) {
    // The client reset the stream (or the connection ended) before the
    // response was complete: the backend's request is abandoned.
    exchange_->abort();
    log_request(exchange_->status() && error_code == 0 ? exchange_->status() : 499);
    retire_exchange();
  }
}

const balance::Backend* Http2Stream::stream_backend() const {
  return exchange_ && !closed_ ? exchange_->stream_backend() : nullptr;
}

bool Http2Stream::end_stream(const char* reason) {
  if (!stream_backend()) return false;
  exchange_->end_stream(reason);  // ends the response; on_exchange_done follows
  return true;
}

void Http2Stream::log_request(int status) {
  if (logged_) return;
  logged_ = true;
  ListenerIdentity& id = conn_.identity();
  id.state->stats.count_request(worker().index, status,
                                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_));
  if (!worker().access_log || !head_) return;
  log::AccessRecord r;
  r.listener = id.name;
  r.client = client_ip();
  r.method = head_->method_name();
  r.path = head_->url;
  r.protocol = "HTTP/2.0";
  r.status = status;
  r.bytes_in = body_bytes_;
  r.bytes_out = bytes_out_;
  r.duration_ms = ms_since(start_);
  if (exchange_) {
    r.pool = exchange_->pool_name();
    r.backend = exchange_->backend_name();
    r.upstream_ms = exchange_->upstream_ms();
    r.interrupted = exchange_->interrupted();
  }
  r.request_id = request_id();
  if (route_) r.route = route_->label;
  worker().access_log->write(r);
}

}  // namespace lb::proxy
