#include "lb/proxy/request_intake.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "lb/proxy/router.h"

namespace lb::proxy {

uint8_t next_request_id(WorkerContext& worker, char (&out)[40]) {
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = out;
  auto put_hex = [&p](uint64_t v) {
    char tmp[16];
    int n = 0;
    do {
      tmp[n++] = kHex[v & 15];
      v >>= 4;
    } while (v);
    while (n) *p++ = tmp[--n];
  };
  put_hex(worker.id_prefix);
  *p++ = '-';
  put_hex(worker.index);
  *p++ = '-';
  put_hex(++worker.next_request_id);
  return uint8_t(p - out);
}

Intake take_in_request(WorkerContext& worker, const ListenerRuntime& listener, ListenerState& state,
                       const http::RequestHead& head, std::string_view client_address, std::string_view request_id,
                       TimePoint now) {
  Intake in;
  const config::ListenerConfig& lc = *listener.config;
  if (listener.rate_limiter) {
    // Refused requests get 429 with Retry-After in whole seconds, rounded up
    // so that a client which waits as told is admitted.
    const RateLimiter::Verdict v = listener.rate_limiter->admit(client_address, now);
    if (!v.admitted) {
      state.rate_limited.fetch_add(1, std::memory_order_relaxed);
      const auto wait_s = std::max<int64_t>(1, (v.retry_after.count() + 999'999) / 1'000'000);
      const int n = std::snprintf(in.extra_, sizeof in.extra_, "Retry-After: %lld\r\n", static_cast<long long>(wait_s));
      in.extra_len_ = uint8_t(n);
      in.refuse_status = 429;
      in.why = "over the listener's rate_limit";
      return in;
    }
  }
  if (lc.limits.max_body_bytes && head.content_length.value_or(0) > lc.limits.max_body_bytes) {
    in.refuse_status = 413;
    in.why = "Content-Length over max_body_bytes";
    return in;
  }
  RouteRequest rq;
  rq.host_header = head.headers.find(http::FieldId::host).value_or("");
  rq.target = head.url;
  rq.method = head.method_name();
  rq.headers = &head.headers;
  // The address X-Real-IP names: the one place routing learns who the client is.
  rq.client_address = client_address;
  in.route = route_request(listener, rq);
  if (!in.route) {
    in.refuse_status = 404;
    in.why = "no route matches";
    return in;
  }
  in.route->stats->count_request(worker.index);
  if (in.route->forwards()) in.pool = choose_pool(*in.route, rq, XXH3_64bits(request_id.data(), request_id.size()));
  return in;
}

}  // namespace lb::proxy
