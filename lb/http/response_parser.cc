#include "lb/http/response_parser.h"

#include <charconv>

#include "lb/http/header_rewrite.h"

namespace lb::http {

namespace {
ResponseParser& response_parser_of(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }
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
  final_head_ = false;
}

size_t ResponseParser::release_memory() {
  const size_t bytes = head_.headers.release_memory() + trailers_.release_memory();
  head_.clear();
  std::string().swap(head_.reason);  // a reason phrase is short: rarely on the heap, not counted
  return bytes;
}

void ResponseParser::resume() {
  llhttp_resume(&parser_);
  // As in RequestParser::resume(): llhttp stops again with
  // HPE_PAUSED_UPGRADE after a 101 with Upgrade. A caller that resumes
  // wants HTTP next (after a 101 the connection is a tunnel and never
  // resumes), so step over that stop, which llhttp reaches without input.
  static const char kNothing = 0;
  if (llhttp_execute(&parser_, &kNothing, 0) == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&parser_);
}

ResponseParser::Result ResponseParser::fail(const char* reason, size_t consumed) {
  error_reason_ = reason;
  return {Status::error, consumed};
}

bool ResponseParser::count(const char* end) {
  if (meter_.reach(end)) return true;
  error_reason_ = head_done_ ? "response trailers over 64 KiB" : "response head over 64 KiB";
  return false;
}

ResponseParser::Result ResponseParser::execute(const char* data, size_t len) {
  if (len > 0) started_ = true;
  error_reason_ = nullptr;
  completed_ = false;
  meter_.begin_call(data);
  if (!head_done_) meter_.open(data);  // the head counts from its first byte
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  // A stop left over from an earlier call keeps its old position, which
  // may lie in another buffer: never let it index this one.
  const char* pos = llhttp_get_error_pos(&parser_);
  const size_t at = pos >= data && pos <= data + len ? size_t(pos - data) : 0;
  const bool fits = meter_.end_call(err == HPE_OK ? data + len : data + at);
  switch (err) {
    case HPE_OK:
      // Whitespace and line ends reach no callback: checked here.
      if (!fits) return fail(head_done_ ? "response trailers over 64 KiB" : "response head over 64 KiB", len);
      return {Status::ok, len};
    case HPE_PAUSED:
      // Only on_message_complete pauses, after consuming the message's last
      // byte in this call; `complete` with nothing consumed would make the
      // caller loop forever, so it is an error.
      if (!completed_ || at == 0) return fail("response parser made no progress", at);
      return {Status::complete, at};
    case HPE_PAUSED_UPGRADE:  // resume() steps over it
      return fail("response parser stopped at an upgrade", at);
    default:
      return {Status::error, at};
  }
}

ResponseParser::Status ResponseParser::finish() {
  const llhttp_errno_t err = llhttp_finish(&parser_);
  // Only a final response's head makes the end of input a clean end (of a
  // close-delimited body): bare line ends, or a 1xx, then EOF are no answer.
  if (err == HPE_OK || err == HPE_PAUSED) return final_head_ ? Status::complete : Status::error;
  return Status::error;
}

int ResponseParser::on_message_begin(llhttp_t* p) {
  ResponseParser& s = response_parser_of(p);
  s.head_.clear();
  s.trailers_.clear();
  return 0;
}

int ResponseParser::on_status(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = response_parser_of(p);
  if (!s.count(at + len)) return -1;
  s.head_.reason.append(at, len);
  return 0;
}

// Trailer fields take the same callbacks as header fields and the same
// budget: they go into trailers_ instead of the head.
int ResponseParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = response_parser_of(p);
  if (s.head_done_) s.meter_.open(at);
  if (!s.count(at + len)) return -1;
  (s.head_done_ ? s.trailers_ : s.head_.headers).on_name_piece({at, len});
  return 0;
}

int ResponseParser::on_header_field_complete(llhttp_t* p) {
  ResponseParser& s = response_parser_of(p);
  (s.head_done_ ? s.trailers_ : s.head_.headers).on_name_complete();
  return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  ResponseParser& s = response_parser_of(p);
  if (!s.count(at + len)) return -1;
  (s.head_done_ ? s.trailers_ : s.head_.headers).append_value({at, len});
  return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
  ResponseParser& s = response_parser_of(p);
  (s.head_done_ ? s.trailers_ : s.head_.headers).end_value();
  return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
  ResponseParser& s = response_parser_of(p);
  ResponseHead& h = s.head_;
  s.head_done_ = true;
  s.meter_.close();
  h.status = llhttp_get_status_code(p);
  // RFC 9110 §15: three digits, 100 to 599. llhttp 8.1 takes "20" or "051",
  // which a client would read as something else entirely.
  if (h.status < 100 || h.status > 599) {
    s.error_reason_ = "status code outside 100-599";
    return -1;
  }
  if (h.status >= 200 || h.status == 101) s.final_head_ = true;
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
  if (count_connection_options(h.headers) > kMaxConnectionOptions) {
    s.error_reason_ = "too many Connection options";
    return -1;
  }
  h.chunked = te && (p->flags & F_CHUNKED);
  if (te && !h.chunked) h.keep_alive = false;  // close-delimited per RFC 9112 §6.3
  h.no_body = s.head_request_ || (h.status >= 100 && h.status < 200) || h.status == 204 || h.status == 304;
  s.events_.on_response_head(h);
  // 1: tell llhttp no body follows. It knows that for 1xx and 204, but it
  // would read a 304's Content-Length as a body (RFC 9112 §6.3 says none).
  return h.no_body ? 1 : 0;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, size_t len) {
  response_parser_of(p).events_.on_response_body(at, len);
  return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
  ResponseParser& s = response_parser_of(p);
  s.completed_ = true;
  s.meter_.close();
  s.meter_.reset();  // the next message starts with a fresh budget
  s.head_done_ = false;
  s.events_.on_response_complete();
  return HPE_PAUSED;
}

}  // namespace lb::http
