#pragma once
// One request on its way to a backend and its response on the way back:
// picks the backend, takes a pooled connection or connects, sends the
// rewritten head and streams the body, relays the response with the
// client's framing, and retries on another backend when that is safe
// (DESIGN.md §2 "Request path"). When every usable backend is at its
// max_requests it waits in the pool's queue (lb/proxy/waiting_room.h) and
// goes on when a slot frees. Owned by its client side, a Downstream: an
// HTTP/1.1 connection or an HTTP/2 stream, which it never tells apart.
#include <memory>
#include <string>

#include "lb/balance/strategy.h"
#include "lb/core/block.h"
#include "lb/core/deferred_free.h"
#include "lb/core/time.h"
#include "lb/core/timer_wheel.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/message.h"
#include "lb/proxy/backend_slot.h"
#include "lb/proxy/downstream.h"
#include "lb/proxy/sse_stream.h"
#include "lb/proxy/upstream_connection.h"
#include "lb/proxy/waiting_room.h"
#include "lb/proxy/worker_snapshot.h"

namespace lb::proxy {

class Exchange final : public UpstreamEvents, public QueuedRequest, public Retirable {
 public:
  // `route` (in ws's snapshot) chose `pool_index`, or answers itself
  // (redirect, respond: pool_index unused).
  Exchange(Downstream& client, std::shared_ptr<const WorkerSnapshot> ws, size_t pool_index,
           const http::RequestHead& request, const CompiledRoute& route);
  ~Exchange() override;

  // An Exchange's memory and its upstream head buffer are recycled per
  // thread (exchange.cc): a keep-alive request allocates neither. Memory
  // freed on another thread (a worker's last Exchanges, deleted after its
  // thread was joined) goes to that thread's lists, which is harmless.
  static void* operator new(size_t size);
  static void operator delete(void* p, size_t size);
  // Frees what this thread's caches kept unused since the previous call
  // (FreeList::trim); returns about how many bytes (Worker::trim_caches).
  static size_t trim_caches();

  // The owner flushes the upstream (flush_upstream) once start() returns:
  // a request head and the body bytes read with it leave in one write.
  void start();
  // Request body bytes as they arrive (still framed as the client sent them
  // only in the sense of order; chunk framing is re-done here).
  void forward_body(const BlockRef& block, const char* data, size_t len);
  // The request body ended; `trailers` (null: none) are the client's
  // trailer section, sent after a chunked upstream body less its
  // hop-by-hop fields (http/trailer_fields.h).
  void request_complete(const http::HeaderList* trailers = nullptr);
  // Sends what was gathered for the backend.
  void flush_upstream();
  // Bytes queued towards the backend and not yet written (while the
  // request waits in the queue: the body held for it).
  size_t upstream_backlog() const;
  // Read Blocks that backlog holds.
  size_t upstream_blocks_held() const;
  // The client's write queue drained: read from the backend again.
  void client_drained();
  // The client went away: drop the backend connection.
  void abort();

  bool done() const { return done_; }
  bool response_started() const { return response_started_; }
  int status() const { return status_; }
  const char* pool_name() const;
  const char* backend_name() const;
  double upstream_ms() const { return upstream_ms_; }
  // The backend cut the response after its head and lbd ended it cleanly
  // for the client (streaming.on_stream_error: event); the access log says so.
  bool interrupted() const { return interrupted_; }
  // A streamed response (SSE) under way that lbd can end cleanly.
  bool can_end_stream() const { return sse_ && can_insert() && response_started_ && !done_; }
  // Ends it now with "retry:" (reconnect soon) and "event: error" `reason`:
  // lbd stops (shutdown_timeout passed) or the backend is leaving.
  void end_stream(const char* reason);
  // The backend of a stream end_stream() could end now, else null.
  const balance::Backend* stream_backend() const { return can_end_stream() ? backend_.get() : nullptr; }

 private:
  // UpstreamEvents
  void on_upstream_connected() override;
  void on_upstream_response_done() override;
  void on_upstream_failed(UpstreamFailure why) override;
  void on_upstream_drained() override;
  void on_upstream_read_done() override;
  void on_response_head(http::ResponseHead& head) override;
  void on_response_body(const char* data, size_t len) override;
  void on_response_complete() override {}
  void on_upstream_switched(const BlockRef& block, const char* rest, size_t len) override;

  // QueuedRequest
  Admit try_admit() override;

  // The outcome of looking for a backend with a free slot.
  enum class Choice {
    got_slot,     // backend_ is set and slot_ held
    full,         // usable backends exist, none with room (pinned_: our own one is full)
    none_usable,  // nothing to wait for
  };
  // `now`: the clock the caller read, for the picks and the attempt's start.
  Choice choose_backend(bool from_queue, TimePoint now);
  balance::Backend* home_backend(TimePoint now);  // the one backend this request belongs to, if any
  bool take_slot(balance::Backend& b);
  void wait_in_queue();
  void leave_queue();
  static void on_queue_timeout(void* self);
  void reject_from_queue(metrics::QueueRejection why);
  void no_backend();
  // An attempt on backend_, whose slot we hold. `owner_flushes`: the
  // request head waits in the upstream writer for the owner's flush (the
  // first attempt, made inside start()); otherwise it is written now.
  // `start`: when the attempt began, for its response time.
  void dispatch(TimePoint start, bool fresh_connection, bool owner_flushes = false);
  // Is another attempt allowed (retries left, and the pool's retry budget)?
  bool may_retry(bool costs_budget = true);
  bool retry_on_status(const http::ResponseHead& head);
  // Streams (SSE): bytes of lbd's own may go in only where the client's
  // framing lets them (Downstream::send_head), never with Content-Length.
  bool can_insert() const { return can_insert_; }
  static void on_heartbeat_timer(void* self);
  void arm_heartbeat();

  std::optional<uint64_t> request_hash() const;
  balance::Backend* pinned_backend(TimePoint now) const;  // sticky: the cookie's backend if it may take the request
  // Waits in the waiting room's pinned line, which is tried on every kick
  // whatever its order: for its own backend, or (a retry) for a backend it
  // has not tried. In the ordered line such a request would hold up
  // everyone behind it whenever only backends it may not use have room.
  bool waits_for_particular_backends() const { return pinned_ || !tried_.empty(); }
  void attempt(bool same_backend, bool owner_flushes = false);
  void send_request();
  void append_body(std::string_view framing_before, const BlockRef* block, const char* data, size_t len,
                   std::string_view framing_after);
  void release_upstream(bool reusable, bool ok);
  void respond_error(int status, std::string_view extra_headers = {});
  void answer_from_route();  // a redirect or respond route
  void respond_fixed(int status, std::string_view content_type, std::string_view body, std::string_view extra);
  Duration response_timeout() const;  // the route's, else the pool's
  void finish();

  const PoolRuntime& pool() const { return ws_->snapshot->pools[pool_index_]; }

  Downstream& client_;
  std::shared_ptr<const WorkerSnapshot> ws_;
  size_t pool_index_;
  const http::RequestHead& request_;
  const CompiledRoute& route_;
  std::string origin_;  // the target after the route's strip_prefix / add_prefix ("" = unchanged)
  struct ReturnHeadBuffer {
    void operator()(std::string* buffer) const;
  };
  // An empty buffer from this thread's cache with room for `capacity`.
  static std::unique_ptr<std::string, ReturnHeadBuffer> take_head_buffer(size_t capacity);
  // Rewritten once, kept for retries; from this thread's cache.
  std::unique_ptr<std::string, ReturnHeadBuffer> upstream_head_;
  std::string replay_;         // body bytes as sent upstream, while they fit
  bool replayable_ = true;     // replay_ holds every body byte sent so far
  bool request_complete_ = false;
  std::string_view upgrade_;  // forwarded Upgrade value (in request_), "" = plain HTTP
  bool switching_ = false;    // the backend accepted the upgrade (101 relayed)

  std::optional<uint64_t> hash_;  // ip_hash / consistent_hash key
  std::optional<session::StickyAffinity::Pin> pin_;  // sticky pool: the request's valid cookie
  balance::BackendSet tried_;
  std::shared_ptr<balance::Backend> backend_;
  size_t backend_index_ = 0;
  BackendSlot slot_;         // backend_'s in-flight slot while an attempt runs
  bool pinned_ = false;      // waits for its own backend (sticky cookie, hash key)
  DeadlineTimer queue_deadline_;
  std::unique_ptr<SseStream> sse_;  // the response is text/event-stream
  DeadlineTimer heartbeat_;         // streaming.sse_heartbeat: backend silence
  bool interrupted_ = false;
  TimePoint queued_at_{};
  bool in_budget_ = false;   // counted in the pool's requests in flight
  bool retrying_ = false;    // counted in the pool's retries in flight
  uint32_t retries_used_ = 0;
  int last_failure_status_ = 502;  // answered when no backend is left for a retry
  UpstreamConnection* upstream_ = nullptr;
  bool upstream_reused_ = false;
  bool stale_retry_used_ = false;

  bool can_insert_ = false;  // the client's framing lets lbd add bytes (SSE heartbeats, closing events)
  bool response_started_ = false;
  bool success_pending_ = false;  // head seen; health and stats count it at the end of the read
  bool upstream_keep_alive_ = false;  // the backend's response allows reuse
  bool done_ = false;
  int status_ = 0;
  TimePoint attempt_start_{};
  double upstream_ms_ = -1;
};

}  // namespace lb::proxy
