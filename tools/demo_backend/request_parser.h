#pragma once
// Turns the bytes of one connection into Requests with llhttp (strict mode).
// It stops after every complete request, so the caller answers requests one
// at a time and in order (pipelining), and keeps the unparsed rest itself.
#include <llhttp.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "request.h"

namespace demo {

class RequestParser {
 public:
  enum class Event {
    need_more,        // everything consumed, request not complete yet
    expect_continue,  // head of a request with `Expect: 100-continue` parsed
    request,          // a request is complete: take_request()
    error,            // malformed: answer `error_status`, then close
  };
  struct Result {
    Event event;
    size_t consumed;       // bytes of the input used; feed the rest later
    int error_status = 0;  // 400, or 431 when the head is too large
  };

  // The request head (target + header fields) may not exceed this.
  static constexpr size_t kMaxHeadBytes = 64 * 1024;

  RequestParser();
  RequestParser(const RequestParser&) = delete;  // llhttp keeps a pointer to us
  RequestParser& operator=(const RequestParser&) = delete;

  Result feed(std::string_view data);
  Request take_request() { return std::move(request_); }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t len);
  static int on_header_field(llhttp_t* p, const char* at, size_t len);
  static int on_header_value(llhttp_t* p, const char* at, size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t len);
  static int on_message_complete(llhttp_t* p);
  static RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }
  // Appends a piece of the head, refusing heads over kMaxHeadBytes.
  int append_head(std::string& to, const char* at, size_t len);
  bool expects_continue() const;

  llhttp_settings_t settings_;
  llhttp_t parser_;
  Request request_;
  std::string field_, value_;  // the header being assembled
  size_t head_bytes_ = 0;
  bool head_too_large_ = false;
  Event paused_for_ = Event::need_more;
};

}  // namespace demo
