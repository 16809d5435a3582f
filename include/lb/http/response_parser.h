#pragma once
// Parses a backend's responses with llhttp. Like RequestParser it stops
// after every complete message (a 1xx interim response is a message too),
// so the exchange decides what comes next.
//
// A head (status line and fields) and the trailer section of a chunked body
// share one limit, kMaxResponseHeadBytes; more is an invalid response (the
// client gets 502). The trailer fields of a chunked body are kept
// (trailers()) for the exchange to pass on when the message completes.
#include <llhttp.h>

#include <cstddef>
#include <cstdint>

#include "lb/http/message.h"
#include "lb/http/section_meter.h"

namespace lb::http {

class ResponseEvents {
 public:
  virtual ~ResponseEvents() = default;
  virtual void on_response_head(ResponseHead& head) = 0;
  virtual void on_response_body(const char* data, size_t len) = 0;
  virtual void on_response_complete() = 0;
};

// 64 KiB: well above what proxies in front of common backends let through
// (nginx's proxy_buffer_size is one page, 4 or 8 KiB; HAProxy's head must fit
// its 16 KiB tune.bufsize; Envoy's default max_response_headers_kb is 60),
// so any backend that works behind those works behind lbd, while a backend
// can make a worker hold no more than this per connection for a head.
constexpr uint64_t kMaxResponseHeadBytes = 64 * 1024;

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
  // Continue after `complete`: the next bytes start a new message.
  void resume();
  // Between responses: gives back the memory the last one's head and
  // trailers kept for the next (an idle connection that may stay idle
  // long); returns the bytes given back.
  size_t release_memory();

  // The trailer section of the response that just completed (empty when it
  // had none or was not chunked). Valid until the next message begins.
  const HeaderList& trailers() const { return trailers_; }

  // True once any byte of the current response was parsed.
  bool started() const { return started_; }
  const char* error_reason() const { return error_reason_ ? error_reason_ : llhttp_get_error_reason(&parser_); }

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

  Result fail(const char* reason, size_t consumed);
  // Counts bytes of the head or trailers up to `end`; false once over.
  bool count(const char* end);

  llhttp_t parser_;
  ResponseEvents& events_;
  ResponseHead head_;
  HeaderList trailers_;
  SectionMeter meter_{kMaxResponseHeadBytes};
  const char* error_reason_ = nullptr;  // ours, when not llhttp's
  bool head_request_ = false;
  bool started_ = false;
  bool final_head_ = false;  // the head of the final (non-1xx) response arrived
  bool head_done_ = false;   // header fields from here on are trailers
  bool completed_ = false;   // on_message_complete ran in this execute()
};

}  // namespace lb::http
