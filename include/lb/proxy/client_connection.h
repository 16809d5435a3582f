#pragma once
// One accepted client connection: reads and parses requests (one at a time,
// pipelined ones wait their turn), hands each to an Exchange, writes what
// comes back, and enforces the listener's timeouts and limits. The object
// deletes itself when its socket is closed.
//
// Deadlines, one per direction and purpose (nginx's client_header_timeout,
// client_body_timeout, keepalive_timeout, send_timeout, lingering_timeout),
// each its own timer-wheel entry so no timer's meaning depends on a phase:
//   wait       no request under way: the client must start one. After the
//              accept that is timeouts.header (the PROXY header and the
//              TLS handshake count), after a response timeouts.idle, once
//              that response is fully written (keep-alive)
//   header     the request head must be complete within timeouts.header of
//              its first byte; a connection's first head within what is
//              left of the wait deadline, so it still counts from the accept
//   body       a request body must not pause longer than timeouts.idle;
//              while lbd holds the client back because the backend takes
//              nothing, the same deadline blames the backend (504)
//   send       while bytes wait to be written, the client must take some
//              within timeouts.send (a client that never reads is cut)
//   linger     after the final response is out and our FIN sent, unread
//              input is drained while the kernel still delivers our last
//              bytes (progress as for send), then kLingerTime more
// Memory: an idle keep-alive connection is what most of a busy server's
// connections are, so it keeps only what it needs to wait (the socket, the
// wait deadline, its addresses: 536 bytes). Everything a request,
// a tunnel or an HTTP/2 session needs (parser, writer, input, the other
// deadlines) is the Busy part, taken from the worker's cache when bytes
// arrive and given back once the connection rests again (rest()).
// Input waits in a SliceQueue bounded by Blocks held, reads land in a
// shared ReadBuffer, and the Exchange bounds what waits to be written by
// Blocks held too (README "Memory per connection").
#include <netinet/in.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "lb/core/block.h"
#include "lb/core/read_buffer.h"
#include "lb/core/slab_pool.h"
#include "lb/core/slice_queue.h"
#include "lb/core/stream_writer.h"
#include "lb/core/timer_wheel.h"
#include "lb/core/uv_handle.h"
#include "lb/http/request_parser.h"
#include "lb/proxy/backend_slot.h"
#include "lb/proxy/client_address.h"
#include "lb/proxy/downstream.h"
#include "lb/proxy/http1_response.h"
#include "lb/proxy/http2_connection.h"
#include "lb/proxy/proxy_header.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/tunnel.h"
#include "lb/proxy/worker_context.h"
#include "lb/proxy/worker_snapshot.h"
#include "lb/tls/tls_session.h"

namespace lb::proxy {

class Exchange;
class UpstreamConnection;

// What a connection needs of the listener that accepted it.
struct ListenerIdentity {
  std::string name;
  std::shared_ptr<ListenerState> state;
  // Per worker. Set when a reload removed the listener: its connections
  // finish the request at hand on their snapshot, then close.
  bool retired = false;
};

// Its memory comes from the worker's SlabPool (client_memory), apart from
// what requests allocate, so that a burst's memory can go back once it is over.
class ClientConnection final : public SlabAllocated<ClientConnection>,
                               private http::RequestEvents,
                               private Downstream,
                               private Http2Transport,
                               private TunnelSide,
                               private TunnelOwner {
 public:
  // Accepts one connection from `server`; returns false if accept failed.
  static bool accept_from(uv_stream_t* server, WorkerContext& worker, std::shared_ptr<ListenerIdentity> listener);

  // Downstream (lb/proxy/downstream.h): what the Exchange of the current
  // request needs of its client.
  WorkerContext& worker() override { return worker_; }
  const char* client_ip() const override { return client().text(); }
  std::string_view client_address() const override { return client().bytes(); }
  const char* forwarded_for() const override { return connection_client().text(); }
  sockaddr_storage client_sockaddr() const override { return client().sockaddr(); }
  sockaddr_storage local_sockaddr() const override { return local_address().storage(); }
  const ListenerRuntime& listener() const override { return *listener_rt_; }
  std::string_view request_id() const override { return {busy_->request_id, busy_->request_id_len}; }
  void on_exchange_done() override;
  void after_upstream_io() override;  // flush and re-evaluate back-pressure
  void release_idle_block() override { busy().read_buf.release_if_unshared(); }  // also Http2Transport
  void abort() override;  // drop the connection now
  // Graceful stop: closes the connection if no request is in progress;
  // otherwise the current response carries Connection: close.
  void close_if_idle();
  // shutdown_timeout has passed: a streamed response (SSE) still under way
  // is ended cleanly with "retry:" and an error event, a WebSocket with a
  // Close frame 1001 (going away); true if there was one.
  bool end_stream_for_stop();
  // The same for a stream whose backend was drained or removed (WebSocket:
  // 1012, service restart).
  bool end_stream_for_drain();
  // A WebSocket whose clean close (our Close frames) is under way.
  bool stream_closing() const;
  // The backends of the long streams (SSE responses, a WebSocket) this
  // connection carries and that lbd could still end (appended to `out`).
  void long_stream_backends(std::vector<const balance::Backend*>& out) const;
  // end_stream_for_drain for the streams of `backend` only; true if any.
  bool end_streams_of(const balance::Backend& backend);
  // The backend switched protocols (101): the connection becomes a Tunnel.
  void start_tunnel(UpstreamConnection* upstream, BackendSlot slot, const char* pool, double upstream_ms,
                    const BlockRef& block, const char* rest, size_t len) override;
  const ListenerIdentity* listener_identity() const { return identity_.get(); }
  // Stopping, or the listener is gone: responses say Connection: close.
  bool draining() const override { return worker_.stopping || identity_->retired; }

  // WorkerContext::flush_soon: the output this loop turn gathered goes now.
  void flush_scheduled();
  // Frees the Busy parts the worker's cache kept unused since the last
  // call (FreeList::trim); returns the bytes freed.
  static size_t trim_caches();

  ClientConnection* next_client = nullptr;  // WorkerContext::clients list
  ClientConnection* prev_client = nullptr;

 private:
  // http2: the connection speaks HTTP/2 (the Busy part's h2 drives it) until it closes.
  enum class Phase { idle, head, body, waiting, closing, tunnel, http2 };

  ClientConnection(WorkerContext& worker, std::shared_ptr<ListenerIdentity> listener);
  ~ClientConnection();

  // Downstream: the response, framed by the Busy part's Http1Response.
  void send_interim(const http::ResponseHead& head) override { busy().response.interim(head); }
  bool send_head(const http::ResponseHead& head, const http::HeaderEdits* edits) override {
    return busy().response.head(head, edits, draining());
  }
  void send_body(const BlockRef& block, const char* data, size_t len) override {
    busy().response.body(block, data, len);
  }
  void send_own(std::string_view bytes) override { busy().response.own(bytes); }
  void end_response(bool then_close, const http::HeaderList* trailers) override {
    busy().response.end(then_close, trailers);
  }
  bool take_back_head() override { return busy().response.take_back_head(); }
  void send_error(int status, std::string_view extra_headers, bool request_read) override {
    busy().response.error(status, extra_headers, request_read, draining());
  }
  void send_fixed(int status, std::string_view content_type, std::string_view body, std::string_view extra_headers,
                  bool request_read) override {
    busy().response.fixed(status, content_type, body, extra_headers, request_read, draining());
  }
  void send_switching_protocols(const http::ResponseHead& head) override { busy().response.switching_protocols(head); }
  bool above_high_water() const override;
  bool below_low_water() const override;

  // http::RequestEvents
  bool on_request_head(http::RequestHead& head) override;
  bool on_request_body(const char* data, size_t len) override;
  void on_request_complete() override;

  // TunnelSide: the tunnel reads through handle_read and writes through
  // the writer and flush(), the same seam the HTTP path uses.
  void tunnel_send(const BlockRef& block, const char* data, size_t len) override;
  void tunnel_send_copy(std::string_view bytes) override;
  size_t tunnel_backlog() const override { return busy_->writer.pending(); }
  void tunnel_reading(bool on) override;
  void tunnel_shutdown() override;
  void tunnel_release_idle_block() override { release_idle_block(); }
  // TunnelOwner
  void on_tunnel_end(const char* why) override;

  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write_done(void* self, int status);
  static void on_header_timeout(void* self);
  static void on_body_timeout(void* self);
  static void on_wait_timeout(void* self);
  static void on_send_timeout(void* self);
  static void on_linger_timeout(void* self);
  // Bytes the kernel has not yet had acknowledged by the client.
  size_t kernel_unsent_bytes() const;
  // Bytes the client sent that the kernel holds and lbd has not read.
  size_t kernel_unread_bytes() const;
  // Bytes the client has acknowledged so far (only grows): send progress.
  uint64_t bytes_delivered() const;
  Duration send_timeout() const;

  // End of input or a read error (nread < 0).
  void handle_read_end(ssize_t nread);
  // `len` plaintext bytes just committed to the read buffer at `data`.
  void handle_bytes(char* data, size_t len);
  // TLS listeners: decrypts into the read buffer, then hands plaintext on.
  void handle_tls_read(ssize_t nread, const uv_buf_t* buf);
  // proxy_protocol listeners: the PROXY header, before anything else.
  void handle_proxy_read(ssize_t nread, const uv_buf_t* buf);
  // The request's client from the connection's and X-Forwarded-For.
  void resolve_request_client(const http::RequestHead& head);
  void drive();  // parse pending input while the phase allows
  void parse(SliceQueue::Slice& in);
  void release_parser_if_idle();
  void assign_request_id();
  void update_reading();
  void flush() override;  // also Http2Transport
  void flush_soon() override;  // Http2Transport
  // What the connection's first bytes say: ALPN decides on TLS; on clear
  // text only the whole h2c preface means HTTP/2, and until these bytes
  // and those held in the input have told, more are needed.
  enum class Sniff { http1, http2, need_more };
  Sniff sniff_protocol(const char* data, size_t len) const;
  void start_http2();  // and hands it the preface bytes the input holds
  // Write progress bookkeeping for the send deadline.
  void watch_send_progress();
  // Keep-alive between requests: armed once the last response is written;
  // the connection then rests at the end of this loop turn.
  void arm_keepalive_if_drained();
  // Gives the Busy part back to the worker's cache if the connection is
  // idle and drained. Only called where nothing up the stack holds a
  // reference into that part: from libuv's write callback and the end of
  // the loop turn (flush_scheduled).
  void rest();
  // rest() at the end of this loop turn (WorkerContext::flush_soon).
  void rest_soon();
  // Then close; `extra_headers` as for http::append_error_response.
  void answer_error(int status, const char* why, std::string_view extra_headers = {});
  void finish_request_and_close();
  void close_after_write() override;  // also Http2Transport
  void start_lingering_close();
  void close_now();
  bool end_long_stream(uint16_t ws_code, const char* sse_reason);
  // The backend of the HTTP/1.1 long stream lbd could still end, else null.
  const balance::Backend* long_stream_backend() const;
  void log_request(int status, const char* pool, const char* backend, double upstream_ms);

  WorkerContext& worker_;
  std::shared_ptr<ListenerIdentity> identity_;
  uv_tcp_t tcp_{};
  DeadlineTimer wait_deadline_;
  // Below the read/write seam: set on TLS listeners, null (and never looked
  // at past the null check) on plain ones.
  std::unique_ptr<tls::TlsSession> tls_;
  std::shared_ptr<const WorkerSnapshot> ws_;  // of the current request
  const ListenerRuntime* listener_rt_ = nullptr;
  // Only a connection that switched protocols (101) pays for a relay.
  struct TunnelState {
    std::unique_ptr<Tunnel> relay;
    UpstreamConnection* upstream = nullptr;  // owned: closed when the tunnel ends
    BackendSlot slot;                        // the backend's max_requests slot, given back at the end
    const char* pool = "-";                  // in the snapshot ws_ holds
    double upstream_ms = -1;                 // for the access log line at the end
    bool reading = false;                    // the relay wants the client's bytes
  };
  // What only a connection at work needs. It exists while a request, a
  // tunnel or an HTTP/2 session is under way, or bytes wait in either
  // direction; an idle, drained connection gives it back (rest()). Its
  // memory is recycled through the worker's FreeList, so steady keep-alive
  // traffic allocates nothing for it.
  struct Busy {
    explicit Busy(ClientConnection& c);
    static void* operator new(size_t size);
    static void operator delete(void* p, size_t size);

    DeadlineTimer header_deadline;
    DeadlineTimer body_deadline;
    DeadlineTimer send_deadline;
    DeadlineTimer linger_deadline;
    size_t linger_unsent = 0;        // kernel_unsent_bytes() at the last linger check
    TimePoint linger_progress_at{};  // when it last changed
    uint64_t delivered_at_arm = 0;   // bytes_delivered() when send_deadline was set
    std::unique_ptr<http::RequestParser> parser;  // lent by the worker while a request is active
    StreamWriter writer;
    Http1Response response;
    std::unique_ptr<Exchange> exchange;
    const CompiledRoute* route = nullptr;  // of the current request, in ws_'s snapshot (null: none yet)
    std::unique_ptr<Http2Connection> h2;   // Phase::http2
    std::unique_ptr<TunnelState> tunnel;   // after 101
    ReadBuffer read_buf;     // plaintext reads land here
    ReadBuffer tls_in;       // TLS records as read, before decryption
    BlockRef current_block;  // being parsed
    SliceQueue input;        // read but not yet parsed
    uint64_t body_bytes = 0;
    uint64_t bytes_in = 0;   // of the current request, for the access log
    uint64_t bytes_out_at_start = 0;
    uint64_t bytes_out = 0;  // since the Busy part was taken
    TimePoint request_start{};
    char request_id[40] = {};
    uint8_t request_id_len = 0;
  };
  friend struct BusyMemory;  // its storage, recycled (client_connection.cc)
  std::unique_ptr<Busy> busy_;
  // The Busy part, taken now if the connection was resting.
  Busy& busy();
  // Read-only views of the Busy part that do not take one.
  bool writer_idle() const { return !busy_ || busy_->writer.idle(); }
  bool input_empty() const { return !busy_ || busy_->input.empty(); }
  Exchange* exchange() const { return busy_ ? busy_->exchange.get() : nullptr; }
  Http2Connection* h2() const { return busy_ ? busy_->h2.get() : nullptr; }
  TunnelState* tunnel() const { return busy_ ? busy_->tunnel.get() : nullptr; }
  bool protocol_open_ = true;                      // the first bytes have not told HTTP/1.1 from HTTP/2 yet
  bool served_ = false;  // a request head was read on this connection
  Phase phase_ = Phase::idle;
  bool driving_ = false;
  bool read_eof_ = false;
  bool reading_active_ = false;
  bool closed_ = false;
  bool shut_down_ = false;
  bool flush_scheduled_ = false;  // on WorkerContext::flush_soon
  // The client asked for this close and lbd has read nothing after the
  // request (start_lingering_close may then skip the linger). Cleared by
  // bytes read while closing.
  bool client_sends_no_more_ = false;
  ClientAddress peer_;  // the TCP peer
  // The PROXY header's source and the current request's client (from
  // X-Forwarded-For), where a listener's settings let them differ from the
  // peer. Most connections have neither, and an idle connection is better
  // off without two addresses (152 bytes) it never uses.
  // Where the client came in (local_address()) is kept there too.
  struct OtherClients {
    ClientAddress connection, request;
    SocketAddress local;
    bool has_connection = false, has_request = false, has_local = false;
  };
  mutable std::unique_ptr<OtherClients> other_clients_;
  OtherClients& other_clients() const;
  // The PROXY header's source, or the peer.
  const ClientAddress& connection_client() const {
    return other_clients_ && other_clients_->has_connection ? other_clients_->connection : peer_;
  }
  // Of the current request.
  const ClientAddress& client() const {
    return other_clients_ && other_clients_->has_request ? other_clients_->request : connection_client();
  }
  // Where the client came in: the PROXY header's destination, or our
  // socket's address, asked of the kernel only when something needs it
  // (send_proxy_protocol, HTTP/2): one system call fewer per connection.
  const SocketAddress& local_address() const;
  // Until the PROXY header is complete (proxy_protocol listeners).
  std::unique_ptr<ProxyHeaderParser> proxy_parser_;
};

}  // namespace lb::proxy
