#pragma once
// One TCP connection from a worker to a backend: connects (with a timeout),
// writes requests, parses responses, and sits in the worker's keep-alive
// pool between requests. Whoever has it bound (an Exchange) receives its
// events; an idle connection that hears anything from the backend — EOF,
// an error, stray bytes — closes itself and leaves the pool.
#include <uv.h>

#include <memory>
#include <string>

#include "lb/balance/backend.h"
#include "lb/core/block.h"
#include "lb/core/read_buffer.h"
#include "lb/core/slab_pool.h"
#include "lb/core/timer_wheel.h"
#include "lb/core/stream_writer.h"
#include "lb/core/time.h"
#include "lb/core/uv_handle.h"
#include "lb/http/response_parser.h"
#include "lb/proxy/tunnel.h"
#include "lb/proxy/upstream_failure.h"
#include "lb/proxy/worker_context.h"
#include "lb/tls/tls_session.h"

namespace lb::proxy {

class UpstreamPool;

class UpstreamEvents : public http::ResponseEvents {
 public:
  virtual void on_upstream_connected() = 0;
  // The response ended; the connection is still bound and may be released.
  virtual void on_upstream_response_done() = 0;
  virtual void on_upstream_failed(UpstreamFailure why) = 0;
  // The write queue to the backend drained below the low-water mark.
  virtual void on_upstream_drained() = 0;
  // A read from the backend has been fully handled (time to flush).
  virtual void on_upstream_read_done() = 0;
  // The backend answered 101 Switching Protocols; `len` bytes at `rest`
  // (inside `block`) followed the head and belong to the new protocol. The
  // owner hands the connection to a Tunnel or closes it.
  virtual void on_upstream_switched(const BlockRef& block, const char* rest, size_t len) {
    on_upstream_failed(UpstreamFailure::invalid_response);
  }
};

// Idle ones are kept for reuse (keepalive.max_idle) and so outlive the
// requests that opened them: their memory comes from the worker's SlabPool
// (upstream_memory), apart from what requests allocate (lb/core/slab_pool.h).
class UpstreamConnection final : public SlabAllocated<UpstreamConnection>,
                                 private http::ResponseEvents,
                                 public TunnelSide {
 public:
  UpstreamConnection(WorkerContext& worker, std::shared_ptr<balance::Backend> backend);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Starts connecting; events go to `owner`.
  void connect(UpstreamEvents* owner, Duration timeout);
  // Bytes that go first on the new connection, before TLS and the request
  // (a PROXY protocol header). Call before connect().
  void set_preamble(std::string bytes) { preamble_ = std::move(bytes); }
  // TLS to the backend (pool `tls`): the handshake follows the connect (and
  // the preamble) and is covered by the connect timeout; the connection is
  // "connected" once it is done. `slot` picks the session cache slot (the
  // worker's index). Call before connect().
  void set_tls(std::shared_ptr<const tls::UpstreamTlsContext> context, size_t slot);
  // Binds an idle (pooled) connection to a new owner.
  void bind(UpstreamEvents* owner);
  bool connected() const { return state_ != State::connecting; }

  StreamWriter& writer() { return writer_; }
  http::ResponseParser& parser() { return parser_; }
  // Sends what the writer gathered (no-op while connecting: sent on connect).
  void flush();

  // Arms the response timeout; every byte from the backend re-arms it.
  void arm_response_timeout(Duration d);
  void pause_reading();
  void resume_reading();

  // Back into the worker's pool for reuse (the response is complete).
  void release_to_pool(UpstreamPool& pool, size_t max_idle, Duration idle_timeout);
  // Closes; the object deletes itself once libuv is done with it.
  void close();
  // Idle: gives back the memory kept to parse the next response without
  // allocating; returns the bytes given back.
  size_t release_idle_memory() { return state_ == State::idle ? parser_.release_memory() : 0; }

  // After 101: bytes go raw to and from `tunnel` (no parsing, no response
  // timeout); the connection never returns to the pool. close() ends it.
  void start_tunnel(Tunnel* tunnel);
  // TunnelSide
  void tunnel_send(const BlockRef& block, const char* data, size_t len) override;
  void tunnel_send_copy(std::string_view bytes) override;
  size_t tunnel_backlog() const override { return writer_.pending(); }
  void tunnel_reading(bool on) override;
  void tunnel_shutdown() override;
  void tunnel_release_idle_block() override { release_idle_block(); }
  // Drops the read Block if nothing else holds a slice of it (the client
  // wrote what it referenced).
  void release_idle_block() { read_buf_.release_if_unshared(); }

  balance::Backend& backend() const { return *backend_; }
  // Is this a connection to `address` (the backend's address when it was
  // opened)? A host name that moved leaves idle connections to the old one.
  bool connected_to(const sockaddr_storage& address) const;
  const std::shared_ptr<balance::Backend>& backend_ptr() const { return backend_; }
  bool reusable() const { return reusable_; }
  // Why the last response was refused as invalid (static text), for the log.
  const char* failure_detail() const { return failure_detail_; }

  // The read Block the parser is working on (body bytes reference it).
  const BlockRef& current_block() const { return current_block_; }

  // Pool bookkeeping (intrusive list of idle connections).
  UpstreamConnection* idle_prev = nullptr;
  UpstreamConnection* idle_next = nullptr;
  UpstreamPool* pool = nullptr;
  uint64_t parked_in = 0;  // the pool's trim interval when it was parked

 private:
  enum class State { connecting, bound, idle, closed };
  ~UpstreamConnection() = default;  // only via close()

  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_timer(void* self);
  static void on_write_done(void* self, int status);
  void handle_read(ssize_t nread, const uv_buf_t* buf);
  bool write_raw(std::string bytes);  // ahead of the writer; false: the socket refused it
  void handle_tls_read(ssize_t nread, const uv_buf_t* buf);
  void became_connected();
  void fail_tls(const char* why = nullptr);
  void parse_response(const BlockRef& block, const char* p, size_t len);
  // http::ResponseEvents: forwarded to the owner.
  void on_response_head(http::ResponseHead& head) override {
    last_status_ = head.status;
    if (owner_) owner_->on_response_head(head);
  }
  void on_response_body(const char* data, size_t len) override {
    if (owner_) owner_->on_response_body(data, len);
  }
  void on_response_complete() override {}
  void fail(UpstreamFailure why);

  WorkerContext& worker_;
  std::shared_ptr<balance::Backend> backend_;
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  sockaddr_storage peer_{};  // where connect() went
  DeadlineTimer timer_;
  StreamWriter writer_;
  http::ResponseParser parser_;
  UpstreamEvents* owner_ = nullptr;
  ReadBuffer read_buf_;     // where reads land
  BlockRef current_block_;  // block being parsed
  int last_status_ = 0;
  unsigned interim_responses_ = 0;  // of the response being read
  const char* failure_detail_ = "";
  bool connect_failed_now_ = false;
  State state_ = State::connecting;
  Duration response_timeout_{0};
  bool reading_paused_ = false;
  bool reusable_ = true;
  Tunnel* tunnel_ = nullptr;  // set once upgraded
  std::string preamble_;      // written raw at connect, then dropped
  std::unique_ptr<tls::TlsSession> tls_;  // below the read/write seam, when the pool has tls
  ReadBuffer tls_in_;                     // TLS records as read, before decryption
  bool handshaking_ = false;
  std::string tls_error_;                 // failure_detail_ points here after a TLS failure
};

}  // namespace lb::proxy
