#include "lb/http2/request_head.h"

#include <charconv>
#include <optional>

#include "lb/http/header_list.h"

namespace lb::http2 {
namespace {

std::optional<llhttp_method_t> method_from_name(std::string_view name) {
#define LBD_H2_METHOD(num, id, text) \
  if (name == #text) return HTTP_##id;
  HTTP_METHOD_MAP(LBD_H2_METHOD)
#undef LBD_H2_METHOD
  return std::nullopt;
}

bool has_upper(std::string_view name) {
  for (char c : name)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

bool connection_specific(http::FieldId id) {
  switch (id) {
    case http::FieldId::connection:
    case http::FieldId::keep_alive:
    case http::FieldId::proxy_connection:
    case http::FieldId::transfer_encoding:
    case http::FieldId::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace

void RequestHeadBuilder::restart(size_t max_bytes) {
  max_bytes_ = max_bytes;
  seen_ = {};
  method_.clear();
  authority_.clear();
  host_.clear();
  cookies_.clear();
  head_.clear();
}

void RequestHeadBuilder::add_pseudo(std::string_view name, std::string_view value) {
  auto once = [this](bool& seen) {
    if (seen) seen_.malformed = true;
    seen = true;
  };
  if (seen_.regular) seen_.malformed = true;  // RFC 9113 §8.3: pseudo-fields come first
  if (name == ":method") {
    once(seen_.method);
    method_.assign(value);
  } else if (name == ":path") {
    once(seen_.path);
    head_.url.assign(value);
  } else if (name == ":scheme") {
    once(seen_.scheme);
  } else if (name == ":authority") {
    once(seen_.authority);
    authority_.assign(value);
  } else {
    seen_.malformed = true;  // :status, :protocol (no extended CONNECT) or unknown
  }
}

void RequestHeadBuilder::add(std::string_view name, std::string_view value) {
  seen_.bytes += name.size() + value.size() + 32;
  if (seen_.bytes > max_bytes_ || seen_.malformed) return;
  if (name.empty() || has_upper(name)) {
    seen_.malformed = true;
    return;
  }
  if (name.front() == ':') {
    add_pseudo(name, value);
    return;
  }
  seen_.regular = true;
  const http::FieldId id = http::classify_field(name);
  if (connection_specific(id) || (id == http::FieldId::te && value != "trailers")) {
    seen_.malformed = true;
    return;
  }
  if (id == http::FieldId::cookie) {
    if (!cookies_.empty()) cookies_.append("; ");
    cookies_.append(value);
    return;
  }
  if (id == http::FieldId::host) {
    ++seen_.host_count;
    host_.assign(value);
    return;
  }
  if (id == http::FieldId::content_length) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || head_.content_length) {
      seen_.malformed = true;
      return;
    }
    head_.content_length = n;
  }
  if (id == http::FieldId::expect && http::iequals(value, "100-continue")) head_.expect_continue = true;
  head_.headers.add(name, value);
}

RequestHeadBuilder::Verdict RequestHeadBuilder::finish(bool end_stream) {
  if (seen_.bytes > max_bytes_) return Verdict::too_large;
  if (seen_.malformed || !seen_.method || seen_.host_count > 1) return Verdict::malformed;
  if (method_ == "CONNECT") return Verdict::bad_request;  // has no :scheme nor :path (RFC 9113 §8.5)
  if (!seen_.scheme) return Verdict::malformed;
  if (!seen_.path || head_.url.empty()) return Verdict::malformed;
  const auto method = method_from_name(method_);
  if (!method) return Verdict::bad_request;
  if (seen_.authority && seen_.host_count && !http::iequals(authority_, host_)) return Verdict::malformed;
  if (seen_.authority && authority_.empty()) return Verdict::malformed;
  if (!seen_.authority && (!seen_.host_count || host_.empty())) return Verdict::bad_request;

  head_.method = *method;
  head_.major = 1;
  head_.minor = 1;
  head_.keep_alive = true;
  head_.upgrade = false;
  head_.headers.add("host", seen_.authority ? std::string_view(authority_) : std::string_view(host_));
  if (!cookies_.empty()) head_.headers.add("cookie", cookies_);
  head_.chunked = !end_stream && !head_.content_length;
  return Verdict::ok;
}

}  // namespace lb::http2
