#include "lb/http/header_rewrite.h"

#include "lb/http/request_target.h"

namespace lb::http {

namespace {

constexpr std::string_view kAlwaysHopByHop[] = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
};

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool named_by_connection(std::string_view name, const HeaderList& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!iequals(headers.name(i), "connection")) continue;
    bool found = false;
    for_each_token(headers.value(i), [&](std::string_view tok) {
      if (iequals(tok, name)) found = true;
    });
    if (found) return true;
  }
  return false;
}

}  // namespace

bool is_hop_by_hop(std::string_view name, const HeaderList& headers) {
  for (std::string_view h : kAlwaysHopByHop)
    if (iequals(name, h)) return true;
  return named_by_connection(name, headers);
}

void write_upstream_request_head(const RequestHead& req, const ForwardContext& ctx, std::string& out) {
  const auto absolute = split_absolute_form(req.url);
  out.append(req.method_name());
  out.push_back(' ');
  if (absolute) {
    // RFC 9112 §3.2.2: the target's authority replaces any Host header.
    if (absolute->origin.front() == '?') out.push_back('/');
    out.append(absolute->origin);
  } else {
    out.append(req.url);
  }
  out.append(" HTTP/1.1\r\n");
  if (absolute) append_field(out, "Host", absolute->authority);

  const HeaderList& hs = req.headers;
  bool has_host = absolute.has_value(), has_request_id = false;
  std::string_view first_xff;
  size_t xff_count = 0;
  for (size_t i = 0; i < hs.size(); ++i) {
    std::string_view n = hs.name(i);
    if (is_hop_by_hop(n, hs)) continue;
    if (iequals(n, "x-forwarded-for")) {
      if (xff_count++ == 0) first_xff = hs.value(i);
      continue;
    }
    if (iequals(n, "x-real-ip") || iequals(n, "x-forwarded-proto")) continue;
    if (iequals(n, "host")) {
      if (absolute) continue;
      has_host = true;
    }
    if (iequals(n, "x-request-id")) has_request_id = true;
    append_field(out, n, hs.value(i));
  }
  if (!has_host && !ctx.backend_host.empty()) append_field(out, "Host", ctx.backend_host);
  if (req.chunked) append_field(out, "Transfer-Encoding", "chunked");

  // X-Forwarded-For: every earlier hop, then this client (RFC 7239 order).
  out.append("X-Forwarded-For: ");
  if (xff_count > 0) {
    out.append(first_xff);
    if (xff_count > 1) {
      size_t seen = 0;
      for (size_t i = 0; i < hs.size(); ++i) {
        if (!iequals(hs.name(i), "x-forwarded-for") || seen++ == 0) continue;
        out.append(", ");
        out.append(hs.value(i));
      }
    }
    out.append(", ");
  }
  out.append(ctx.client_ip);
  out.append("\r\n");
  append_field(out, "X-Real-IP", ctx.client_ip);
  append_field(out, "X-Forwarded-Proto", ctx.proto);
  if (!has_request_id && !ctx.request_id.empty()) append_field(out, "X-Request-Id", ctx.request_id);
  out.append("\r\n");
}

BodyFraming choose_client_framing(const RequestHead& req, const ResponseHead& resp) {
  if (resp.no_body) return BodyFraming::none;
  if (resp.content_length && !resp.chunked) return BodyFraming::length;
  if (req.major == 1 && req.minor == 0) return BodyFraming::close;
  return BodyFraming::chunked;
}

void write_client_response_head(const ResponseHead& resp, BodyFraming framing, bool client_http10,
                                bool keep_alive, std::string& out) {
  out.append("HTTP/1.1 ");
  char code[4] = {char('0' + resp.status / 100 % 10), char('0' + resp.status / 10 % 10),
                  char('0' + resp.status % 10), 0};
  out.append(code, 3);
  out.push_back(' ');
  out.append(resp.reason);
  out.append("\r\n");
  const HeaderList& hs = resp.headers;
  for (size_t i = 0; i < hs.size(); ++i) {
    std::string_view n = hs.name(i);
    if (is_hop_by_hop(n, hs)) continue;
    // A length would contradict re-chunking; keep it for HEAD/304 (it
    // describes the representation) and for length framing.
    if (framing == BodyFraming::chunked && iequals(n, "content-length")) continue;
    append_field(out, n, hs.value(i));
  }
  if (framing == BodyFraming::chunked) append_field(out, "Transfer-Encoding", "chunked");
  if (framing == BodyFraming::close || !keep_alive) {
    append_field(out, "Connection", "close");
  } else if (client_http10) {
    append_field(out, "Connection", "keep-alive");
  }
  out.append("\r\n");
}

}  // namespace lb::http
