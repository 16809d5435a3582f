#pragma once
// The endpoints: maps a request to its response. Pure apart from the health
// toggle; all I/O (delays, streaming, framing) belongs to the connection.
//
//   /                   200 "NAME\n" (also any path not listed here)
//   /echo               200 JSON: backend, method, path (the request-target
//                       as received, query included), version, headers (a
//                       list of [name, value] in arrival order), body_length
//   /healthz            200 "ok", or 503 "unhealthy" after /admin/health/fail
//   /admin/health/fail  make /healthz fail; /admin/health/ok restores it
//   /delay?ms=N         answer after N ms (default 1000)
//   /bytes?n=N          N bytes of 'x' with Content-Length (default 1024)
//   /chunked?n=N&size=S&interval_ms=I   N chunks of S bytes, I ms apart
//   /sse?n=N&interval_ms=I              N events "data: NAME i\n\n", I ms apart
//   /status/CODE        answers with status CODE (200..599)
//   /session            counts the visits of the caller's session (cookie
//                       demo_sid_memory or demo_sid_redis after the store,
//                       issued when absent or unknown to the store): JSON
//                       backend, store (memory | redis), session, visits, new
//   /ws?close_after=N   WebSocket echo (websocket.h); the server closes after
//                       N data frames if N > 0. Without a handshake: 426
//   /metrics            Prometheus text: demo:num_requests_waiting (the queue),
//                       demo:num_requests_running, demo:requests_refused_total
//   /v1/chat/completions?tokens=N&token_interval_ms=I&prefill_ms=P&die_after=K
//                       any method; the body is ignored. Tokens as server-sent
//                       events (chat_stream.h); the flags give the defaults.
//                       Waits for a slot in the queue (slots.h), head first
#include <memory>
#include <string>

#include "request.h"
#include "response.h"
#include "session_store.h"
#include "slots.h"
#include "chat_stream.h"

namespace demo {

// State the endpoints share across connections.
struct AppState {
  std::string name;
  bool healthy = true;
  // Requests being answered now (health checks, /load and /metrics
  // excepted), the most seen at once, those refused over --max-concurrent,
  // and the chat requests waiting for their turn.
  Slots slots;
  ChatPlan chat;             // the chat replies' defaults (flags)
  uint64_t chat_serial = 0;  // numbers the chat replies
  std::unique_ptr<SessionStore> sessions;  // set by Server::start
};

Response route(const Request& request, AppState& app);

// Requests that may wait in the queue for a slot rather than get 503.
bool waits_for_slot(const Request& request);
// Requests that take no slot at all (probes and the server's own gauges).
bool takes_no_slot(const Request& request);

}  // namespace demo
