#include "lb/proxy/http2_connection.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include "lb/proxy/client_connection.h"
#include "lb/proxy/http2_stream.h"

namespace lb::proxy {

namespace {

// The session stops framing while this much waits to be written to the
// client: a client that does not read holds lbd's memory at this per
// connection plus each stream's high-water mark, and no more.
constexpr size_t kMaxPendingOutput = 64 * 1024;
// How long a graceful stop waits for the PING ACK that says the client saw
// the shutdown notice before sending the final GOAWAY anyway.
constexpr Duration kGoawayWait{1000};

http2::SessionLimits limits_of(const config::ListenerConfig& lc) {
  http2::SessionLimits l;
  l.max_concurrent_streams = lc.http2.max_concurrent_streams;
  l.initial_window = lc.http2.initial_window;
  l.max_header_list_bytes = lc.limits.max_header_bytes;
  return l;
}

const config::ListenerConfig& listener_config(const WorkerSnapshot& ws, const std::string& name) {
  static const config::ListenerConfig kDefaults;
  const ListenerRuntime* lr = ws.snapshot->find_listener(name);
  return lr ? *lr->config : kDefaults;
}

}  // namespace

Http2Connection::Http2Connection(WorkerContext& worker, Http2Transport& transport, StreamWriter& writer,
                                 std::shared_ptr<ListenerIdentity> identity, std::shared_ptr<const WorkerSnapshot> ws,
                                 const ClientAddress& connection_client, const SocketAddress& local)
    : worker_(worker),
      transport_(transport),
      writer_(writer),
      identity_(std::move(identity)),
      ws_(std::move(ws)),
      connection_client_(connection_client),
      local_(local),
      session_(*this, limits_of(listener_config(*ws_, identity_->name))) {
  idle_deadline_.init(*worker_.timers, this, &Http2Connection::on_idle_timeout);
  header_deadline_.init(*worker_.timers, this, &Http2Connection::on_header_timeout);
  goaway_deadline_.init(*worker_.timers, this, &Http2Connection::on_goaway_wait);
  // The preface and the first request are a header block like any other.
  header_deadline_.expire_in(listener_config(*ws_, identity_->name).timeouts.header);
}

Http2Connection::~Http2Connection() { abandon_all(); }

std::shared_ptr<const WorkerSnapshot> Http2Connection::snapshot_for_new_stream() {
  // A retired listener's connection finishes on the snapshot it has.
  if (!identity_->retired) ws_ = worker_.current;
  return ws_;
}

void Http2Connection::on_input(const BlockRef& block, const char* data, size_t len) {
  if (ended_) return;
  if (!session_.feed(block, data, len)) count_goaway(session_.reason());
  after_session_io();
}

void Http2Connection::fill_writer() { session_.write_to(writer_, kMaxPendingOutput); }

void Http2Connection::on_written() { transport_.flush(); }

void Http2Connection::after_session_io() { transport_.flush(); }

void Http2Connection::after_flush() {
  const config::ListenerConfig& lc = listener_config(*ws_, identity_->name);
  if (session_.receiving_headers()) {
    if (!header_deadline_.pending()) header_deadline_.expire_in(lc.timeouts.header);
  } else if (session_.open_streams() > 0 || !streams_.empty()) {
    header_deadline_.cancel();
  }
  if (streams_.empty() && session_.open_streams() == 0) {
    if (!idle_deadline_.pending() && !header_deadline_.pending()) idle_deadline_.expire_in(lc.timeouts.idle);
  } else {
    idle_deadline_.cancel();
  }
  if (session_.finished() && !ended_) {
    ended_ = true;
    count_goaway(session_.reason());  // errors nghttp2 found itself show only now
    idle_deadline_.cancel();
    header_deadline_.cancel();
    goaway_deadline_.cancel();
    transport_.close_after_write();
  }
}

void Http2Connection::count_goaway(http2::GoawayReason r) {
  if (goaway_counted_ || r == http2::GoawayReason::none) return;
  goaway_counted_ = true;
  identity_->state->h2_goaway[size_t(r)].fetch_add(1, std::memory_order_relaxed);
  if (r != http2::GoawayReason::graceful && r != http2::GoawayReason::idle_timeout)
    spdlog::info("{} {}: HTTP/2 connection ended: {}", identity_->name, connection_client_.text(),
                 http2::goaway_reason_name(r));
}

void Http2Connection::on_idle_timeout(void* p) {
  auto* self = static_cast<Http2Connection*>(p);
  if (!self->streams_.empty()) return;
  self->session_.terminate(http2::GoawayReason::idle_timeout);
  self->count_goaway(http2::GoawayReason::idle_timeout);
  self->after_session_io();
}

void Http2Connection::on_header_timeout(void* p) {
  auto* self = static_cast<Http2Connection*>(p);
  self->session_.terminate(http2::GoawayReason::header_timeout);
  self->count_goaway(http2::GoawayReason::header_timeout);
  self->after_session_io();
}

void Http2Connection::on_goaway_wait(void* p) {
  auto* self = static_cast<Http2Connection*>(p);
  self->session_.shutdown_gracefully();  // the second call sends the final GOAWAY
  self->after_session_io();
}

void Http2Connection::shutdown_gracefully() {
  if (ended_ || goaway_deadline_.pending()) return;
  session_.shutdown_gracefully();
  goaway_deadline_.expire_in(kGoawayWait);
  count_goaway(http2::GoawayReason::graceful);
  after_session_io();
}

size_t Http2Connection::end_streams(const char* reason, const balance::Backend* only) {
  std::vector<Http2Stream*> ending;
  for (auto& [id, s] : streams_) {
    const balance::Backend* b = s->stream_backend();
    if (b && (!only || b == only)) ending.push_back(s.get());
  }
  size_t ended = 0;
  for (Http2Stream* s : ending) ended += s->end_stream(reason) ? 1 : 0;
  if (ended) transport_.flush();
  return ended;
}

void Http2Connection::stream_backends(std::vector<const balance::Backend*>& out) const {
  for (const auto& [id, s] : streams_)
    if (const balance::Backend* b = s->stream_backend()) out.push_back(b);
}

void Http2Connection::abandon_all() {
  for (auto& [id, s] : streams_) {
    s->on_closed(NGHTTP2_CANCEL);
    worker_.deferred->retire(std::move(s));
  }
  streams_.clear();
}

Http2Stream* Http2Connection::find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

// ---- session events -------------------------------------------------------

void Http2Connection::on_request(int32_t id, http::RequestHead& head, bool end_stream) {
  auto stream = std::make_unique<Http2Stream>(*this, id);
  Http2Stream& s = *stream;
  streams_.emplace(id, std::move(stream));
  idle_deadline_.cancel();
  s.start(head, end_stream);
}

void Http2Connection::on_request_data(int32_t id, const BlockRef& block, const char* data, size_t len) {
  if (Http2Stream* s = find(id)) {
    s->on_data(block, data, len);
  } else {
    session_.consume(id, len);  // a stream lbd already let go of: keep the connection's window open
  }
}

void Http2Connection::on_request_end(int32_t id) {
  if (Http2Stream* s = find(id)) s->on_request_end();
}

void Http2Connection::on_stream_closed(int32_t id, uint32_t error_code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second->on_closed(error_code);
  // The stream may be further up the stack (its reset led here): freed
  // after this loop turn.
  worker_.deferred->retire(std::move(it->second));
  streams_.erase(it);
}

void Http2Connection::on_stream_writable(int32_t id) {
  if (Http2Stream* s = find(id)) s->on_writable();
}

}  // namespace lb::proxy
