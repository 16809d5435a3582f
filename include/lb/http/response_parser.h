#pragma once
// Parses a backend's responses with llhttp. Like RequestParser it stops
// after every complete message (a 1xx interim response is a message too),
// so the exchange decides what comes next.
#include <llhttp.h>

#include <cstddef>

#include "lb/http/message.h"

namespace lb::http {

class ResponseEvents {
 public:
  virtual ~ResponseEvents() = default;
  virtual void on_response_head(ResponseHead& head) = 0;
  virtual void on_response_body(const char* data, size_t len) = 0;
  virtual void on_response_complete() = 0;
};

class ResponseParser {
 public:
  enum class Status { ok, complete, error };
  struct Result {
    Status status;
    size_t consumed;
  };

  explicit ResponseParser(ResponseEvents& events);
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Before each response: was the request a HEAD (then no body follows)?
  void expect_response(bool to_head_request);
  Result execute(const char* data, size_t len);
  // The backend closed: completes a close-delimited body, else error.
  Status finish();
  void resume() { llhttp_resume(&parser_); }

  // True once any byte of the current response was parsed.
  bool started() const { return started_; }
  const char* error_reason() const { return llhttp_get_error_reason(&parser_); }

 private:
  static int on_message_begin(llhttp_t*);
  static int on_status(llhttp_t*, const char*, size_t);
  static int on_header_field(llhttp_t*, const char*, size_t);
  static int on_header_field_complete(llhttp_t*);
  static int on_header_value(llhttp_t*, const char*, size_t);
  static int on_header_value_complete(llhttp_t*);
  static int on_headers_complete(llhttp_t*);
  static int on_body(llhttp_t*, const char*, size_t);
  static int on_message_complete(llhttp_t*);
  static const llhttp_settings_t* settings();

  llhttp_t parser_;
  ResponseEvents& events_;
  ResponseHead head_;
  bool head_request_ = false;
  bool started_ = false;
};

}  // namespace lb::http
