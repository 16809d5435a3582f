// nghttp2 server session behind lb::http2::Session (see session.h). All of
// nghttp2's callbacks land here; the budgets that end abusive connections
// are in flood_guard.h, request heads are built by request_head.h, response
// fields by response_fields.h, queued response bytes live in out_queue.h.
#include "lb/http2/session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <unordered_map>
#include <vector>

#include "lb/core/free_list.h"
#include "lb/core/recycling.h"
#include "lb/core/stream_writer.h"
#include "lb/http2/flood_guard.h"
#include "lb/http2/preface.h"
#include "lb/http2/out_queue.h"
#include "lb/http2/request_head.h"
#include "lb/http2/response_fields.h"

#include <string_view>

namespace lb::http2 {

static_assert(kClientPreface == std::string_view(NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN));

const char* goaway_reason_name(GoawayReason r) {
  switch (r) {
    case GoawayReason::none: return "none";
    case GoawayReason::graceful: return "graceful";
    case GoawayReason::protocol_error: return "protocol_error";
    case GoawayReason::flow_control: return "flow_control";
    case GoawayReason::rapid_reset: return "rapid_reset";
    case GoawayReason::continuation_flood: return "continuation_flood";
    case GoawayReason::control_flood: return "control_flood";
    case GoawayReason::empty_frames: return "empty_frames";
    case GoawayReason::header_list_too_large: return "header_list_too_large";
    case GoawayReason::too_many_streams: return "too_many_streams";
    case GoawayReason::idle_timeout: return "idle_timeout";
    case GoawayReason::header_timeout: return "header_timeout";
    case GoawayReason::send_timeout: return "send_timeout";
  }
  return "unknown";
}

// Named, not anonymous: Session::Impl holds these types, and a type with
// internal linkage inside one with external linkage is what GCC warns
// about when the unity build includes this file (-Wsubobject-linkage).
namespace session_detail {

// The opaque data of the PING that follows a shutdown notice: its ACK means
// the client has seen the notice, so the final GOAWAY can name the last stream.
constexpr uint8_t kShutdownPing[8] = {'l', 'b', 'd', '-', 'b', 'y', 'e', '!'};

// Where a stream stands; restart() resets it as a whole.
struct StreamProgress {
  bool reported = false;           // on_request was called: events follow
  bool owner_reset = false;        // reset_stream: not the client's fault
  bool response_started = false;   // a final response was submitted
  bool response_complete = false;  // END_STREAM sent
  bool end_queued = false;         // submit_end: END_STREAM after the queue
  bool deferred = false;           // the data provider waits for bytes
  bool framed = false;             // bytes left the queue in this write_to
  size_t trailer_bytes = 0;
  size_t unconsumed = 0;           // request body bytes received, not consumed
};

struct Stream : StreamProgress {
  explicit Stream(size_t max_header_bytes) : request(max_header_bytes) {}
  // As a new stream: nothing of the previous request stays but the
  // containers' capacity (see take_stream).
  void restart(size_t max_header_bytes) {
    static_cast<StreamProgress&>(*this) = {};
    request.restart(max_header_bytes);
    request_trailers.clear();
    out.clear();
    trailers.reset();
  }
  RequestHeadBuilder request;
  http::HeaderList request_trailers;  // kept while within max_header_list_bytes
  OutQueue out;
  std::unique_ptr<H2Fields> trailers;  // submit_end's: HEADERS with END_STREAM after the queue
};

// A stream's head and queues come and go with every request: the worker
// keeps the Stream objects of closed streams (as it keeps Exchanges) and
// the next stream of any of its sessions restarts one, so a steady h2
// load allocates none. Under AddressSanitizer nothing is kept, so that a
// use after free is still reported (lb/core/recycling.h).
thread_local FreeList<Stream> spare_streams(1024);
// A stream whose request fields took more than this (their buffers grew
// as much) is freed, not kept: the list never pins more than 1024 of these.
constexpr size_t kMaxKeptFieldBytes = 4096;

std::unique_ptr<Stream> take_stream(size_t max_header_bytes) {
  if (Stream* st = LB_RECYCLE_MEMORY ? spare_streams.pop() : nullptr) {
    st->restart(max_header_bytes);
    return std::unique_ptr<Stream>(st);
  }
  return std::make_unique<Stream>(max_header_bytes);
}

void give_back(std::unique_ptr<Stream> st) {
  if (!LB_RECYCLE_MEMORY || st->request.bytes() + st->trailer_bytes > kMaxKeptFieldBytes) return;
  st->restart(0);  // let go of Blocks and trailers now, not when reused
  if (spare_streams.push(st.get())) st.release();
}

// Response fields are built here, handed to nghttp2 (which copies them)
// and forgotten: one list per worker thread, never per stream.
H2Fields& scratch_fields() {
  thread_local H2Fields fields;
  fields.clear();
  return fields;
}

// nghttp2's view of `fields`, valid until the next call on this thread.
const std::vector<nghttp2_nv>& nv_of(const H2Fields& fields) {
  thread_local std::vector<nghttp2_nv> nv;
  nv.resize(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    const auto n = fields.name(i), v = fields.value(i);
    nv[i] = {reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
             reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(), NGHTTP2_NV_FLAG_NONE};
  }
  return nv;
}

uint32_t goaway_code(GoawayReason r) {
  switch (r) {
    case GoawayReason::none:
    case GoawayReason::graceful:
    case GoawayReason::idle_timeout:
    case GoawayReason::header_timeout:
    case GoawayReason::send_timeout:
      return NGHTTP2_NO_ERROR;
    case GoawayReason::protocol_error:
      return NGHTTP2_PROTOCOL_ERROR;
    case GoawayReason::flow_control:
      return NGHTTP2_FLOW_CONTROL_ERROR;
    default:
      return NGHTTP2_ENHANCE_YOUR_CALM;
  }
}

}  // namespace session_detail

using namespace session_detail;

struct Session::Impl {
  Impl(Session& owner, SessionEvents& ev, const SessionLimits& lim);
  ~Impl();

  Stream* find(int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second.get();
  }
  // Marks the connection for GOAWAY (sent after the current nghttp2 call).
  void fail(GoawayReason r) {
    if (reason == GoawayReason::none || reason == GoawayReason::graceful) {
      reason = r;
      pending_terminate = true;
    }
  }
  void apply_pending();
  void answer_fixed(int32_t id, int status, std::string_view lines, std::string_view body, bool head_only);
  void submit_with_body(int32_t id, Stream& s, const H2Fields& fields, bool end_stream);
  void resume(int32_t id, Stream& s);
  bool submit_trailers(int32_t id, const H2Fields& fields);
  bool failed() const { return reason != GoawayReason::none && reason != GoawayReason::graceful; }

  // nghttp2 callbacks
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* self);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self);
  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int lib_error, void* self);
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data, size_t len,
                           void* self);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self);
  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* self);
  static ssize_t read_data(nghttp2_session*, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                           nghttp2_data_source* src, void* self);

  int headers_done(const nghttp2_frame* f);
  void send(const std::function<bool()>& room, const std::function<void(std::string_view)>& put);

  Session& owner;
  SessionEvents& events;
  SessionLimits limits;
  nghttp2_session* s = nullptr;
  FloodGuard guard;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams;
  GoawayReason reason = GoawayReason::none;
  bool peer_goaway = false;  // the client sent GOAWAY
  bool pending_terminate = false;
  bool shutting_down = false;
  bool final_goaway = false;
  bool preface_done = false;      // the client's SETTINGS arrived
  bool in_header_block = false;
  size_t continuations = 0;
  size_t conn_to_consume = 0;     // window of closed streams, given back after the call
  // The Block being fed, so request DATA can be handed on by reference.
  const BlockRef* feeding = nullptr;
  std::vector<int32_t> framed;    // streams whose queue shrank in write_to
  TimePoint now{};
};

Session::Impl::Impl(Session& o, SessionEvents& ev, const SessionLimits& lim)
    : owner(o), events(ev), limits(lim), guard(lim.max_concurrent_streams) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);

  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // WINDOW_UPDATE only once the backend took the bytes (consume).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  // Backstops behind our own budgets (flood_guard.h), which trip first and
  // know the reason: nghttp2 would end the connection all the same.
  nghttp2_option_set_max_continuations(opt, continuation_limit(limits.max_header_list_bytes) + 8);
  nghttp2_option_set_stream_reset_rate_limit(opt, 4 * std::max<uint64_t>(100, 2 * limits.max_concurrent_streams),
                                             200);
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_session_server_new2(&s, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.initial_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, uint32_t(std::min<size_t>(limits.max_header_list_bytes, UINT32_MAX))},
  };
  nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
  // The connection window is every stream's window together, so a stream
  // whose backend reads slowly never holds back the others.
  const uint64_t conn_window = std::min<uint64_t>(uint64_t(limits.initial_window) * limits.max_concurrent_streams,
                                                  std::numeric_limits<int32_t>::max());
  if (conn_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, int32_t(conn_window));
}

Session::Impl::~Impl() { nghttp2_session_del(s); }

void Session::Impl::apply_pending() {
  if (conn_to_consume) {
    nghttp2_session_consume_connection(s, conn_to_consume);
    conn_to_consume = 0;
  }
  if (pending_terminate) {
    pending_terminate = false;
    nghttp2_session_terminate_session(s, goaway_code(reason));
  }
}

// ---- receiving ----

int Session::Impl::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* self) {
  auto& im = *static_cast<Impl*>(self);
  switch (hd->type) {
    case NGHTTP2_HEADERS:
      im.in_header_block = !(hd->flags & NGHTTP2_FLAG_END_HEADERS);
      im.continuations = 0;
      if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_HEADERS) && !im.guard.empty_frame(im.now)) {
        im.fail(GoawayReason::empty_frames);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_CONTINUATION:
      if (++im.continuations > continuation_limit(im.limits.max_header_list_bytes)) {
        im.fail(GoawayReason::continuation_flood);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      if (hd->flags & NGHTTP2_FLAG_END_HEADERS) im.in_header_block = false;
      if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_HEADERS) && !im.guard.empty_frame(im.now)) {
        im.fail(GoawayReason::empty_frames);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
      if (hd->flags & NGHTTP2_FLAG_ACK) break;
      [[fallthrough]];
    case NGHTTP2_PRIORITY:
    case NGHTTP2_WINDOW_UPDATE:
      if (!im.guard.control_frame(im.now)) {
        im.fail(GoawayReason::control_flood);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    default:
      break;
  }
  return 0;
}

int Session::Impl::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* self) {
  auto& im = *static_cast<Impl*>(self);
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  im.streams[f->hd.stream_id] = take_stream(im.limits.max_header_list_bytes);
  im.guard.request_opened();
  return 0;
}

int Session::Impl::on_header(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                             const uint8_t* value, size_t valuelen, uint8_t, void* self) {
  auto& im = *static_cast<Impl*>(self);
  Stream* st = im.find(f->hd.stream_id);
  if (!st) return 0;
  size_t total;
  if (f->headers.cat == NGHTTP2_HCAT_REQUEST) {
    st->request.add({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen});
    total = st->request.bytes();
  } else {
    // Trailers: counted as a head is (RFC 7541 §4.1 sizes), kept while they
    // fit; a section over the limit resets the stream (headers_done).
    total = st->trailer_bytes += namelen + valuelen + 32;
    if (total <= im.limits.max_header_list_bytes)
      st->request_trailers.add({reinterpret_cast<const char*>(name), namelen},
                               {reinterpret_cast<const char*>(value), valuelen});
  }
  // Past the limit the request is answered 431 (headers_done); far past it
  // the client ignores the SETTINGS_MAX_HEADER_LIST_SIZE we sent, and each
  // field costs HPACK decoding (a 1-byte reference can expand to 4 KiB).
  if (total > 2 * im.limits.max_header_list_bytes) {
    im.fail(GoawayReason::header_list_too_large);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Session::Impl::headers_done(const nghttp2_frame* f) {
  const int32_t id = f->hd.stream_id;
  Stream* st = find(id);
  if (!st) return 0;
  const bool end_stream = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {  // trailers
    if (st->trailer_bytes > limits.max_header_list_bytes && st->reported) {
      st->owner_reset = true;  // answered like an oversized head would be, not counted as an attack
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
      return 0;
    }
    if (end_stream && st->reported) events.on_request_end(id);
    return 0;
  }
  switch (st->request.finish(end_stream)) {
    case RequestHeadBuilder::Verdict::ok:
      st->reported = true;
      events.on_request(id, st->request.head(), end_stream);
      return 0;
    case RequestHeadBuilder::Verdict::malformed:
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_PROTOCOL_ERROR);
      return 0;
    case RequestHeadBuilder::Verdict::bad_request:
      answer_fixed(id, 400, {}, "400 Bad Request\n", st->request.head().method == HTTP_HEAD);
      return 0;
    case RequestHeadBuilder::Verdict::too_large:
      answer_fixed(id, 431, {}, "431 Request Header Fields Too Large\n", false);
      return 0;
  }
  return 0;
}

int Session::Impl::on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* self) {
  auto& im = *static_cast<Impl*>(self);
  const int32_t id = f->hd.stream_id;
  switch (f->hd.type) {
    case NGHTTP2_HEADERS:
      im.in_header_block = false;
      return im.headers_done(f);
    case NGHTTP2_DATA: {
      const size_t payload = f->hd.length - f->data.padlen;
      const bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
      if (payload == 0 && !end && !im.guard.empty_frame(im.now)) {
        im.fail(GoawayReason::empty_frames);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      Stream* st = im.find(id);
      if (end && st && st->reported) im.events.on_request_end(id);
      return 0;
    }
    case NGHTTP2_RST_STREAM: {
      Stream* st = im.find(id);
      if (st && !st->response_complete && !im.guard.early_reset(im.now)) {
        im.fail(GoawayReason::rapid_reset);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      return 0;
    }
    case NGHTTP2_SETTINGS:
      if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) im.preface_done = true;
      return 0;
    case NGHTTP2_GOAWAY:
      im.peer_goaway = true;  // the client is leaving: its end is no error of ours
      return 0;
    case NGHTTP2_PING:
      if ((f->hd.flags & NGHTTP2_FLAG_ACK) && im.shutting_down && !im.final_goaway &&
          std::memcmp(f->ping.opaque_data, kShutdownPing, 8) == 0) {
        im.final_goaway = true;
        nghttp2_submit_goaway(im.s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(im.s),
                              NGHTTP2_NO_ERROR, nullptr, 0);
      }
      return 0;
    default:
      return 0;
  }
}

int Session::Impl::on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int lib_error, void* self) {
  auto& im = *static_cast<Impl*>(self);
  if (f->hd.type == NGHTTP2_HEADERS && !im.find(f->hd.stream_id) &&
      (lib_error == NGHTTP2_ERR_REFUSED_STREAM ||
       (lib_error == NGHTTP2_ERR_PROTO && im.streams.size() >= im.limits.max_concurrent_streams))) {
    if (!im.guard.refused_stream(im.now)) {
      im.fail(GoawayReason::too_many_streams);
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }
  return 0;
}

int Session::Impl::on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                                 void* self) {
  auto& im = *static_cast<Impl*>(self);
  Stream* st = im.find(id);
  if (!st || !st->reported || st->owner_reset) {
    // Nobody takes these bytes (a refused or answered request): give the
    // window back at once, or the connection would shrink for good.
    nghttp2_session_consume(im.s, id, len);
    return 0;
  }
  st->unconsumed += len;
  im.events.on_request_data(id, *im.feeding, reinterpret_cast<const char*>(data), len);
  return 0;
}

// ---- sending ----

int Session::Impl::on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* self) {
  auto& im = *static_cast<Impl*>(self);
  Stream* st = f->hd.stream_id ? im.find(f->hd.stream_id) : nullptr;
  switch (f->hd.type) {
    case NGHTTP2_DATA:
      im.guard.data_frame_sent();
      [[fallthrough]];
    case NGHTTP2_HEADERS:
      if (st && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        st->response_complete = true;
        // We answered a request nobody else saw (400, 431) while its body
        // may still come: RST_STREAM NO_ERROR asks the client to stop
        // (RFC 9113 §8.1), as the response is complete.
        if (!st->reported && !st->owner_reset && !nghttp2_session_get_stream_remote_close(im.s, f->hd.stream_id)) {
          st->owner_reset = true;
          nghttp2_submit_rst_stream(im.s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
        }
      }
      break;
    case NGHTTP2_RST_STREAM:
      // A stream reset for a malformed request is one more stream opened and
      // thrown away (the "MadeYouReset" variant of rapid reset).
      if (st && !st->owner_reset && f->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR &&
          !im.guard.early_reset(im.now))
        im.fail(GoawayReason::rapid_reset);
      break;
    case NGHTTP2_GOAWAY: {
      const std::string_view debug(reinterpret_cast<const char*>(f->goaway.opaque_data), f->goaway.opaque_data_len);
      if ((im.reason == GoawayReason::none || im.reason == GoawayReason::protocol_error) &&
          debug.find("max concurrent streams exceeded") != std::string_view::npos) {
        // A client that opened streams over a limit it had acknowledged:
        // nghttp2 1.52 ends the connection (RFC 9113 §5.1.2 would allow a
        // stream error; README "HTTP/2" says so).
        im.reason = GoawayReason::too_many_streams;
      } else if (im.reason == GoawayReason::none) {
        // nghttp2 ended the connection itself (a protocol error it found).
        im.reason = f->goaway.error_code == NGHTTP2_FLOW_CONTROL_ERROR ? GoawayReason::flow_control
                                                                       : GoawayReason::protocol_error;
      }
      break;
    }
    default:
      break;
  }
  return 0;
}

int Session::Impl::on_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* self) {
  auto& im = *static_cast<Impl*>(self);
  auto it = im.streams.find(id);
  if (it == im.streams.end()) return 0;
  std::unique_ptr<Stream> st = std::move(it->second);
  im.streams.erase(it);
  im.conn_to_consume += st->unconsumed;
  if (st->reported) im.events.on_stream_closed(id, code);
  give_back(std::move(st));  // with the head the owner saw
  return 0;
}

ssize_t Session::Impl::read_data(nghttp2_session*, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                                 nghttp2_data_source*, void* self) {
  auto& im = *static_cast<Impl*>(self);
  Stream* st = im.find(id);
  if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const size_t n = st->out.read(buf, len);
  if (n && !st->framed) {
    st->framed = true;
    im.framed.push_back(id);
  }
  if (st->out.empty()) {
    if (st->end_queued) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      // The data is out: the trailers end the stream instead of this DATA
      // frame (nghttp2 sends them after it). Should nghttp2 refuse them,
      // this frame ends the stream without.
      if (st->trailers && im.submit_trailers(id, *st->trailers)) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      st->trailers.reset();
    } else if (n == 0) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return ssize_t(n);
}

bool Session::Impl::submit_trailers(int32_t id, const H2Fields& fields) {
  const auto& nv = nv_of(fields);
  return nghttp2_submit_trailer(s, id, nv.data(), nv.size()) == 0;  // nghttp2 copies the fields
}

void Session::Impl::submit_with_body(int32_t id, Stream& s_, const H2Fields& fields, bool end_stream) {
  const auto& nv = nv_of(fields);  // nghttp2 copies the fields
  s_.response_started = true;
  if (end_stream) {
    nghttp2_submit_response(s, id, nv.data(), nv.size(), nullptr);
    return;
  }
  nghttp2_data_provider dp{};
  dp.read_callback = read_data;
  nghttp2_submit_response(s, id, nv.data(), nv.size(), &dp);
}

void Session::Impl::answer_fixed(int32_t id, int status, std::string_view lines, std::string_view body,
                                 bool head_only) {
  Stream* st = find(id);
  if (!st || st->response_started) return;
  H2Fields& fields = scratch_fields();
  fixed_fields(status, lines, body.size(), fields);
  if (head_only || body.empty()) {
    submit_with_body(id, *st, fields, true);
    return;
  }
  st->out.push_copy(body);
  st->end_queued = true;
  submit_with_body(id, *st, fields, false);
}

void Session::Impl::resume(int32_t id, Stream& st) {
  if (st.deferred) {
    st.deferred = false;
    nghttp2_session_resume_data(s, id);
  }
}

// ---- Session ----

Session::Session(SessionEvents& events, const SessionLimits& limits)
    : impl_(std::make_unique<Impl>(*this, events, limits)) {}

Session::~Session() = default;

size_t Session::trim_caches() { return spare_streams.trim() * (sizeof(Stream) + kMaxKeptFieldBytes / 2); }

bool Session::feed(const BlockRef& block, const char* data, size_t len) {
  Impl& im = *impl_;
  if (im.failed()) return false;
  im.now = Clock::now();
  im.feeding = &block;
  const ssize_t rv = nghttp2_session_mem_recv(im.s, reinterpret_cast<const uint8_t*>(data), len);
  im.feeding = nullptr;
  if (rv < 0 && im.reason == GoawayReason::none) {
    switch (rv) {
      case NGHTTP2_ERR_FLOODED: im.fail(GoawayReason::control_flood); break;
      case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: im.fail(GoawayReason::continuation_flood); break;
      case NGHTTP2_ERR_FLOW_CONTROL: im.fail(GoawayReason::flow_control); break;
      default: im.fail(GoawayReason::protocol_error); break;
    }
  } else if (rv < 0 && !im.pending_terminate && !im.failed()) {
    im.fail(GoawayReason::protocol_error);
  }
  if (im.reason == GoawayReason::none && !im.peer_goaway && !nghttp2_session_want_read(im.s)) {
    // nghttp2 queued a GOAWAY for a connection error; on_frame_send
    // refines the reason when it goes out.
    im.reason = GoawayReason::protocol_error;
  }
  im.apply_pending();
  return !im.failed();
}

void Session::Impl::send(const std::function<bool()>& room, const std::function<void(std::string_view)>& put) {
  now = Clock::now();
  while (room()) {
    const uint8_t* p = nullptr;
    const ssize_t n = nghttp2_session_mem_send(s, &p);
    if (n <= 0) break;
    put({reinterpret_cast<const char*>(p), size_t(n)});
    apply_pending();
  }
  apply_pending();
  // Tell the owners of streams whose bytes went out; they may resume their
  // backends (and call us back: the list is taken first).
  std::vector<int32_t> ids;
  ids.swap(framed);
  for (int32_t id : ids)
    if (Stream* st = find(id)) st->framed = false;
  for (int32_t id : ids)
    if (find(id)) events.on_stream_writable(id);
  if (framed.empty()) {  // no nested send refilled it: keep the capacity
    ids.clear();
    framed.swap(ids);
  }
}

void Session::write_to(StreamWriter& out, size_t max_pending) {
  impl_->send([&] { return out.pending() < max_pending; }, [&](std::string_view b) { out.append_copy(b); });
}

void Session::write_to(std::string& out, size_t max_bytes) {
  impl_->send([&] { return out.size() < max_bytes; }, [&](std::string_view b) { out.append(b); });
}

bool Session::wants_write() const { return nghttp2_session_want_write(impl_->s) != 0; }

bool Session::finished() const {
  return !nghttp2_session_want_read(impl_->s) && !nghttp2_session_want_write(impl_->s);
}

GoawayReason Session::reason() const { return impl_->reason; }

void Session::submit_interim(int32_t id, const http::ResponseHead& head) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st || st->response_started || head.status < 100 || head.status > 199 || head.status == 101) return;
  H2Fields& fields = scratch_fields();
  response_fields(head, nullptr, fields);
  const auto& nv = nv_of(fields);  // nghttp2 copies the fields
  nghttp2_submit_headers(im.s, NGHTTP2_FLAG_NONE, id, nullptr, nv.data(), nv.size(), nullptr);
}

void Session::submit_response(int32_t id, const http::ResponseHead& head, const http::HeaderEdits* edits,
                              bool end_stream) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st || st->response_started) return;
  H2Fields& fields = scratch_fields();
  response_fields(head, edits, fields);
  im.submit_with_body(id, *st, fields, end_stream);
}

void Session::submit_fixed(int32_t id, int status, std::string_view fields, std::string_view body,
                           bool head_only) {
  impl_->answer_fixed(id, status, fields, body, head_only);
}

void Session::submit_data(int32_t id, const BlockRef& block, const char* data, size_t len) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st || st->end_queued || !st->response_started || len == 0) return;
  st->out.push_ref(block, data, len);
  im.resume(id, *st);
}

void Session::submit_data_copy(int32_t id, std::string_view bytes) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st || st->end_queued || !st->response_started || bytes.empty()) return;
  st->out.push_copy(bytes);
  im.resume(id, *st);
}

void Session::submit_end(int32_t id, const http::HeaderList* trailers) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st || st->end_queued || !st->response_started) return;
  st->end_queued = true;
  if (trailers) {
    H2Fields& fields = scratch_fields();
    trailer_fields(*trailers, fields);
    if (fields.size() > 0) st->trailers = std::make_unique<H2Fields>(fields);  // sent later: its own copy
  }
  im.resume(id, *st);
}

void Session::reset_stream(int32_t id, uint32_t error_code) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st) return;
  st->owner_reset = true;
  st->out.clear();
  nghttp2_submit_rst_stream(im.s, NGHTTP2_FLAG_NONE, id, error_code);
}

size_t Session::stream_blocks_held(int32_t id) const {
  const Stream* st = impl_->find(id);
  return st ? st->out.blocks() : 0;
}

const http::HeaderList* Session::request_trailers(int32_t id) const {
  const Stream* st = impl_->find(id);
  return st ? &st->request_trailers : nullptr;
}

size_t Session::stream_bytes_queued(int32_t id) const {
  const Stream* st = impl_->find(id);
  return st ? st->out.bytes() : 0;
}

void Session::consume(int32_t id, size_t len) {
  Impl& im = *impl_;
  Stream* st = im.find(id);
  if (!st) return;  // closed: its window went back to the connection then
  len = std::min(len, st->unconsumed);
  if (!len) return;
  st->unconsumed -= len;
  nghttp2_session_consume(im.s, id, len);
}

void Session::shutdown_gracefully() {
  Impl& im = *impl_;
  if (im.failed() || im.final_goaway) return;
  if (!im.shutting_down) {
    im.shutting_down = true;
    im.reason = GoawayReason::graceful;
    nghttp2_submit_shutdown_notice(im.s);
    nghttp2_submit_ping(im.s, NGHTTP2_FLAG_NONE, kShutdownPing);
    return;
  }
  // Asked again (the owner's timer): the client had its round trip.
  im.final_goaway = true;
  nghttp2_submit_goaway(im.s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(im.s), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void Session::terminate(GoawayReason reason) {
  Impl& im = *impl_;
  if (im.failed()) return;
  im.reason = reason;
  nghttp2_session_terminate_session(im.s, goaway_code(reason));
}

size_t Session::open_streams() const { return impl_->streams.size(); }

bool Session::receiving_headers() const { return !impl_->preface_done || impl_->in_header_block; }

}  // namespace lb::http2
