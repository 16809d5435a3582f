#pragma once
// What every request goes through between its head and its Exchange,
// whichever protocol brought it (an HTTP/1.1 connection or an HTTP/2
// stream): an id, the listener's rate limit, the body limit, then the route
// and the pool.
#include <cstdint>
#include <string_view>

#include "lb/core/time.h"
#include "lb/http/message.h"
#include "lb/proxy/snapshot.h"
#include "lb/proxy/worker_context.h"

namespace lb::proxy {

// "<process prefix>-<worker>-<sequence>", in hex: unique per lbd run and
// cheap (no formatting library on the request path). Returns its length.
uint8_t next_request_id(WorkerContext& worker, char (&out)[40]);

struct Intake {
  // Non-zero: lbd answers this itself (`why` for the log, `extra_headers`
  // such as Retry-After) and the request goes no further.
  int refuse_status = 0;
  const char* why = "";
  std::string_view extra_headers() const { return {extra_, extra_len_}; }
  // Else: the route it matched and the pool that route sends it to.
  const CompiledRoute* route = nullptr;
  size_t pool = 0;

  char extra_[40] = {};
  uint8_t extra_len_ = 0;
};

// `client_address`: the request's true client (4 or 16 bytes).
Intake take_in_request(WorkerContext& worker, const ListenerRuntime& listener, ListenerState& state,
                       const http::RequestHead& head, std::string_view client_address, std::string_view request_id,
                       TimePoint now);

}  // namespace lb::proxy
