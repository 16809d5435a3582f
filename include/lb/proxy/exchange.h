#pragma once
// One request on its way to a backend and its response on the way back:
// picks the backend, takes a pooled connection or connects, sends the
// rewritten head and streams the body, relays the response with the
// client's framing, and retries on another backend when that is safe
// (DESIGN.md §2 "Request path"). Owned by its ClientConnection.
#include <memory>
#include <string>

#include "lb/balance/strategy.h"
#include "lb/core/block.h"
#include "lb/core/deferred_free.h"
#include "lb/core/time.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/message.h"
#include "lb/proxy/upstream_connection.h"
#include "lb/proxy/worker_snapshot.h"

namespace lb::proxy {

class ClientConnection;

class Exchange final : public UpstreamEvents, public Retirable {
 public:
  // `route` (in ws's snapshot) chose `pool_index`, or answers itself
  // (redirect, respond: pool_index unused).
  Exchange(ClientConnection& client, std::shared_ptr<const WorkerSnapshot> ws, size_t pool_index,
           const http::RequestHead& request, const CompiledRoute& route);
  ~Exchange() override;

  void start();
  // Request body bytes as they arrive (still framed as the client sent them
  // only in the sense of order; chunk framing is re-done here).
  void forward_body(const BlockRef& block, const char* data, size_t len);
  void request_complete();
  // Sends what was gathered for the backend.
  void flush_upstream();
  // Bytes queued towards the backend and not yet written.
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
  bool keep_client_alive() const { return keep_client_alive_; }
  const char* pool_name() const;
  const char* backend_name() const;
  double upstream_ms() const { return upstream_ms_; }

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

  std::optional<uint64_t> request_hash() const;
  balance::Backend* pinned_backend() const;  // sticky: the cookie's backend if it may take the request
  void attempt(bool same_backend);
  void send_request();
  void append_body(std::string_view framing_before, const BlockRef* block, const char* data, size_t len,
                   std::string_view framing_after);
  void release_upstream(bool reusable, bool ok);
  void respond_error(int status);
  void answer_from_route();  // a redirect or respond route
  void respond_fixed(int status, std::string_view content_type, std::string_view body, std::string_view extra);
  Duration response_timeout() const;  // the route's, else the pool's
  void finish();

  const PoolRuntime& pool() const { return ws_->snapshot->pools[pool_index_]; }

  ClientConnection& client_;
  std::shared_ptr<const WorkerSnapshot> ws_;
  size_t pool_index_;
  const http::RequestHead& request_;
  const CompiledRoute& route_;
  std::string origin_;  // the target after the route's strip_prefix / add_prefix ("" = unchanged)
  std::string upstream_head_;  // rewritten once, kept for retries
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
  uint32_t retries_used_ = 0;
  int last_failure_status_ = 502;  // answered when no backend is left for a retry
  UpstreamConnection* upstream_ = nullptr;
  bool upstream_reused_ = false;
  bool stale_retry_used_ = false;

  http::BodyFraming framing_ = http::BodyFraming::none;
  bool response_started_ = false;
  bool success_pending_ = false;  // head seen; health and stats count it at the end of the read
  size_t head_mark_ = 0;          // client writer's gathered bytes before our response head
  uint64_t flushed_at_head_ = 0;  // client writer's flushed() then: unchanged = the client saw nothing
  bool keep_client_alive_ = false;
  bool upstream_keep_alive_ = false;  // the backend's response allows reuse
  bool done_ = false;
  int status_ = 0;
  TimePoint attempt_start_{};
  double upstream_ms_ = -1;
};

}  // namespace lb::proxy
