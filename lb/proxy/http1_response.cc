#include "lb/proxy/http1_response.h"

#include <cstdio>

#include "lb/http/error_response.h"
#include "lb/http/fixed_response.h"
#include "lb/http/trailer_fields.h"
#include "lb/http/upgrade.h"

namespace lb::proxy {

void Http1Response::start(const http::RequestHead& request) {
  request_ = &request;
  framing_ = http::BodyFraming::none;
  keep_alive_ = false;
  head_mark_ = 0;
  flushed_at_head_ = 0;
}

void Http1Response::interim(const http::ResponseHead& head) {
  if (head.status == 100 || head.status == 101 || request_->minor < 1) return;
  scratch_.clear();
  http::write_client_response_head(head, http::BodyFraming::none, false, true, scratch_);
  writer_.append_copy(scratch_);
}

bool Http1Response::head(const http::ResponseHead& head, const http::HeaderEdits* edits, bool draining) {
  head_mark_ = writer_.gathered();
  flushed_at_head_ = writer_.flushed();
  framing_ = http::choose_client_framing(*request_, head);
  keep_alive_ = request_->keep_alive && !draining && framing_ != http::BodyFraming::close;
  scratch_.clear();
  http::write_client_response_head(head, framing_, request_->minor == 0, keep_alive_, scratch_, edits);
  writer_.append_copy(scratch_);
  return framing_ == http::BodyFraming::chunked || framing_ == http::BodyFraming::close;
}

void Http1Response::body(const BlockRef& block, const char* data, size_t len) {
  if (framing_ == http::BodyFraming::chunked) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    writer_.append_copy({size_line, size_t(n)});
    writer_.append_ref(block, data, len);
    writer_.append_copy("\r\n");
  } else if (framing_ != http::BodyFraming::none) {
    writer_.append_ref(block, data, len);
  }
}

void Http1Response::own(std::string_view bytes) {
  if (framing_ == http::BodyFraming::chunked) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", bytes.size());
    writer_.append_copy({size_line, size_t(n)});
    writer_.append_copy(bytes);
    writer_.append_copy("\r\n");
  } else if (framing_ != http::BodyFraming::none) {
    writer_.append_copy(bytes);
  }
}

void Http1Response::end(bool then_close, const http::HeaderList* trailers) {
  if (framing_ == http::BodyFraming::chunked) {
    scratch_.clear();
    http::append_last_chunk(trailers, scratch_);
    writer_.append_copy(scratch_);
  }
  if (then_close) keep_alive_ = false;
}

bool Http1Response::take_back_head() {
  if (writer_.flushed() != flushed_at_head_) return false;
  writer_.rollback(head_mark_);
  framing_ = http::BodyFraming::none;
  keep_alive_ = false;
  return true;
}

void Http1Response::error(int status, std::string_view extra_headers, bool request_read, bool draining) {
  // Keep the client if the request is (or will be) read to its end.
  keep_alive_ = request_->keep_alive && request_read && !draining;
  scratch_.clear();
  http::append_error_response(status, !keep_alive_, scratch_, extra_headers, request_->method == HTTP_HEAD);
  writer_.append_copy(scratch_);
}

void Http1Response::fixed(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers, bool request_read, bool draining) {
  keep_alive_ = request_->keep_alive && request_read && !draining;
  scratch_.clear();
  http::append_fixed_response(status, content_type, body, extra_headers, !keep_alive_, request_->method == HTTP_HEAD,
                              scratch_);
  writer_.append_copy(scratch_);
}

void Http1Response::switching_protocols(const http::ResponseHead& head) {
  scratch_.clear();
  http::write_switching_protocols_head(head, scratch_);
  writer_.append_copy(scratch_);
}

}  // namespace lb::proxy
