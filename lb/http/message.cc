#include "lb/http/message.h"

namespace lb::http {

bool RequestHead::idempotent() const {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

void RequestHead::clear() {
  method = HTTP_GET;
  url.clear();
  major = minor = 1;
  headers.clear();
  keep_alive = true;
  chunked = false;
  content_length.reset();
  expect_continue = false;
  upgrade = false;
}

void ResponseHead::clear() {
  status = 0;
  reason.clear();
  major = minor = 1;
  headers.clear();
  keep_alive = true;
  chunked = false;
  content_length.reset();
  no_body = false;
}

}  // namespace lb::http
