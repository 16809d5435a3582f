#pragma once
// Parses the request side of a client connection with llhttp (strict mode)
// plus the checks llhttp 8.1 leaves to us (HeadScanner, and the header
// rules of validate_request_head). It stops after every complete message so
// the connection answers pipelined requests strictly one at a time.
//
// Trailer fields (after the last chunk) count against max_header_bytes
// together with the head, and are kept (trailers()) for the exchange to
// send after the re-chunked body.
#include <llhttp.h>

#include <cstddef>
#include <cstdint>

#include "lb/http/head_scanner.h"
#include "lb/http/message.h"
#include "lb/http/section_meter.h"

namespace lb::http {

class RequestEvents {
 public:
  virtual ~RequestEvents() = default;
  // The head is complete and valid. Return false to stop parsing with the
  // error the handler already answered (the connection will close).
  virtual bool on_request_head(RequestHead& head) = 0;
  // Return false to stop parsing (the handler answered already).
  virtual bool on_request_body(const char* data, size_t len) = 0;
  virtual void on_request_complete() = 0;
};

class RequestParser {
 public:
  enum class Status {
    ok,        // all input consumed, message not complete yet
    complete,  // a message ended (consumed > 0 bytes); call resume() for the next.
    error,     // malformed: answer error_status() and close
  };
  struct Result {
    Status status;
    size_t consumed;
  };

  explicit RequestParser(RequestEvents& events);
  // Ready for a new connection's first request (parsers are pooled).
  void reset(RequestEvents& events);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  void set_max_header_bytes(uint64_t n) {
    scanner_.set_limit(n);
    trailer_meter_.set_limit(n);
  }
  // `data` is writable: see HeadScanner's one in-place repair.
  Result execute(char* data, size_t len);
  // Continue after `complete`: the next bytes start a new message, even
  // after an upgrade request (had the backend switched protocols, the
  // connection would have become a tunnel and never resumed the parser).
  void resume();
  // The client closed its side; true when that ended a message cleanly.
  bool in_message() const { return in_message_; }

  int error_status() const { return error_status_; }
  const char* error_reason() const { return error_reason_; }
  RequestHead& head() { return head_; }
  // The trailer section of the current request (empty when none), complete
  // once on_request_complete ran; valid until the next message begins.
  const HeaderList& trailers() const { return trailers_; }

 private:
  static int on_message_begin(llhttp_t*);
  static int on_url(llhttp_t*, const char*, size_t);
  static int on_header_field(llhttp_t*, const char*, size_t);
  static int on_header_field_complete(llhttp_t*);
  static int on_header_value(llhttp_t*, const char*, size_t);
  static int on_header_value_complete(llhttp_t*);
  static int on_headers_complete(llhttp_t*);
  static int on_body(llhttp_t*, const char*, size_t);
  static int on_message_complete(llhttp_t*);
  static const llhttp_settings_t* settings();

  Result fail(int status, const char* reason, size_t consumed);
  // Counts a trailer field's bytes; false (with the error set) once over.
  bool count_trailer(const char* at, size_t len);

  llhttp_t parser_;
  RequestEvents* events_;
  HeadScanner scanner_;
  SectionMeter trailer_meter_{32 * 1024};
  RequestHead head_;
  HeaderList trailers_;
  bool in_message_ = false;
  int error_status_ = 400;
  const char* error_reason_ = "";
  bool handler_refused_ = false;  // the handler answered already (status 0)
  bool head_invalid_ = false;     // validate_request_head refused the head
  bool head_done_ = false;        // header fields from here on are trailers
  bool completed_ = false;        // on_message_complete ran in this execute()
};

// The header rules a proxy must enforce beyond llhttp (RFC 9112 §3.2, §6):
// returns nullptr when the head is acceptable, else the reason for a 400.
// Also fills head.chunked / content_length / expect_continue / upgrade.
const char* validate_request_head(RequestHead& head);

}  // namespace lb::http
