#pragma once
// One HTTP/2 server connection's protocol state (RFC 9113), without I/O:
// nghttp2 does the framing and HPACK; lbd feeds it the plaintext the client
// sent (feed) and takes the frames to send (write_to). Requests come out as
// http::RequestHead so the rest of lbd never sees HTTP/2 (DESIGN.md §2
// "one exchange, two protocols"); responses go in per stream.
//
// Flow control is back-pressure, never buffering:
//   request bodies  no WINDOW_UPDATE goes out for a stream's DATA until the
//                   owner says the bytes were taken (consume), so a backend
//                   that reads slowly holds the client back by its window;
//   response bodies each stream's queued bytes are counted in read Blocks
//                   held (stream_blocks_held); the owner stops reading the
//                   backend above its high-water mark and resumes on
//                   on_stream_writable. A client that never opens its window
//                   therefore pins at most that much per stream.
//
// Attacks end the connection with GOAWAY and a reason the owner counts
// (lbd_http2_goaway_total{reason}); see GoawayReason.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lb/core/block.h"
#include "lb/http/header_edits.h"
#include "lb/http/message.h"

namespace lb {
class StreamWriter;
}

namespace lb::http2 {

struct SessionLimits {
  uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t initial_window = 256 * 1024;   // SETTINGS_INITIAL_WINDOW_SIZE for request bodies
  size_t max_header_list_bytes = 64 * 1024;  // listener limits.max_header_bytes
};

// Why the connection ended (or is ending); names are metric label values.
enum class GoawayReason {
  none,
  graceful,            // lbd stops or reloads: last stream id announced, in-flight streams finish
  protocol_error,      // malformed frames, bad preface, HPACK errors, ...
  flow_control,        // window overflow and the like
  rapid_reset,         // CVE-2023-44487: streams opened and reset faster than a client can need
  continuation_flood,  // a header block spread over too many CONTINUATION frames
  control_flood,       // SETTINGS / PING / PRIORITY / WINDOW_UPDATE beyond any real client's need
  empty_frames,        // DATA/HEADERS frames with nothing in them, over and over
  header_list_too_large,
  too_many_streams,    // streams opened over max_concurrent_streams, again and again
  idle_timeout,        // the owner's: no stream for timeouts.idle
  header_timeout,      // the owner's: preface or a header block not complete within timeouts.header
  send_timeout,        // the owner's: the client took no bytes for timeouts.send
};
const char* goaway_reason_name(GoawayReason r);
inline constexpr size_t kGoawayReasons = size_t(GoawayReason::send_timeout) + 1;

// What the session reports to its owner. Stream ids are the client's.
class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  // A request head is complete and valid: pseudo-headers checked,
  // :authority turned into Host, cookies joined, connection-specific fields
  // refused (a malformed request is reset with PROTOCOL_ERROR and never
  // reported). `head` lives until on_stream_closed(id). The body follows
  // unless `end_stream`; head.content_length is set when the client sent
  // content-length, else head.chunked is true for a request with a body.
  virtual void on_request(int32_t id, http::RequestHead& head, bool end_stream) = 0;
  // Request body bytes, inside the Block being fed (see feed).
  virtual void on_request_data(int32_t id, const BlockRef& block, const char* data, size_t len) = 0;
  // END_STREAM; a trailer section, if any, is in request_trailers(id).
  // Not called after on_request(..., end_stream=true): there was no body.
  virtual void on_request_end(int32_t id) = 0;
  // The stream is gone (client RST_STREAM, our reset, or both sides done).
  // `error_code` 0 = ended normally. No more calls for `id` follow.
  virtual void on_stream_closed(int32_t id, uint32_t error_code) = 0;
  // Queued response bytes of `id` went out (or its window opened): the
  // owner may read the backend again if it had paused.
  virtual void on_stream_writable(int32_t id) = 0;
};

class Session {
 public:
  Session(SessionEvents& events, const SessionLimits& limits);
  ~Session();
  Session(const Session&) = delete;
  // Frees the closed streams this thread kept for reuse and left unused
  // since the previous call (FreeList::trim); returns about how many bytes
  // (Worker::trim_caches).
  static size_t trim_caches();
  Session& operator=(const Session&) = delete;

  // Bytes from the client (the preface included), inside `block`. Returns
  // false when the connection must end: a GOAWAY is queued (write_to it,
  // then close); reason() says why. A connection error nghttp2 finds by
  // itself (a frame on the wrong stream, a window overflow) shows a step
  // later: feed returns true, the GOAWAY goes out in write_to, which sets
  // reason() and makes finished() true. So the owner checks finished()
  // after each write_to, as it must for a graceful end anyway.
  bool feed(const BlockRef& block, const char* data, size_t len);

  // Appends the frames ready to go to `out`, while out.pending() stays
  // below `max_pending` (the connection's own back-pressure).
  void write_to(StreamWriter& out, size_t max_pending);
  // The same into a string, while it is shorter than `max_bytes` (tests,
  // the fuzz target, an owner that encodes the bytes itself).
  void write_to(std::string& out, size_t max_bytes);
  // True while frames wait to be written (write_to has more to give).
  bool wants_write() const;
  // True once the session has ended: GOAWAY sent after an error, or
  // graceful and no stream left. The owner closes after flushing.
  bool finished() const;
  GoawayReason reason() const;

  // Responses. `head.headers` are the backend's fields: hop-by-hop ones are
  // dropped, names lower-cased, `edits` applied (as for HTTP/1.1), then
  // `extra_name: extra_value` pairs (Set-Cookie of sticky sessions) added.
  void submit_interim(int32_t id, const http::ResponseHead& head);
  void submit_response(int32_t id, const http::ResponseHead& head, const http::HeaderEdits* edits, bool end_stream);
  // A response of lbd's own (errors, redirects, fixed answers): `fields` are
  // "name: value\r\n" lines as error_response writes them (may be empty).
  void submit_fixed(int32_t id, int status, std::string_view fields, std::string_view body, bool head_only);
  // Queued until the client's window lets DATA frames take them. The
  // session never refuses bytes here: what bounds a stream's queue is the
  // owner, who stops reading the backend above its high-water mark of
  // stream_blocks_held (see the top of this file). Ignored before a
  // response was submitted and after submit_end or reset_stream.
  void submit_data(int32_t id, const BlockRef& block, const char* data, size_t len);  // holds the Block
  void submit_data_copy(int32_t id, std::string_view bytes);
  // END_STREAM once the queued data is out: on the last DATA frame, or on a
  // HEADERS frame of `trailers` (their forwardable fields, as
  // response_fields.h's trailer_fields makes them) when any remain.
  void submit_end(int32_t id, const http::HeaderList* trailers = nullptr);
  void reset_stream(int32_t id, uint32_t error_code);
  // Read Blocks (and copies, counted as Blocks) queued for `id` and not yet framed.
  size_t stream_blocks_held(int32_t id) const;
  size_t stream_bytes_queued(int32_t id) const;
  // The request trailer section of `id` (empty when none; null for an
  // unknown stream), complete once on_request_end(id) was called.
  const http::HeaderList* request_trailers(int32_t id) const;
  // `len` request body bytes of `id` were taken by the backend: open the
  // stream's and the connection's windows by that much.
  void consume(int32_t id, size_t len);

  // Graceful end: GOAWAY with the last stream id; no new stream is
  // accepted, those in flight finish, then finished() turns true.
  // First a shutdown notice (GOAWAY with the largest id) and a PING go out;
  // the final GOAWAY follows the PING's ACK, so streams the client sent
  // before it saw the notice are still served (RFC 9113 §6.8). Called
  // again (the owner's timer, for a client that never acks), the final
  // GOAWAY goes at once.
  void shutdown_gracefully();
  // Ends now with GOAWAY `reason` (timeouts are the owner's to detect);
  // the code is NO_ERROR for the timeouts and graceful, PROTOCOL_ERROR,
  // FLOW_CONTROL_ERROR for those, ENHANCE_YOUR_CALM for the floods.
  void terminate(GoawayReason reason);

  size_t open_streams() const;
  // True while a header block has begun and not ended (header timeout).
  bool receiving_headers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::http2
