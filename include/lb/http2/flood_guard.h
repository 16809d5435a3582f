#pragma once
// The budgets that tell an abusive HTTP/2 client from a busy one. Each is a
// token bucket: `burst` frames at once, refilled at `rate` per second, and
// some refilled by real work too, so a client that does what clients do
// (requests, downloads) never runs dry, while one that sends frames whose
// only effect is to make us work ends with GOAWAY ENHANCE_YOUR_CALM.
//
//   early resets   streams the client resets (RST_STREAM) before their
//                  response was complete, plus streams we reset because the
//                  request was malformed: the "rapid reset" attack
//                  (CVE-2023-44487) opens a stream, makes the proxy start a
//                  backend request, and cancels it at once, so the
//                  concurrency limit never bites. Burst: twice
//                  max_concurrent_streams (a browser leaving a page cancels
//                  everything it has open), refill 50/s. Failure mode: a
//                  client cancelling more than 50 streams a second for long
//                  loses its connection (GoawayReason::rapid_reset).
//   control        SETTINGS, PING, PRIORITY and WINDOW_UPDATE frames. Each is
//                  cheap, but each costs a wake-up and SETTINGS/PING an ack.
//                  Burst 1000, refill 100/s, plus 2 per DATA frame we send
//                  (the client's WINDOW_UPDATEs for stream and connection)
//                  and 8 per request (PRIORITY and the like). Failure mode:
//                  a client pinging 100 times a second without requests
//                  (control_flood). nghttp2's own cap on unsent ACKs
//                  (max_outbound_ack) ends a client that does not read them.
//   empty frames   DATA without payload or END_STREAM and header fragments
//                  without bytes: legal, useless, free to send, each costs us
//                  a frame's processing. Burst 100, refill 10/s (empty_frames).
//   refused        HEADERS for streams over max_concurrent_streams, which
//                  nghttp2 refuses with RST_STREAM: a client ignoring our
//                  SETTINGS. Burst 100, refill 10/s (too_many_streams).
// Header blocks are bounded elsewhere (session.cc): at most
// continuation_limit() CONTINUATION frames per block (continuation_flood)
// and twice max_header_list_bytes decoded (header_list_too_large).
#include <cstddef>
#include <cstdint>

#include "lb/core/time.h"

namespace lb::http2 {

class TokenBucket {
 public:
  TokenBucket(double burst, double rate_per_s) : burst_(burst), rate_(rate_per_s), tokens_(burst) {}
  // Takes one token; false when none is left (the budget is spent).
  bool take(TimePoint now);
  // Gives back `n` tokens for work done (capped at the burst).
  void credit(double n);
  double tokens() const { return tokens_; }

 private:
  void refill(TimePoint now);
  double burst_, rate_, tokens_;
  TimePoint last_{};
  bool started_ = false;
};

class FloodGuard {
 public:
  explicit FloodGuard(uint32_t max_concurrent_streams);

  bool early_reset(TimePoint now) { return early_resets_.take(now); }
  bool control_frame(TimePoint now) { return control_.take(now); }
  bool empty_frame(TimePoint now) { return empty_.take(now); }
  bool refused_stream(TimePoint now) { return refused_.take(now); }
  // Real work, which earns control frames back.
  void data_frame_sent() { control_.credit(2); }
  void request_opened() { control_.credit(8); }

 private:
  TokenBucket early_resets_;
  TokenBucket control_;
  TokenBucket empty_;
  TokenBucket refused_;
};

// CONTINUATION frames one header block may use: a block of the largest
// header list we accept, in 16 KiB frames, twice over, and never fewer than 8.
size_t continuation_limit(size_t max_header_list_bytes);

}  // namespace lb::http2
