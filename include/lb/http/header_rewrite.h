#pragma once
// The one place where heads are rewritten on their way through lbd
// (DESIGN.md §2): hop-by-hop fields are dropped (RFC 9110 §7.6.1), the
// X-Forwarded-* family is set, and the framing is re-declared for the next
// hop, so whatever framing the sender used, the receiver sees exactly one.
#include <cstddef>
#include <string>
#include <string_view>

#include "lb/http/header_edits.h"
#include "lb/http/message.h"

namespace lb::http {

struct ForwardContext {
  std::string_view client_ip;     // the true client (X-Real-IP)
  std::string_view forwarded_for; // appended to X-Forwarded-For: this hop's peer ("" = client_ip)
  std::string_view proto;         // "http" | "https"
  std::string_view backend_host;  // Host when an HTTP/1.0 client sent none ("" = see needs_backend_host)
  std::string_view request_id;    // X-Request-Id to add when the client sent none ("" = none)
  std::string_view strip_cookie;  // a cookie of lbd's own (sticky sessions) the backend must not see
  std::string_view upgrade;       // Upgrade value to pass on with Connection: upgrade ("" = none)
  std::string_view origin;        // the origin-form target to send instead of the client's ("" = as received)
  const HeaderEdits* edits = nullptr;  // a route's request_headers
};

// Appends the upstream request head (HTTP/1.1, keep-alive) to `out`.
void write_upstream_request_head(const RequestHead& req, const ForwardContext& ctx, std::string& out);

// True when `req` names no host (HTTP/1.0 without Host, origin form), so a
// head written with an empty ctx.backend_host has no Host: HTTP/1.1 requires
// one, and it depends on the backend picked. with_backend_host() adds it.
bool needs_backend_host(const RequestHead& req);
// `head` (from write_upstream_request_head) with "Host: <host>" after its
// request line.
std::string with_backend_host(std::string_view head, std::string_view host);

// The most tokens a message's Connection fields may hold. Every field they
// name is dropped on forwarding (RFC 9110 §7.6.1); the parsers refuse a
// message with more (a request gets 400, a response is invalid: 502) rather
// than let anything it names through.
constexpr size_t kMaxConnectionOptions = 32;
// The number of tokens in the Connection fields of `headers`.
size_t count_connection_options(const HeaderList& headers);

// How the response body travels to the client.
enum class BodyFraming {
  none,     // no body (HEAD, 1xx, 204, 304)
  length,   // Content-Length as the backend sent it
  chunked,  // re-chunked (backend sent chunked or close-delimited)
  close,    // close-delimited (HTTP/1.0 client, no length known)
};

BodyFraming choose_client_framing(const RequestHead& req, const ResponseHead& resp);

// Appends the client response head to `out`. `keep_alive` decides the
// Connection field for the client's HTTP version.
// `edits`: a route's response_headers (not for interim responses).
void write_client_response_head(const ResponseHead& resp, BodyFraming framing, bool client_http10,
                                 bool keep_alive, std::string& out, const HeaderEdits* edits = nullptr);

// Fields that are hop-by-hop whatever the Connection header lists
// (RFC 9110 §7.6.1, plus Keep-Alive, Proxy-Connection and framing).
bool always_hop_by_hop(FieldId id);

// True for fields that must not be forwarded (RFC 9110 §7.6.1), given the
// message's Connection header value(s).
bool is_hop_by_hop(std::string_view name, const HeaderList& headers);

}  // namespace lb::http
