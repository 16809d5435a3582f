// The sticky cookie, as a client can send it. The input is tried three
// ways under a fixed key: as a cookie value (StickyCookieCodec::decode), as
// a whole Cookie header (StickyAffinity::find_pin, which a request does
// before balancing), and through the request head rewrite, which must strip
// lbd's cookie before the backend sees it. What must hold:
//  - only a cookie lbd could have issued decodes (valid or expired), and it
//    is the one text encode() gives for its claim (no second spelling);
//  - a pin names a backend of the pool, with a claim that is still valid;
//  - no cookie of that name survives the rewrite.
// A claim taken from the input is also encoded and decoded back.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "lb/http/cookie_header.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/message.h"
#include "lb/session/sticky_affinity.h"
#include "lb/session/sticky_cookie.h"

namespace {

using namespace lb;

constexpr int64_t kNow = 1'800'000'000;
const std::string kKey(32, 'k');
constexpr std::string_view kCookieName = "LB";

config::StickyCookie cookie_config() {
  config::StickyCookie c;
  c.name = std::string(kCookieName);
  c.ttl = std::chrono::minutes(30);
  c.key = kKey;
  return c;
}

balance::BackendList backends() {
  balance::BackendList out;
  uint16_t port = 9001;
  for (const char* n : {"app1", "app2", "app3"})
    out.push_back(std::make_shared<balance::Backend>(n, config::Address{"127.0.0.1", port++, ""}, 1));
  return out;
}

uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const session::StickyCookieCodec codec(kKey);
  static const balance::BackendList list = backends();
  static const session::StickyAffinity sticky(cookie_config(), "app", list);
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. The input as a cookie value.
  const session::CookieVerdict v = codec.decode(input, kNow);
  if (v.check == session::CookieCheck::valid || v.check == session::CookieCheck::expired) {
    FUZZ_CHECK(input.size() == session::StickyCookieCodec::kEncodedSize);
    FUZZ_CHECK(codec.encode(v.claim) == input);
    FUZZ_CHECK((v.check == session::CookieCheck::valid) == (kNow < v.claim.expires));
  }

  // 2. A claim from the input survives encode and decode.
  if (size >= 16) {
    session::StickyClaim claim;
    claim.backend_id = be64(data);
    claim.expires = int64_t(be64(data + 8));
    const std::string text = codec.encode(claim);
    FUZZ_CHECK(text.size() == session::StickyCookieCodec::kEncodedSize);
    const session::CookieVerdict back = codec.decode(text, kNow);
    FUZZ_CHECK(back.check == (kNow < claim.expires ? session::CookieCheck::valid : session::CookieCheck::expired));
    FUZZ_CHECK(back.claim.backend_id == claim.backend_id && back.claim.expires == claim.expires);
    // Under another key it is a forgery.
    static const session::StickyCookieCodec other(std::string(32, 'o'));
    FUZZ_CHECK(other.decode(text, kNow).check == session::CookieCheck::forged);
  }

  // 3. The input as a Cookie header of a request to a sticky pool: only
  // what the request parser lets through as a field value.
  if (input.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return 0;
  http::RequestHead head;
  head.url = "/";
  head.headers.add("Host", "fuzz.example");
  head.headers.add("Cookie", input);
  if (const auto pin = sticky.find_pin(head.headers, kNow)) {
    FUZZ_CHECK(pin->backend_index < list.size());
    FUZZ_CHECK(pin->expires > kNow);
  }

  // 4. The backend never sees lbd's cookie.
  http::ForwardContext ctx;
  ctx.client_ip = "192.0.2.1";
  ctx.proto = "http";
  ctx.strip_cookie = kCookieName;
  std::string upstream;
  http::write_upstream_request_head(head, ctx, upstream);
  size_t from = 0;
  while ((from = upstream.find("\r\nCookie:", from)) != std::string::npos) {
    from += 9;
    const size_t end = upstream.find("\r\n", from);
    FUZZ_CHECK(end != std::string::npos);
    http::for_each_cookie_named(std::string_view(upstream).substr(from, end - from), kCookieName,
                                [](std::string_view) { FUZZ_CHECK(!"lbd's sticky cookie forwarded to a backend"); });
  }
  return 0;
}
