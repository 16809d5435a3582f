#pragma once
// A client connection that speaks HTTP/2 (ALPN h2, or h2c by prior
// knowledge): the ClientConnection keeps the socket, TLS, the PROXY header,
// the send deadline and the lingering close; this object takes the
// plaintext in, runs the http2::Session (nghttp2) and turns each request
// stream into an Http2Stream, whose Exchange is the same one HTTP/1.1 uses.
//
// Deadlines of its own, each one timer with one meaning:
//   idle    no stream open for timeouts.idle: GOAWAY (idle_timeout), close
//   header  the preface or a header block (HEADERS + CONTINUATION) not
//           complete within timeouts.header: GOAWAY (header_timeout), close
//   goaway  a graceful stop's notice went out with a PING; the final GOAWAY
//           (the last stream id) follows its ACK, or this after kGoawayWait
//           for a client that never answers
// Streams have theirs (lb/proxy/http2_stream.h).
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lb/core/block.h"
#include "lb/core/deferred_free.h"
#include "lb/core/stream_writer.h"
#include "lb/core/timer_wheel.h"
#include "lb/http2/session.h"
#include "lb/proxy/client_address.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker_context.h"
#include "lb/proxy/worker_snapshot.h"

namespace lb::balance {
class Backend;
}

namespace lb::proxy {

struct ListenerIdentity;
class Http2Stream;

// What the connection lends its HTTP/2 half.
class Http2Transport {
 public:
  virtual ~Http2Transport() = default;
  virtual void flush() = 0;               // send what the writer gathered (frames included)
  // The same before the loop next blocks: what streams answer in one loop
  // turn (backends' replies arrive together under load) leaves in one
  // write and one TLS record instead of one each.
  virtual void flush_soon() = 0;
  virtual void release_idle_block() = 0;  // the read Block, if nothing holds a slice of it
  virtual void close_after_write() = 0;   // the session ended: close once the last frames are out
  virtual bool draining() const = 0;      // lbd stops or the listener is gone
};

class Http2Connection final : private http2::SessionEvents, public Retirable {
 public:
  // The addresses are the connection's, valid for its lifetime.
  Http2Connection(WorkerContext& worker, Http2Transport& transport, StreamWriter& writer,
                  std::shared_ptr<ListenerIdentity> identity, std::shared_ptr<const WorkerSnapshot> ws,
                  const ClientAddress& connection_client, const SocketAddress& local);
  ~Http2Connection() override;

  // Plaintext from the client, inside `block`.
  void on_input(const BlockRef& block, const char* data, size_t len);
  // Before the writer flushes: move frames from the session into it.
  void fill_writer();
  // After a flush: streams may have ended (the idle deadline), or the whole
  // session (then the transport closes after writing).
  void after_flush();
  // A write completed: more frames may go.
  void on_written();
  // Graceful stop or reload: GOAWAY with the last stream id; the streams in
  // flight finish, then the connection closes.
  void shutdown_gracefully();
  // shutdown_timeout passed, or a stream's backend is leaving (`only`):
  // SSE streams end cleanly with "retry:" and an error event. Returns how
  // many ended.
  size_t end_streams(const char* reason, const balance::Backend* only = nullptr);
  // Appends the backends of the streams lbd could end now (DrainedStreams).
  void stream_backends(std::vector<const balance::Backend*>& out) const;
  // The connection is closing: every stream's Exchange is abandoned.
  void abandon_all();
  size_t open_streams() const { return streams_.size(); }
  bool wants_write() const { return session_.wants_write(); }

  // For the streams.
  WorkerContext& worker() { return worker_; }
  http2::Session& session() { return session_; }
  Http2Transport& transport() { return transport_; }
  ListenerIdentity& identity() { return *identity_; }
  const ClientAddress& connection_client() const { return connection_client_; }
  const SocketAddress& local() const { return local_; }
  bool draining() const { return transport_.draining(); }
  // The snapshot a new stream starts with (newest unless the listener was
  // retired by a reload).
  std::shared_ptr<const WorkerSnapshot> snapshot_for_new_stream();

 private:
  // http2::SessionEvents
  void on_request(int32_t id, http::RequestHead& head, bool end_stream) override;
  void on_request_data(int32_t id, const BlockRef& block, const char* data, size_t len) override;
  void on_request_end(int32_t id) override;
  void on_stream_closed(int32_t id, uint32_t error_code) override;
  void on_stream_writable(int32_t id) override;

  Http2Stream* find(int32_t id);
  void after_session_io();  // send what the session has (after_flush follows)
  void count_goaway(http2::GoawayReason r);
  static void on_idle_timeout(void* self);
  static void on_header_timeout(void* self);
  static void on_goaway_wait(void* self);

  WorkerContext& worker_;
  Http2Transport& transport_;
  StreamWriter& writer_;
  std::shared_ptr<ListenerIdentity> identity_;
  std::shared_ptr<const WorkerSnapshot> ws_;
  const ClientAddress& connection_client_;
  const SocketAddress& local_;
  http2::Session session_;
  std::unordered_map<int32_t, std::unique_ptr<Http2Stream>> streams_;
  DeadlineTimer idle_deadline_;
  DeadlineTimer header_deadline_;
  DeadlineTimer goaway_deadline_;
  bool goaway_counted_ = false;
  bool ended_ = false;
};

}  // namespace lb::proxy
