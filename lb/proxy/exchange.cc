#include "lb/proxy/exchange.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>

#include "lb/core/free_list.h"
#include "lb/core/recycling.h"
#include "lb/health/passive_check.h"
#include "lb/http/error_response.h"
#include "lb/http/fixed_response.h"
#include "lb/http/path_rewrite.h"
#include "lb/http/request_target.h"
#include "lb/http/trailer_fields.h"
#include "lb/http/upgrade.h"
#include "lb/proxy/worker_context.h"
#include "lb/proxy/router.h"
#include "lb/proxy/proxy_header.h"
#include "lb/proxy/retry_policy.h"
#include "lb/proxy/load_header.h"
#include "lb/proxy/upstream_pool.h"

namespace lb::proxy {

namespace {

// Request bodies up to this size are kept so the request can be replayed on
// another backend; beyond it a failure after sending costs a 502.
constexpr size_t kReplayLimit = 64 * 1024;

// Lends the parsed request headers to balance::hash_request.
class RequestHeaders final : public balance::HeaderLookup {
 public:
  explicit RequestHeaders(const http::HeaderList& h) : headers_(h) {}
  std::optional<std::string_view> find(std::string_view name) const override { return headers_.find(name); }

 private:
  const http::HeaderList& headers_;
};

// Exchanges come and go with every request, and so does the buffer their
// upstream head is written into: both are recycled through this thread's
// FreeLists, which the worker trims every second like its other caches.
// Under AddressSanitizer the memory of an Exchange is not recycled, so that
// a use after free is still reported (lb/core/recycling.h).
struct alignas(Exchange) ExchangeMemory {
  std::byte bytes[sizeof(Exchange)];
};

// As many as a burst used, up to this many, each list.
constexpr size_t kMaxCached = 4096;
// A buffer that grew past this for an unusually large head is freed, not
// kept: the cache never pins more than kMaxCached of these.
constexpr size_t kMaxKeptHeadCapacity = 4096;

thread_local FreeList<ExchangeMemory> exchange_memory(kMaxCached);
thread_local FreeList<std::string> head_buffers(kMaxCached);

}  // namespace

void* Exchange::operator new(size_t size) {
  if (LB_RECYCLE_MEMORY && size == sizeof(ExchangeMemory)) {
    if (ExchangeMemory* m = exchange_memory.pop()) return m;
    return new ExchangeMemory;
  }
  return ::operator new(size);
}

void Exchange::operator delete(void* p, size_t size) {
  if (LB_RECYCLE_MEMORY && size == sizeof(ExchangeMemory)) {
    auto* m = static_cast<ExchangeMemory*>(p);
    if (!exchange_memory.push(m)) delete m;
    return;
  }
  ::operator delete(p);  // not the sized form: clang before 19 does not declare it by default
}

std::unique_ptr<std::string, Exchange::ReturnHeadBuffer> Exchange::take_head_buffer(size_t capacity) {
  std::string* buffer = head_buffers.pop();
  if (!buffer) buffer = new std::string;
  buffer->reserve(capacity);
  return std::unique_ptr<std::string, ReturnHeadBuffer>(buffer);
}

void Exchange::ReturnHeadBuffer::operator()(std::string* buffer) const {
  buffer->clear();
  if (buffer->capacity() > kMaxKeptHeadCapacity || !head_buffers.push(buffer)) delete buffer;
}

size_t Exchange::trim_caches() {
  return exchange_memory.trim() * sizeof(ExchangeMemory) +
         head_buffers.trim() * (sizeof(std::string) + kMaxKeptHeadCapacity);
}

Exchange::Exchange(Downstream& client, std::shared_ptr<const WorkerSnapshot> ws, size_t pool_index,
                   const http::RequestHead& request, const CompiledRoute& route)
    : client_(client), ws_(std::move(ws)), pool_index_(pool_index), request_(request), route_(route) {
  queue_deadline_.init(*client_.worker().timers, this, &Exchange::on_queue_timeout);
  heartbeat_.init(*client_.worker().timers, this, &Exchange::on_heartbeat_timer);
}

Exchange::~Exchange() {
  leave_queue();
  if (upstream_) release_upstream(false, false);
  slot_.release();
  // A route that answers itself (redirect, respond) never had a pool.
  if (retrying_) pool().shared->retry_budget.retry_ended();
  if (in_budget_) pool().shared->retry_budget.request_ended();
}

const char* Exchange::pool_name() const { return route_.forwards() ? pool().config->name.c_str() : "-"; }
const char* Exchange::backend_name() const { return backend_ ? backend_->name().c_str() : "-"; }

void Exchange::start() {
  if (!route_.forwards()) return answer_from_route();
  const auto& listener = client_.listener();
  http::ForwardContext ctx;
  const config::Route& rc = *route_.config;
  if (!rc.request_headers.empty()) ctx.edits = &rc.request_headers;
  if (!rc.path_rewrite.empty()) {
    const auto absolute = http::split_absolute_form(request_.url);
    http::rewrite_origin(absolute ? absolute->origin : std::string_view(request_.url), rc.path_rewrite, origin_);
    ctx.origin = origin_;
  }
  ctx.client_ip = client_.client_ip();
  ctx.forwarded_for = client_.forwarded_for();
  ctx.proto = listener.config->tls ? "https" : "http";
  ctx.request_id = client_.request_id();
  if (pool().sticky) {
    pin_ = pool().sticky->find_pin(request_.headers, session::unix_now());
    ctx.strip_cookie = pool().sticky->cookie_name();
  }
  upgrade_ = http::forwarded_upgrade(request_);
  ctx.upgrade = upgrade_;
  upstream_head_ = take_head_buffer(request_.headers.size() * 40 + request_.url.size() + 128);
  // Host for HTTP/1.0 clients that sent none: added per backend in send_request.
  http::write_upstream_request_head(request_, ctx, *upstream_head_);
  hash_ = request_hash();
  pool().shared->retry_budget.request_started();
  in_budget_ = true;
  attempt(false, /*owner_flushes=*/true);
}

std::optional<uint64_t> Exchange::request_hash() const {
  switch (pool().config->strategy) {
    case config::Strategy::ip_hash:
      if (client_.client_address().empty()) return std::nullopt;
      return balance::hash_client_address(client_.client_address());
    case config::Strategy::consistent_hash: {
      const RequestHeaders headers(request_.headers);
      balance::RequestView view;
      view.client_address = client_.client_address();
      view.uri = request_.url;
      view.headers = &headers;
      return balance::hash_request(pool().hash_key, view);
    }
    default:
      return std::nullopt;
  }
}

void Exchange::attempt(bool same_backend, bool owner_flushes) {
  const TimePoint now = Clock::now();
  if (!same_backend) {
    switch (choose_backend(false, now)) {
      case Choice::got_slot:
        break;
      case Choice::full:
        return wait_in_queue();
      case Choice::none_usable:
        return no_backend();
    }
  }
  dispatch(now, same_backend, owner_flushes);
}

void Exchange::no_backend() {
  if (retries_used_ == 0 && tried_.empty()) {
    spdlog::warn("pool {}: no usable backend for {} {}", pool_name(), request_.method_name(), request_.url);
    pool().stats->count_no_backend(client_.worker().index);
    respond_error(503);
  } else {
    respond_error(last_failure_status_);  // every other backend tried or out
  }
}

balance::Backend* Exchange::home_backend(TimePoint now) {
  if (balance::Backend* b = pinned_backend(now)) return b;
  if (!hash_) return nullptr;
  // A hash key's backend keeps its users (and a model server's cache):
  // the request waits for it rather than spilling to another.
  const balance::PickContext pick{.hash = hash_, .tried = &tried_, .now = now};
  return ws_->strategies[pool_index_]->pick(pick);
}

bool Exchange::take_slot(balance::Backend& b) {
  if (!b.try_acquire_slot()) return false;
  backend_index_ = balance::index_of(pool().backends, &b);
  backend_ = pool().backends[backend_index_];
  slot_ = BackendSlot(backend_, pool().shared, client_.worker().waiting);
  return true;
}

Exchange::Choice Exchange::choose_backend(bool from_queue, TimePoint now) {
  slot_.release();  // the previous attempt's, if any
  pinned_ = false;
  if (balance::Backend* home = home_backend(now)) {
    pinned_ = true;
    return take_slot(*home) ? Choice::got_slot : Choice::full;
  }
  if (hash_) return Choice::none_usable;  // the hash found no usable backend
  // First come, first served: while others wait, a newcomer queues behind.
  const bool others_wait = !from_queue && pool().shared->queue.length() > 0;
  balance::PickContext pick{.hash = hash_, .tried = &tried_, .need_room = true, .now = now};
  if (!others_wait) {
    // Another worker may take the slot between the pick and the take: pick again.
    for (int i = 0; i < 4; ++i) {
      balance::Backend* b = ws_->strategies[pool_index_]->pick(pick);
      if (!b) break;
      if (take_slot(*b)) return Choice::got_slot;
    }
  }
  pick.need_room = false;
  return ws_->strategies[pool_index_]->pick(pick) ? Choice::full : Choice::none_usable;
}

void Exchange::wait_in_queue() {
  const config::PoolQueueConfig& qc = pool().config->queue;
  PoolQueue& queue = pool().shared->queue;
  const uint64_t ticket = qc.max == 0 ? PoolQueue::kNoTicket : queue.try_join(qc.max);
  if (ticket == PoolQueue::kNoTicket) return reject_from_queue(metrics::QueueRejection::full);
  WaitingRoom& room = *client_.worker().waiting;
  room.join(queue, ticket, waits_for_particular_backends(), *this);
  queued_at_ = Clock::now();
  queue_deadline_.expire_in(qc.timeout);
  room.kick(queue);  // a slot may have freed since we looked
}

void Exchange::leave_queue() {
  if (!queued()) return;
  queue_deadline_.cancel();
  client_.worker().waiting->leave(*this);
}

QueuedRequest::Admit Exchange::try_admit() {
  const bool was_particular = waits_for_particular_backends();
  const TimePoint now = Clock::now();
  switch (choose_backend(true, now)) {
    case Choice::full:
      return was_particular && !waits_for_particular_backends() ? Admit::unpinned : Admit::wait;
    case Choice::none_usable:
      leave_queue();
      no_backend();
      return Admit::admitted;
    case Choice::got_slot:
      break;
  }
  leave_queue();
  pool().stats->observe_queue_wait(client_.worker().index,
                                   std::chrono::duration_cast<std::chrono::microseconds>(now - queued_at_));
  dispatch(now, false);
  return Admit::admitted;
}

void Exchange::on_queue_timeout(void* p) {
  auto* self = static_cast<Exchange*>(p);
  if (!self->queued()) return;
  self->reject_from_queue(metrics::QueueRejection::timeout);
}

void Exchange::reject_from_queue(metrics::QueueRejection why) {
  leave_queue();
  pool().stats->count_queue_rejected(client_.worker().index, why);
  if (why == metrics::QueueRejection::client_gone) return;
  spdlog::info("pool {}: {} for {} {}", pool_name(),
               why == metrics::QueueRejection::full
                   ? (pool().config->queue.max == 0 ? "every backend at max_requests" : "queue full")
                   : "waited queue.timeout",
               request_.method_name(), request_.url);
  // Come back in a second: a slot is a request's duration away.
  respond_error(503, "Retry-After: 1\r\n");
}

void Exchange::dispatch(TimePoint start, bool fresh_connection, bool owner_flushes) {
  ws_->strategies[pool_index_]->on_start(*backend_);
  attempt_start_ = start;

  const config::PoolConfig& pc = *pool().config;
  UpstreamPool& idle = client_.worker().upstreams->for_backend(backend_);
  upstream_ = fresh_connection ? nullptr : idle.take();
  if (upstream_) {
    upstream_reused_ = true;
    upstream_->bind(this);
    send_request();
    if (!owner_flushes) upstream_->flush();
    if (request_complete_) upstream_->arm_response_timeout(response_timeout());
  } else {
    upstream_reused_ = false;
    upstream_ = new (*client_.worker().upstream_memory) UpstreamConnection(client_.worker(), backend_);
    // Where the client came in costs the client connection a system call
    // (and memory to keep the answer): asked only of pools that send it.
    if (pc.send_proxy_protocol != config::SendProxyProtocol::off)
      upstream_->set_preamble(
          proxy_header_for(pc.send_proxy_protocol, client_.client_sockaddr(), client_.local_sockaddr()));
    if (pool().tls) upstream_->set_tls(pool().tls, client_.worker().index);
    upstream_->connect(this, pc.timeouts.connect);
    send_request();  // gathered now, sent once connected
  }
}

balance::Backend* Exchange::pinned_backend(TimePoint now) const {
  // A pinned backend that failed this request is tried no more: the retry
  // is balanced, and the response re-pins the client where it was served.
  if (!pin_ || tried_.contains(pin_->backend_index)) return nullptr;
  balance::Backend& b = *pool().backends[pin_->backend_index];
  return session::StickyAffinity::accepts_pinned(b, now) ? &b : nullptr;
}

void Exchange::send_request() {
  upstream_->parser().expect_response(request_.method == HTTP_HEAD);
  if (http::needs_backend_host(request_) && !route_.config->request_headers.drops("Host")) {
    // HTTP/1.1 requires a Host and this HTTP/1.0 client sent none: name the
    // backend of this attempt, as nginx does (Host $proxy_host).
    upstream_->writer().append_copy(http::with_backend_host(*upstream_head_, backend_->address().text));
  } else {
    upstream_->writer().append_copy(*upstream_head_);
  }
  if (!replay_.empty()) upstream_->writer().append_copy(replay_);
  if (replay_.size() > kReplayLimit) {
    // Held while the request waited for a slot; too big to replay.
    replayable_ = false;
    std::string().swap(replay_);
  }
}

void Exchange::on_upstream_connected() {
  upstream_->flush();
  if (request_complete_) upstream_->arm_response_timeout(response_timeout());
  // The client may have been paused while the body piled up during the
  // connect; if the socket took it all at once, no write callback will
  // come to resume it, so re-evaluate now.
  client_.after_upstream_io();
}

void Exchange::append_body(std::string_view before, const BlockRef* block, const char* data, size_t len,
                           std::string_view after) {
  if (!upstream_ && queued()) {
    // Waiting for a slot: hold the body (reading the client stops at the
    // high-water mark, see upstream_backlog) and send it once admitted.
    replay_.append(before);
    replay_.append(data, len);
    replay_.append(after);
    return;
  }
  if (replayable_) {
    if (replay_.size() + before.size() + len + after.size() <= kReplayLimit) {
      replay_.append(before);
      replay_.append(data, len);
      replay_.append(after);
    } else {
      replayable_ = false;
      std::string().swap(replay_);
    }
  }
  if (!upstream_) return;
  StreamWriter& w = upstream_->writer();
  w.append_copy(before);
  if (block && *block) {
    w.append_ref(*block, data, len);
  } else {
    w.append_copy({data, len});
  }
  w.append_copy(after);
}

void Exchange::forward_body(const BlockRef& block, const char* data, size_t len) {
  if (done_ || len == 0) return;
  if (request_.chunked) {
    char size_line[24];
    int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    append_body({size_line, size_t(n)}, &block, data, len, "\r\n");
  } else {
    append_body({}, &block, data, len, {});
  }
}

void Exchange::request_complete(const http::HeaderList* trailers) {
  request_complete_ = true;
  if (done_) return;
  if (request_.chunked) {
    std::string last;
    http::append_last_chunk(trailers, last);
    append_body({}, nullptr, last.data(), last.size(), {});
  }
  // timeouts.response counts from the end of the request (as Envoy does): a
  // backend busy reading a long upload is not late yet. While the body
  // flows, the client's idle timeout guards against stalls.
  if (upstream_ && upstream_->connected()) upstream_->arm_response_timeout(response_timeout());
}

void Exchange::flush_upstream() {
  if (upstream_) upstream_->flush();
}

size_t Exchange::upstream_backlog() const {
  if (queued()) return replay_.size();
  return upstream_ ? upstream_->writer().pending() : 0;
}
size_t Exchange::upstream_blocks_held() const { return upstream_ ? upstream_->writer().blocks_held() : 0; }

void Exchange::client_drained() {
  if (!upstream_) return;
  upstream_->release_idle_block();
  if (client_.below_low_water()) upstream_->resume_reading();
}

void Exchange::abort() {
  // A client that leaves while it waits never reaches a backend.
  if (queued()) reject_from_queue(metrics::QueueRejection::client_gone);
  if (upstream_) release_upstream(false, false);
  slot_.release();
  done_ = true;
}

void Exchange::on_upstream_drained() {
  client_.release_idle_block();
  client_.after_upstream_io();
}

void Exchange::on_upstream_read_done() {
  if (success_pending_) {
    success_pending_ = false;
    health::record_success(*backend_);
    backend_->stats().count_response(client_.worker().index, status_);
  }
  // Flush first: a write the socket takes at once leaves nothing pending.
  client_.after_upstream_io();
  if (upstream_ && client_.above_high_water()) upstream_->pause_reading();
}

void Exchange::on_response_head(http::ResponseHead& head) {
  take_load_header(pool().config->load_report, head, *backend_);
  if (head.status == 101) {
    // Relayed only if it answers our upgrade; on_upstream_switched then
    // turns the connection into a tunnel, or fails it (502).
    if (upgrade_.empty() || !http::accepts_upgrade(head)) return;
    switching_ = true;
    response_started_ = true;
    status_ = 101;
    health::record_success(*backend_);
    client_.send_switching_protocols(head);
    return;
  }
  if (head.status >= 200 && retry_on_status(head)) return;
  if (head.status < 200) {
    // Interim responses: lbd answered Expect itself; others (103) pass on
    // where the client's protocol carries them.
    client_.send_interim(head);
    return;
  }
  response_started_ = true;
  const TimePoint head_at = Clock::now();
  backend_->stats().observe_first_byte(
      client_.worker().index, std::chrono::duration_cast<std::chrono::microseconds>(head_at - attempt_start_));
  if (SseStream::is_event_stream(head)) sse_ = std::make_unique<SseStream>(head_at);
  // Counted as a success once the read that brought the head is handled
  // without the response breaking (see on_upstream_failed's take-back).
  success_pending_ = true;
  status_ = head.status;
  upstream_keep_alive_ = head.keep_alive;
  if (const auto& sticky = pool().sticky) {
    const int64_t now = session::unix_now();
    if (sticky->needs_cookie(pin_, backend_index_, now))
      head.headers.add("Set-Cookie", sticky->set_cookie(backend_index_, now));
  }
  const http::HeaderEdits& edits = route_.config->response_headers;
  can_insert_ = client_.send_head(head, edits.empty() ? nullptr : &edits);
  arm_heartbeat();
}

void Exchange::arm_heartbeat() {
  const Duration every = pool().config->streaming.sse_heartbeat;
  if (sse_ && can_insert() && every.count() > 0) heartbeat_.expire_in(every);
}

void Exchange::on_heartbeat_timer(void* p) {
  auto* self = static_cast<Exchange*>(p);
  if (self->done_ || !self->sse_ || !self->upstream_) return;
  // Silent inside an event (a backend that paused mid-event): nothing may
  // go in there; look again after another period.
  if (self->sse_->at_boundary()) {
    self->client_.send_own(SseStream::kHeartbeat);
    self->pool().stats->count_sse_heartbeat(self->client_.worker().index);
    self->client_.after_upstream_io();
  }
  self->arm_heartbeat();
}

void Exchange::end_stream(const char* reason) {
  if (!can_end_stream()) return;
  spdlog::info("pool {} backend {}: ending the event stream of {} {} ({})", pool_name(), backend_name(),
               request_.method_name(), request_.url, reason);
  client_.send_own(sse_->closing_event(reason, 1000));
  backend_->stats().count_stream_ended(client_.worker().index);
  client_.end_response(/*then_close=*/true, nullptr);
  heartbeat_.cancel();
  if (upstream_) release_upstream(false, false);
  slot_.release();
  finish();
}

void Exchange::on_response_body(const char* data, size_t len) {
  if (len == 0 || !upstream_) return;
  if (sse_) {
    if (const auto gap = sse_->on_body(data, len, Clock::now()))
      pool().stats->observe_event_gap(client_.worker().index, std::chrono::duration_cast<std::chrono::microseconds>(*gap));
    arm_heartbeat();  // silence counts from the backend's last byte
  }
  client_.send_body(upstream_->current_block(), data, len);
}

void Exchange::on_upstream_response_done() {
  heartbeat_.cancel();
  client_.end_response(/*then_close=*/false, &upstream_->parser().trailers());
  const auto took = Clock::now() - attempt_start_;
  upstream_ms_ = std::chrono::duration<double, std::milli>(took).count();
  backend_->stats().observe_response_time(client_.worker().index,
                                          std::chrono::duration_cast<std::chrono::microseconds>(took));
  // Reusable only if the backend keeps it open and got our whole request.
  release_upstream(upstream_->reusable() && upstream_keep_alive_ && request_complete_, true);
  slot_.release();  // the stream has ended: the backend can take another
  finish();
}

void Exchange::on_upstream_switched(const BlockRef& block, const char* rest, size_t len) {
  if (!switching_) {
    spdlog::warn("pool {} backend {}: 101 without a WebSocket upgrade to accept", pool_name(), backend_name());
    return on_upstream_failed(UpstreamFailure::invalid_response);
  }
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_start_);
  upstream_ms_ = std::chrono::duration<double, std::milli>(took).count();
  backend_->stats().observe_response_time(client_.worker().index, took);
  // The handshake is this exchange's whole request: it ends here for the
  // strategy; the connection leaves for the tunnel and never returns to the pool.
  // Its slot goes with it: a tunnel holds its backend's slot until it closes.
  UpstreamConnection* up = std::exchange(upstream_, nullptr);
  ws_->strategies[pool_index_]->on_finish(*backend_, took, true);
  done_ = true;
  client_.start_tunnel(up, std::move(slot_), pool_name(), upstream_ms_, block, rest, len);  // retires this object
}

void Exchange::on_upstream_failed(UpstreamFailure why) {
  if (response_started_ && !switching_ && client_.take_back_head()) {
    // The response broke (a bad chunk right behind the head) before any of
    // it left: the head is taken back, and the failure is retried or
    // answered 502 like any other before the first byte.
    success_pending_ = false;
    response_started_ = false;
    status_ = 0;
    can_insert_ = false;
    upstream_keep_alive_ = false;
  }
  const bool reused = upstream_reused_;
  const char* failure_detail = upstream_ ? upstream_->failure_detail() : "";
  if (!response_started_ && !stale_connection(why, reused))
    backend_->stats().count_failure(client_.worker().index);
  release_upstream(false, false);
  if (response_started_) {
    health::record_failure(*backend_, *pool().config, pool().backends, Clock::now(), failure_name(why));
    backend_->stats().count_stream_interrupted(client_.worker().index);
    heartbeat_.cancel();
    if (sse_ && can_insert() && pool().config->streaming.on_stream_error == config::OnStreamError::event) {
      // The client's EventSource gets a well-formed end it can act on,
      // instead of a reset it cannot tell from a network failure.
      spdlog::warn("pool {} backend {}: {} after the response started; ending the event stream with an error event",
                   pool_name(), backend_name(), failure_name(why));
      client_.send_own(sse_->closing_event(failure_name(why), 0));
      client_.end_response(/*then_close=*/true, nullptr);
      interrupted_ = true;
      slot_.release();
      return finish();
    }
    // Any other body is cut: a silent truncation would be worse.
    spdlog::warn("pool {} backend {}: {} after the response started; dropping the client", pool_name(),
                 backend_name(), failure_name(why));
    client_.abort();
    done_ = true;
    return;
  }
  spdlog::warn("pool {} backend {}: {}{}{} for {} {}", pool_name(), backend_name(), failure_name(why),
               *failure_detail ? ": " : "", failure_detail, request_.method_name(), request_.url);
  const TimePoint now = Clock::now();
  // An ejection is logged by the control thread (health::HealthMonitor).
  if (!stale_connection(why, reused))
    health::record_failure(*backend_, *pool().config, pool().backends, now, failure_name(why));
  FailedAttempt failed;
  failed.why = why;
  failed.reused = reused;
  failed.idempotent = request_.idempotent();
  failed.replayable = replayable_;
  failed.stale_retry_used = stale_retry_used_;
  failed.backend_out = backend_->ejected_at(now) || !backend_->healthy();  // perhaps by this failure
  const RetryDecision d = decide_retry(failed);
  switch (d.action) {
    case RetryDecision::Action::answer:
      return respond_error(d.status);
    case RetryDecision::Action::same_backend:
      stale_retry_used_ = true;
      return attempt(true);
    case RetryDecision::Action::other_backend:
      if (!may_retry(d.costs_budget)) return respond_error(d.status);
      ++retries_used_;
      pool().stats->count_retry(client_.worker().index);
      tried_.insert(backend_index_);
      last_failure_status_ = d.status;
      return attempt(false);
  }
}

void Exchange::release_upstream(bool reusable, bool ok) {
  if (!upstream_) return;
  UpstreamConnection* up = std::exchange(upstream_, nullptr);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_start_);
  ws_->strategies[pool_index_]->on_finish(*backend_, took, ok);
  if (reusable) {
    const config::Keepalive& ka = pool().config->keepalive;
    up->release_to_pool(client_.worker().upstreams->for_backend(backend_), ka.max_idle, ka.idle_timeout);
  } else {
    up->close();
  }
}

bool Exchange::may_retry(bool costs_budget) {
  if (retries_used_ >= pool().config->retries) return false;
  if (retrying_ || !costs_budget) return true;  // this request is one retry in flight already
  if (!pool().shared->retry_budget.try_start_retry(pool().config->retry_budget)) {
    pool().stats->count_retry_budget_exhausted(client_.worker().index);
    spdlog::info("pool {}: retry budget exhausted; answering {} {} with the failure", pool_name(),
                 request_.method_name(), request_.url);
    return false;
  }
  retrying_ = true;
  return true;
}

// A status in retry_on_status (a model server's "queue full" 503) before any
// byte reached the client: the answer is dropped and the request goes to
// another backend, when it can be sent again whole and the budget allows.
bool Exchange::retry_on_status(const http::ResponseHead& head) {
  const auto& statuses = pool().config->retry_on_status;
  if (statuses.empty() || std::find(statuses.begin(), statuses.end(), head.status) == statuses.end()) return false;
  if (!upgrade_.empty() || !request_complete_ || !replayable_) return false;
  if (!may_retry()) return false;
  spdlog::info("pool {} backend {}: answered {} to {} {}; retrying on another backend", pool_name(), backend_name(),
               head.status, request_.method_name(), request_.url);
  backend_->stats().count_response(client_.worker().index, head.status);
  release_upstream(false, false);  // the rest of that answer is not read
  ++retries_used_;
  pool().stats->count_retry(client_.worker().index);
  tried_.insert(backend_index_);
  last_failure_status_ = head.status == 503 ? 503 : 502;
  attempt(false);
  return true;
}

void Exchange::respond_error(int status, std::string_view extra_headers) {
  status_ = status;
  const bool request_read = request_complete_ || !request_.has_body();
  client_.send_error(status, extra_headers, request_read);
  finish();
}

Duration Exchange::response_timeout() const {
  return route_.config->response_timeout.value_or(pool().config->timeouts.response);
}

void Exchange::answer_from_route() {
  const config::Route& r = *route_.config;
  if (r.action == config::RouteAction::respond)
    return respond_fixed(r.respond.status, r.respond.content_type, r.respond.body, {});
  const auto absolute = http::split_absolute_form(request_.url);
  const std::string_view origin = absolute ? absolute->origin : std::string_view(request_.url);
  const size_t q = origin.find('?');
  RouteRequest rq;
  rq.host_header = request_.headers.find(http::FieldId::host).value_or("");
  rq.target = request_.url;
  char host_buf[256];
  http::RedirectParts parts;
  parts.scheme = client_.listener().config->tls ? "https" : "http";
  parts.host = routing_host(rq, host_buf);
  parts.path = origin.substr(0, q);
  parts.query = q == std::string_view::npos ? std::string_view() : origin.substr(q);
  std::string location = "Location: ";
  r.redirect.target.expand(parts, location);
  location += "\r\n";
  respond_fixed(r.redirect.status, {}, {}, location);
}

void Exchange::respond_fixed(int status, std::string_view content_type, std::string_view body,
                             std::string_view extra) {
  status_ = status;
  // Keep the client if the request is (or will be) read to its end: a
  // small announced body is read and dropped (a form posted to a
  // maintenance page); a large or chunked one is not waited for.
  const bool small_body = !request_.chunked && request_.content_length.value_or(0) <= kReplayLimit;
  const bool request_read = request_complete_ || !request_.has_body() || small_body;
  client_.send_fixed(status, content_type, body, extra, request_read);
  finish();
}

void Exchange::finish() {
  done_ = true;
  slot_.release();
  client_.on_exchange_done();  // may retire this object: touch nothing after
}

}  // namespace lb::proxy
