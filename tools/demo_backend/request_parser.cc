#include "request_parser.h"

#include <strings.h>

namespace demo {

RequestParser::RequestParser() {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = on_message_begin;
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_header_value_complete = on_header_value_complete;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

RequestParser::Result RequestParser::feed(std::string_view data) {
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  paused_for_ = Event::need_more;
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  if (err == HPE_OK) return {Event::need_more, data.size()};
  size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data.data());
  // We pause only in our own callbacks; an Upgrade/CONNECT request also ends
  // in a pause, and is answered like any other (keep_alive is false for it).
  if ((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && paused_for_ != Event::need_more)
    return {paused_for_, consumed};
  return {Event::error, consumed, head_too_large_ ? 431 : 400};
}

int RequestParser::append_head(std::string& to, const char* at, size_t len) {
  head_bytes_ += len;
  if (head_bytes_ > kMaxHeadBytes) {
    head_too_large_ = true;
    return HPE_USER;
  }
  to.append(at, len);
  return HPE_OK;
}

bool RequestParser::expects_continue() const {
  if (request_.version_major != 1 || request_.version_minor != 1) return false;
  bool has_body = (parser_.flags & F_CHUNKED) || parser_.content_length > 0;
  if (!has_body) return false;
  for (const auto& [name, value] : request_.headers)
    if (strcasecmp(name.c_str(), "expect") == 0 && strcasecmp(value.c_str(), "100-continue") == 0) return true;
  return false;
}

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser& s = self(p);
  s.request_ = Request{};
  s.head_bytes_ = 0;
  return HPE_OK;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  return self(p).append_head(self(p).request_.target, at, len);
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  return self(p).append_head(self(p).field_, at, len);
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  return self(p).append_head(self(p).value_, at, len);
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  // llhttp drops the leading whitespace; the trailing is not part of the
  // value either (RFC 9110 §5.5).
  while (!s.value_.empty() && (s.value_.back() == ' ' || s.value_.back() == '\t')) s.value_.pop_back();
  s.request_.headers.emplace_back(std::move(s.field_), std::move(s.value_));
  s.field_.clear();
  s.value_.clear();
  return HPE_OK;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  s.request_.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  s.request_.version_major = llhttp_get_http_major(p);
  s.request_.version_minor = llhttp_get_http_minor(p);
  if (!s.expects_continue()) return HPE_OK;
  s.paused_for_ = Event::expect_continue;
  return HPE_PAUSED;
}

int RequestParser::on_body(llhttp_t* p, const char*, size_t len) {
  self(p).request_.body_length += len;
  return HPE_OK;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser& s = self(p);
  s.request_.keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
  s.paused_for_ = Event::request;
  return HPE_PAUSED;
}

}  // namespace demo
