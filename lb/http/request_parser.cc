#include "lb/http/request_parser.h"

#include <charconv>

#include "lb/http/header_rewrite.h"
#include "lb/http/request_target.h"

namespace lb::http {

namespace {

RequestParser& request_parser_of(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

// RFC 9110 §8.6: 1*DIGIT, nothing else (no sign, no list, no spaces).
std::optional<uint64_t> parse_content_length(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  for (char c : v)
    if (c < '0' || c > '9') return std::nullopt;
  return n;
}

}  // namespace

const llhttp_settings_t* RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &RequestParser::on_message_begin;
    st.on_url = &RequestParser::on_url;
    st.on_header_field = &RequestParser::on_header_field;
    st.on_header_field_complete = &RequestParser::on_header_field_complete;
    st.on_header_value = &RequestParser::on_header_value;
    st.on_header_value_complete = &RequestParser::on_header_value_complete;
    st.on_headers_complete = &RequestParser::on_headers_complete;
    st.on_body = &RequestParser::on_body;
    st.on_message_complete = &RequestParser::on_message_complete;
    return st;
  }();
  return &s;
}

RequestParser::RequestParser(RequestEvents& events) : events_(&events) {
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
}

void RequestParser::reset(RequestEvents& events) {
  events_ = &events;
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
  scanner_.reset();
  trailer_meter_.reset();
  trailers_.clear();
  in_message_ = handler_refused_ = head_invalid_ = head_done_ = completed_ = false;
  error_status_ = 400;
  error_reason_ = "";
}

void RequestParser::resume() {
  llhttp_resume(&parser_);
  // After a request with Connection: upgrade + Upgrade (or a CONNECT),
  // llhttp 8.1 stops a second time at the same byte, with
  // HPE_PAUSED_UPGRADE, to hand what follows to another protocol; only
  // llhttp_resume_after_upgrade clears that stop, and until it is cleared
  // every execute returns it again having consumed nothing. Our caller has
  // decided the next bytes are HTTP, so step over the stop now: llhttp
  // reaches it without consuming input, hence the empty execute.
  static const char kNothing = 0;
  if (llhttp_execute(&parser_, &kNothing, 0) == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&parser_);
  scanner_.reset();
}

RequestParser::Result RequestParser::fail(int status, const char* reason, size_t consumed) {
  error_status_ = status;
  error_reason_ = reason;
  return {Status::error, consumed};
}

RequestParser::Result RequestParser::execute(char* data, size_t len) {
  if (!scanner_.done()) {
    size_t at = 0;
    switch (scanner_.scan(data, len, &at)) {
      case HeadScanner::Verdict::malformed:
        return fail(400, "malformed request head (bare CR/LF, NUL or obs-fold)", at);
      case HeadScanner::Verdict::too_large: {
        // The bytes before the limit may hold a syntax error of their own;
        // the first error in the stream wins, so the answer (400 or 431)
        // does not depend on where the reads were cut. Found by fuzzing.
        const llhttp_errno_t err = llhttp_execute(&parser_, data, at);
        if (err != HPE_OK && err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
          const char* pos = llhttp_get_error_pos(&parser_);
          return fail(400, llhttp_get_error_reason(&parser_), pos >= data && pos <= data + at ? size_t(pos - data) : 0);
        }
        return fail(431, "request head larger than max_header_bytes", at);
      }
      case HeadScanner::Verdict::need_more:
      case HeadScanner::Verdict::head_done:
        break;
    }
  }
  handler_refused_ = false;
  head_invalid_ = false;
  completed_ = false;
  trailer_meter_.begin_call(data);
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  // A stop left over from an earlier call keeps its old position, which
  // may lie in another buffer: never let it index this one.
  const char* pos = llhttp_get_error_pos(&parser_);
  const size_t at = pos >= data && pos <= data + len ? size_t(pos - data) : 0;
  const bool trailers_fit = trailer_meter_.end_call(err == HPE_OK ? data + len : data + at);
  if (completed_) trailer_meter_.reset();  // measured through the message's end: nothing stays open
  switch (err) {
    case HPE_OK:
      // Whitespace inside a trailer field reaches no callback: checked here.
      if (!trailers_fit) return fail(431, "trailer section over max_header_bytes", len);
      return {Status::ok, len};
    case HPE_PAUSED:
      // Only on_message_complete pauses, and it consumed the message's last
      // byte in this call. Anything else would be `complete` with nothing
      // consumed, which a caller would loop on forever: refuse it instead.
      if (!completed_ || at == 0) return fail(400, "request parser made no progress", at);
      if (!trailers_fit) return fail(431, "trailer section over max_header_bytes", at);
      events_->on_request_complete();
      return {Status::complete, at};
    case HPE_PAUSED_UPGRADE:  // resume() steps over it; reaching it is a bug, not a loop
      return fail(400, "request parser stopped at an upgrade", at);
    default:
      break;
  }
  if (handler_refused_) return fail(0, "refused by handler", at);
  if (head_invalid_) return {Status::error, at};  // status and reason set by the callback
  // Trailers over the limit before the byte llhttp refused: that came first
  // in the stream, as smaller reads would have found (found by fuzzing).
  if (!trailers_fit) return fail(431, "trailer section over max_header_bytes", at);
  return fail(400, llhttp_get_error_reason(&parser_), at);
}

bool RequestParser::count_trailer(const char* at, size_t len) {
  trailer_meter_.open(at);
  if (trailer_meter_.reach(at + len)) return true;
  error_status_ = 431;
  error_reason_ = "trailer section over max_header_bytes";
  head_invalid_ = true;
  return false;
}

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser& s = request_parser_of(p);
  s.head_.clear();
  s.trailers_.clear();
  s.in_message_ = true;
  s.head_done_ = false;
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  request_parser_of(p).head_.url.append(at, len);
  return 0;
}

// Trailer fields take the same callbacks as header fields; they are
// counted against the head's budget and kept apart in trailers_.
int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = request_parser_of(p);
  if (s.head_done_ && !s.count_trailer(at, len)) return -1;
  (s.head_done_ ? s.trailers_ : s.head_.headers).on_name_piece({at, len});
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser& s = request_parser_of(p);
  (s.head_done_ ? s.trailers_ : s.head_.headers).on_name_complete();
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = request_parser_of(p);
  if (s.head_done_ && !s.count_trailer(at, len)) return -1;
  (s.head_done_ ? s.trailers_ : s.head_.headers).append_value({at, len});
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser& s = request_parser_of(p);
  (s.head_done_ ? s.trailers_ : s.head_.headers).end_value();
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser& s = request_parser_of(p);
  RequestHead& h = s.head_;
  s.head_done_ = true;
  s.trailer_meter_.reset(s.scanner_.bytes());  // trailers share the head's budget
  h.method = static_cast<llhttp_method_t>(llhttp_get_method(p));
  h.major = llhttp_get_http_major(p);
  h.minor = llhttp_get_http_minor(p);
  h.keep_alive = llhttp_should_keep_alive(p);
  if (h.major != 1) {  // HTTP/2.0 and up do not speak this syntax
    s.error_status_ = 505;
    s.error_reason_ = "HTTP version not supported";
    s.head_invalid_ = true;
    return -1;
  }
  if (const char* why = validate_request_head(h)) {
    s.error_status_ = 400;
    s.error_reason_ = why;
    s.head_invalid_ = true;
    return -1;
  }
  if (!s.events_->on_request_head(h)) {
    s.handler_refused_ = true;
    return -1;
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = request_parser_of(p);
  if (!s.events_->on_request_body(at, len)) {
    s.handler_refused_ = true;
    return -1;
  }
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser& s = request_parser_of(p);
  s.in_message_ = false;
  s.completed_ = true;
  // execute() tells the handler, once it has measured an open trailer
  // section through the message's last byte: its final line ends reach no
  // callback, and must count in one read as in many (found by fuzzing).
  return HPE_PAUSED;  // one request at a time: the connection resumes us
}

const char* validate_request_head(RequestHead& h) {
  const HeaderList& hs = h.headers;
  size_t hosts = 0, lengths = 0, encodings = 0;
  bool connection_upgrade = false, has_upgrade = false;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (hs.name(i).empty()) return "empty header name";
    switch (hs.id(i)) {
      case FieldId::host:
        ++hosts;
        break;
      case FieldId::content_length:
        if (++lengths > 1) return "more than one Content-Length";
        h.content_length = parse_content_length(hs.value(i));
        if (!h.content_length) return "invalid Content-Length";
        break;
      case FieldId::transfer_encoding: {
        ++encodings;
        bool only_chunked = true;
        size_t tokens = 0;
        for_each_token(hs.value(i), [&](std::string_view t) {
          ++tokens;
          if (!iequals(t, "chunked")) only_chunked = false;
        });
        if (!only_chunked || tokens != 1 || encodings > 1) return "unsupported Transfer-Encoding";
        h.chunked = true;
        break;
      }
      case FieldId::expect:
        if (iequals(hs.value(i), "100-continue")) h.expect_continue = true;
        break;
      case FieldId::connection:
        for_each_token(hs.value(i), [&](std::string_view t) {
          if (iequals(t, "upgrade")) connection_upgrade = true;
        });
        break;
      case FieldId::upgrade:
        has_upgrade = true;
        break;
      default:
        break;
    }
  }
  if (count_connection_options(hs) > kMaxConnectionOptions) return "too many Connection options";
  // Routing and the backend both see the normalised target (request_target.h).
  if (const char* why = normalise_target(h.url)) return why;
  if (hosts > 1) return "more than one Host";
  if (hosts == 0 && h.major == 1 && h.minor >= 1) return "HTTP/1.1 request without Host";
  if (encodings > 0 && h.major == 1 && h.minor == 0) return "Transfer-Encoding in an HTTP/1.0 request";
  if (encodings > 0 && lengths > 0) return "both Content-Length and Transfer-Encoding";
  h.upgrade = connection_upgrade && has_upgrade;
  return nullptr;
}

}  // namespace lb::http
