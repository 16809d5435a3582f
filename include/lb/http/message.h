#pragma once
// Parsed heads of HTTP/1.x requests and responses, as the proxy needs them:
// the fields it forwards plus the framing facts it must act on.
#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "lb/http/header_list.h"

namespace lb::http {

struct RequestHead {
  llhttp_method_t method = HTTP_GET;
  std::string url;
  uint8_t major = 1, minor = 1;
  HeaderList headers;
  bool keep_alive = true;       // per version and Connection header
  bool chunked = false;         // Transfer-Encoding: chunked
  std::optional<uint64_t> content_length;
  bool expect_continue = false; // Expect: 100-continue
  bool upgrade = false;         // Connection: upgrade + Upgrade header

  std::string_view method_name() const { return llhttp_method_name(method); }
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
  // RFC 9110 §9.2.2: may be replayed on another backend after a failure.
  bool idempotent() const;
  void clear();
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  uint8_t major = 1, minor = 1;
  HeaderList headers;
  bool keep_alive = true;
  bool chunked = false;
  std::optional<uint64_t> content_length;
  bool no_body = false;  // HEAD request, 1xx, 204, 304

  void clear();
};

}  // namespace lb::http
