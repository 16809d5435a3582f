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

void RequestHeadBuilder::add_pseudo(std::string_view name, std::string_view value) {
  auto once = [this](bool& seen) {
    if (seen) malformed_ = true;
    seen = true;
  };
  if (regular_seen_) malformed_ = true;  // RFC 9113 §8.3: pseudo-fields come first
  if (name == ":method") {
    once(have_method_);
    method_.assign(value);
  } else if (name == ":path") {
    once(have_path_);
    head_.url.assign(value);
  } else if (name == ":scheme") {
    once(have_scheme_);
  } else if (name == ":authority") {
    once(have_authority_);
    authority_.assign(value);
  } else {
    malformed_ = true;  // :status, :protocol (no extended CONNECT) or unknown
  }
}

void RequestHeadBuilder::add(std::string_view name, std::string_view value) {
  bytes_ += name.size() + value.size() + 32;
  if (bytes_ > max_bytes_ || malformed_) return;
  if (name.empty() || has_upper(name)) {
    malformed_ = true;
    return;
  }
  if (name.front() == ':') {
    add_pseudo(name, value);
    return;
  }
  regular_seen_ = true;
  const http::FieldId id = http::classify_field(name);
  if (connection_specific(id) || (id == http::FieldId::te && value != "trailers")) {
    malformed_ = true;
    return;
  }
  if (id == http::FieldId::cookie) {
    if (!cookies_.empty()) cookies_.append("; ");
    cookies_.append(value);
    return;
  }
  if (id == http::FieldId::host) {
    ++host_count_;
    host_.assign(value);
    return;
  }
  if (id == http::FieldId::content_length) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || head_.content_length) {
      malformed_ = true;
      return;
    }
    head_.content_length = n;
  }
  if (id == http::FieldId::expect && http::iequals(value, "100-continue")) head_.expect_continue = true;
  head_.headers.add(name, value);
}

RequestHeadBuilder::Verdict RequestHeadBuilder::finish(bool end_stream) {
  if (bytes_ > max_bytes_) return Verdict::too_large;
  if (malformed_ || !have_method_ || host_count_ > 1) return Verdict::malformed;
  if (method_ == "CONNECT") return Verdict::bad_request;  // has no :scheme nor :path (RFC 9113 §8.5)
  if (!have_scheme_) return Verdict::malformed;
  if (!have_path_ || head_.url.empty()) return Verdict::malformed;
  const auto method = method_from_name(method_);
  if (!method) return Verdict::bad_request;
  if (have_authority_ && host_count_ && !http::iequals(authority_, host_)) return Verdict::malformed;
  if (have_authority_ && authority_.empty()) return Verdict::malformed;
  if (!have_authority_ && (!host_count_ || host_.empty())) return Verdict::bad_request;

  head_.method = *method;
  head_.major = 1;
  head_.minor = 1;
  head_.keep_alive = true;
  head_.upgrade = false;
  head_.headers.add("host", have_authority_ ? std::string_view(authority_) : std::string_view(host_));
  if (!cookies_.empty()) head_.headers.add("cookie", cookies_);
  head_.chunked = !end_stream && !head_.content_length;
  return Verdict::ok;
}

}  // namespace lb::http2
