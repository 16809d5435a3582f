#pragma once
// A text/event-stream response on its way to the client (pools'
// `streaming`): which events went by, and so where lbd may add bytes of its
// own — a ": keepalive" comment while the backend is silent (sse_heartbeat),
// a final "event: error" when the backend cuts the stream or lbd must end it
// (on_stream_error: event, shutdown) — and the time between events
// (lbd_stream_event_gap_seconds, the inter-token latency users feel).
// The Exchange owns it and does the writing; this holds no socket or timer.
#include <optional>
#include <string>
#include <string_view>

#include "lb/core/time.h"
#include "lb/http/message.h"
#include "lb/http/sse_events.h"

namespace lb::proxy {

class SseStream {
 public:
  // Is this response an event stream (Content-Type text/event-stream)?
  static bool is_event_stream(const http::ResponseHead& head);

  explicit SseStream(TimePoint head_at) : last_event_at_(head_at) {}

  // Body bytes relayed at `now`; returns the gap since the previous event's
  // end (or the head) for each event that ended in them, the last one only.
  std::optional<Duration> on_body(const char* data, size_t len, TimePoint now);

  // May lbd add bytes now without landing inside an event?
  bool at_boundary() const { return events_.at_boundary(); }

  static constexpr std::string_view kHeartbeat = ": keepalive\n\n";
  // The bytes that end the stream cleanly with an "event: error" carrying
  // `reason` (a short machine-readable word) and, when `retry_ms` > 0, a
  // `retry:` that tells the client's EventSource to reconnect that soon. If
  // the backend stopped inside an event, what came of it is ended first
  // (a client keeps the part it got; nothing of the error mixes into it).
  std::string closing_event(std::string_view reason, int retry_ms) const;

 private:
  http::SseEvents events_;
  TimePoint last_event_at_;
  bool line_open_ = false;  // bytes since the last line ending
};

}  // namespace lb::proxy
