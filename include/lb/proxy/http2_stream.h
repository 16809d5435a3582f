#pragma once
// One request stream of an HTTP/2 connection: the Downstream its Exchange
// talks to (lb/proxy/downstream.h). The response goes into the session as
// HEADERS and DATA; the request body comes out of it, and the stream's
// window opens only as the backend takes the bytes (consume).
//
// Deadlines, one meaning each:
//   body  the request body must not pause longer than timeouts.idle (408
//         before the response started, else a reset)
//   send  while response bytes wait for the client's window, some must go
//         within timeouts.send, else the stream is reset (a client that
//         never opens one stream's window holds only that stream)
#include <cstdint>
#include <memory>
#include <string>

#include "lb/core/deferred_free.h"
#include "lb/core/time.h"
#include "lb/core/timer_wheel.h"
#include "lb/http/message.h"
#include "lb/proxy/client_address.h"
#include "lb/proxy/downstream.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker_snapshot.h"

namespace lb::proxy {

class Exchange;
class Http2Connection;

class Http2Stream final : public Downstream, public Retirable {
 public:
  Http2Stream(Http2Connection& connection, int32_t id);
  ~Http2Stream() override;

  // From the session: the request head (lives until the stream closes),
  // its body, its end.
  void start(http::RequestHead& head, bool end_stream);
  void on_data(const BlockRef& block, const char* data, size_t len);
  void on_request_end();
  // Queued response bytes went out.
  void on_writable();
  // The session closed the stream (`error_code` 0: it ended normally).
  void on_closed(uint32_t error_code);
  // An SSE response lbd could end cleanly: its backend, else null.
  const balance::Backend* stream_backend() const;
  bool end_stream(const char* reason);

  // Downstream
  WorkerContext& worker() override;
  const char* client_ip() const override { return client_.text(); }
  std::string_view client_address() const override { return client_.bytes(); }
  const char* forwarded_for() const override;
  sockaddr_storage client_sockaddr() const override { return client_.sockaddr(); }
  sockaddr_storage local_sockaddr() const override;
  const ListenerRuntime& listener() const override { return *listener_rt_; }
  std::string_view request_id() const override { return {request_id_, request_id_len_}; }
  void send_interim(const http::ResponseHead& head) override;
  bool send_head(const http::ResponseHead& head, const http::HeaderEdits* edits) override;
  void send_body(const BlockRef& block, const char* data, size_t len) override;
  void send_own(std::string_view bytes) override;
  void end_response(bool then_close, const http::HeaderList* trailers) override;
  bool take_back_head() override { return false; }  // HEADERS may be framed already
  void send_error(int status, std::string_view extra_headers, bool request_read) override;
  void send_fixed(int status, std::string_view content_type, std::string_view body, std::string_view extra_headers,
                  bool request_read) override;
  void send_switching_protocols(const http::ResponseHead&) override {}
  void start_tunnel(UpstreamConnection* upstream, BackendSlot slot, const char* pool, double upstream_ms,
                    const BlockRef& block, const char* rest, size_t len) override;
  bool above_high_water() const override;
  bool below_low_water() const override;
  void after_upstream_io() override;
  void release_idle_block() override;
  void abort() override;
  void on_exchange_done() override;

 private:
  void answer(int status, const char* why, std::string_view extra_headers = {});
  void open_window();  // consume() what the backend took
  void log_request(int status);
  void retire_exchange();
  void watch_send_progress();
  static void on_body_timeout(void* self);
  static void on_send_timeout(void* self);

  Http2Connection& conn_;
  const int32_t id_;
  std::shared_ptr<ListenerState> listener_state_;
  std::shared_ptr<const WorkerSnapshot> ws_;
  const ListenerRuntime* listener_rt_ = nullptr;
  http::RequestHead* head_ = nullptr;
  const CompiledRoute* route_ = nullptr;
  std::unique_ptr<Exchange> exchange_;
  ClientAddress client_;
  TimePoint start_{};
  char request_id_[40] = {};
  uint8_t request_id_len_ = 0;
  uint64_t body_bytes_ = 0;   // request body bytes received
  uint64_t body_fed_ = 0;     // of those, handed to the Exchange
  uint64_t consumed_ = 0;     // of those, given back to the client's window
  uint64_t bytes_out_ = 0;    // response body bytes queued
  int status_ = 0;
  bool request_ended_ = false;
  bool response_ended_ = false;
  bool closed_ = false;
  bool logged_ = false;
  DeadlineTimer body_deadline_;
  DeadlineTimer send_deadline_;
  size_t queued_at_arm_ = 0;  // bytes queued when send_deadline_ was set
};

}  // namespace lb::proxy
