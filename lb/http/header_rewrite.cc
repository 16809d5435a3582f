#include "lb/http/header_rewrite.h"

#include "lb/http/cookie_header.h"
#include "lb/http/request_target.h"

namespace lb::http {

namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Tokens of the Connection header(s) that name other fields to drop
// ("close", "keep-alive" and "upgrade" name fields dropped anyway).
class ConnectionOptions {
 public:
  explicit ConnectionOptions(const HeaderList& headers) : headers_(headers) {
    for (size_t i = 0; i < headers.size(); ++i) {
      if (headers.id(i) != FieldId::connection) continue;
      for_each_token(headers.value(i), [&](std::string_view tok) {
        if (iequals(tok, "close") || iequals(tok, "keep-alive") || iequals(tok, "upgrade")) return;
        if (count_ < kMaxConnectionOptions) names_[count_++] = tok;
        else overflow_ = true;
      });
    }
  }
  bool names(std::string_view field) const {
    for (size_t i = 0; i < count_; ++i)
      if (iequals(names_[i], field)) return true;
    return overflow_ && names_slowly(field);
  }
  bool empty() const { return count_ == 0; }

 private:
  // More names than the parsers let through: read every token again
  // rather than forward a field the list names.
  bool names_slowly(std::string_view field) const {
    bool found = false;
    for (size_t i = 0; i < headers_.size() && !found; ++i) {
      if (headers_.id(i) != FieldId::connection) continue;
      for_each_token(headers_.value(i), [&](std::string_view tok) { found = found || iequals(tok, field); });
    }
    return found;
  }

  const HeaderList& headers_;
  std::string_view names_[kMaxConnectionOptions];
  size_t count_ = 0;
  bool overflow_ = false;
};

// A Cookie field without lbd's own cookie; left out when nothing else remains.
void append_cookie_field(std::string& out, std::string_view name, std::string_view value, std::string_view strip) {
  const size_t start = out.size();
  out.append(name);
  out.append(": ");
  const size_t value_start = out.size();
  if (append_without_cookie(value, strip, out) > 0 && out.size() == value_start) {
    out.resize(start);
    return;
  }
  out.append("\r\n");
}

bool drop_field(const HeaderList& hs, size_t i, const ConnectionOptions& options) {
  return always_hop_by_hop(hs.id(i)) || (!options.empty() && options.names(hs.name(i)));
}

}  // namespace

bool always_hop_by_hop(FieldId id) {
  switch (id) {
    case FieldId::connection:
    case FieldId::keep_alive:
    case FieldId::proxy_connection:
    case FieldId::te:
    case FieldId::trailer:
    case FieldId::transfer_encoding:
    case FieldId::upgrade:
      return true;
    default:
      return false;
  }
}

size_t count_connection_options(const HeaderList& headers) {
  size_t n = 0;
  for (size_t i = 0; i < headers.size(); ++i)
    if (headers.id(i) == FieldId::connection) for_each_token(headers.value(i), [&](std::string_view) { ++n; });
  return n;
}

bool needs_backend_host(const RequestHead& req) {
  return !split_absolute_form(req.url) && !req.headers.find(FieldId::host);
}

std::string with_backend_host(std::string_view head, std::string_view host) {
  const size_t line_end = head.find("\r\n");
  const size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  std::string out;
  out.reserve(head.size() + host.size() + 8);
  out.append(head.substr(0, at));
  append_field(out, "Host", host);
  out.append(head.substr(at));
  return out;
}

bool is_hop_by_hop(std::string_view name, const HeaderList& headers) {
  return always_hop_by_hop(classify_field(name)) || ConnectionOptions(headers).names(name);
}

void write_upstream_request_head(const RequestHead& req, const ForwardContext& ctx, std::string& out) {
  const auto absolute = split_absolute_form(req.url);
  out.append(req.method_name());
  out.push_back(' ');
  if (!ctx.origin.empty()) {
    out.append(ctx.origin);  // a route's strip_prefix / add_prefix
  } else if (absolute) {
    // RFC 9112 §3.2.2: the target's authority replaces any Host header.
    if (absolute->origin.front() == '?') out.push_back('/');
    out.append(absolute->origin);
  } else {
    out.append(req.url);
  }
  out.append(" HTTP/1.1\r\n");
  const bool host_edited = ctx.edits && ctx.edits->drops("Host");
  if (absolute && !host_edited) append_field(out, "Host", absolute->authority);

  const HeaderList& hs = req.headers;
  const ConnectionOptions options(hs);
  bool has_host = absolute.has_value(), has_request_id = false;
  std::string_view first_xff;
  size_t xff_count = 0;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (drop_field(hs, i, options)) continue;
    if (ctx.edits && ctx.edits->drops(hs.name(i))) continue;
    switch (hs.id(i)) {
      case FieldId::x_forwarded_for:
        if (xff_count++ == 0) first_xff = hs.value(i);
        continue;
      case FieldId::x_real_ip:
      case FieldId::x_forwarded_proto:
        continue;  // lbd sets these itself; a client's value must not pass
      case FieldId::host:
        if (absolute) continue;
        has_host = true;
        break;
      case FieldId::x_request_id:
        has_request_id = true;
        break;
      case FieldId::cookie:
        if (ctx.strip_cookie.empty()) break;
        append_cookie_field(out, hs.name(i), hs.value(i), ctx.strip_cookie);
        continue;
      default:
        break;
    }
    append_field(out, hs.name(i), hs.value(i));
  }
  if (ctx.edits) ctx.edits->append_fields(out);
  has_host = has_host || host_edited;  // a route that sets Host names the host the backend sees
  if (!has_host && !ctx.backend_host.empty()) append_field(out, "Host", ctx.backend_host);
  if (req.chunked) append_field(out, "Transfer-Encoding", "chunked");
  if (!ctx.upgrade.empty()) {  // the one hop-by-hop pair a tunnel needs (lb/http/upgrade.h)
    append_field(out, "Connection", "upgrade");
    append_field(out, "Upgrade", ctx.upgrade);
  }

  // X-Forwarded-For: every earlier hop, then this client (RFC 7239 order).
  out.append("X-Forwarded-For: ");
  if (xff_count > 0) {
    out.append(first_xff);
    if (xff_count > 1) {
      size_t seen = 0;
      for (size_t i = 0; i < hs.size(); ++i) {
        if (hs.id(i) != FieldId::x_forwarded_for || seen++ == 0) continue;
        out.append(", ");
        out.append(hs.value(i));
      }
    }
    out.append(", ");
  }
  out.append(ctx.forwarded_for.empty() ? ctx.client_ip : ctx.forwarded_for);
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
                                bool keep_alive, std::string& out, const HeaderEdits* edits) {
  out.append("HTTP/1.1 ");
  char code[4] = {char('0' + resp.status / 100 % 10), char('0' + resp.status / 10 % 10),
                  char('0' + resp.status % 10), 0};
  out.append(code, 3);
  out.push_back(' ');
  out.append(resp.reason);
  out.append("\r\n");
  const HeaderList& hs = resp.headers;
  const ConnectionOptions options(hs);
  for (size_t i = 0; i < hs.size(); ++i) {
    if (drop_field(hs, i, options)) continue;
    // A length would contradict re-chunking; keep it for HEAD/304 (it
    // describes the representation) and for length framing.
    if (framing == BodyFraming::chunked && hs.id(i) == FieldId::content_length) continue;
    if (edits && edits->drops(hs.name(i))) continue;
    append_field(out, hs.name(i), hs.value(i));
  }
  if (edits) edits->append_fields(out);
  if (framing == BodyFraming::chunked) append_field(out, "Transfer-Encoding", "chunked");
  if (framing == BodyFraming::close || !keep_alive) {
    append_field(out, "Connection", "close");
  } else if (client_http10) {
    append_field(out, "Connection", "keep-alive");
  }
  out.append("\r\n");
}

}  // namespace lb::http
