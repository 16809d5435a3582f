#include "lb/http/response_parser.h"

#include <charconv>

namespace lb::http {

namespace {
ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }
}  // namespace

const llhttp_settings_t* ResponseParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &ResponseParser::on_message_begin;
    st.on_status = &ResponseParser::on_status;
    st.on_header_field = &ResponseParser::on_header_field;
    st.on_header_field_complete = &ResponseParser::on_header_field_complete;
    st.on_header_value = &ResponseParser::on_header_value;
    st.on_header_value_complete = &ResponseParser::on_header_value_complete;
    st.on_headers_complete = &ResponseParser::on_headers_complete;
    st.on_body = &ResponseParser::on_body;
    st.on_message_complete = &ResponseParser::on_message_complete;
    return st;
  }();
  return &s;
}

ResponseParser::ResponseParser(ResponseEvents& events) : events_(events) {
  llhttp_init(&parser_, HTTP_RESPONSE, settings());
  parser_.data = this;
}

void ResponseParser::expect_response(bool to_head_request) {
  head_request_ = to_head_request;
  started_ = false;
}

ResponseParser::Result ResponseParser::execute(const char* data, size_t len) {
  if (len > 0) started_ = true;
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) return {Status::ok, len};
  const size_t at = size_t(llhttp_get_error_pos(&parser_) - data);
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) return {Status::complete, at};
  return {Status::error, at};
}

ResponseParser::Status ResponseParser::finish() {
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_OK || err == HPE_PAUSED) return started_ ? Status::complete : Status::error;
  return Status::error;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
  ResponseParser& s = self(p);
  s.head_.clear();
  return 0;
}

int ResponseParser::on_status(llhttp_t* p, const char* at, size_t len) {
  self(p).head_.reason.append(at, len);
  return 0;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  self(p).head_.headers.on_name_piece({at, len});
  return 0;
}

int ResponseParser::on_header_field_complete(llhttp_t* p) {
  self(p).head_.headers.on_name_complete();
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  self(p).head_.headers.append_value({at, len});
  return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
  self(p).head_.headers.end_value();
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  ResponseParser& s = self(p);
  ResponseHead& h = s.head_;
  h.status = llhttp_get_status_code(p);
  h.major = llhttp_get_http_major(p);
  h.minor = llhttp_get_http_minor(p);
  h.keep_alive = llhttp_should_keep_alive(p);
  size_t lengths = 0;
  bool te = false;
  for (size_t i = 0; i < h.headers.size(); ++i) {
    const FieldId id = h.headers.id(i);
    if (id == FieldId::content_length) {
      ++lengths;
      uint64_t v = 0;
      std::string_view t = h.headers.value(i);
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) return -1;
      if (h.content_length && *h.content_length != v) return -1;
      h.content_length = v;
    } else if (id == FieldId::transfer_encoding) {
      te = true;
    }
  }
  // A response framed two ways is a smuggling vector: refuse it (502).
  if (te && lengths > 0) return -1;
  h.chunked = te && (p->flags & F_CHUNKED);
  if (te && !h.chunked) h.keep_alive = false;  // close-delimited per RFC 9112 §6.3
  h.no_body = s.head_request_ || (h.status >= 100 && h.status < 200) || h.status == 204 || h.status == 304;
  s.events_.on_response_head(h);
  // 1: tell llhttp no body follows. It knows that for 1xx and 204, but it
  // would read a 304's Content-Length as a body (RFC 9112 §6.3 says none).
  return h.no_body ? 1 : 0;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  self(p).events_.on_response_body(at, len);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  self(p).events_.on_response_complete();
  return HPE_PAUSED;
}

}  // namespace lb::http
