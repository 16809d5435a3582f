#pragma once
// How a response leaves lbd on an HTTP/1.x connection: the head in
// HTTP/1.1 text, the body framed for the client's version (Content-Length
// as the backend sent it, re-chunked, or close-delimited for HTTP/1.0), and
// whether the connection may carry another request afterwards. The
// ClientConnection's half of the Downstream seam (lb/proxy/downstream.h).
#include <string>
#include <string_view>

#include "lb/core/stream_writer.h"
#include "lb/http/header_edits.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/message.h"

namespace lb::proxy {

class Http1Response {
 public:
  // `scratch` is the worker's shared buffer for heads.
  Http1Response(StreamWriter& writer, std::string& scratch) : writer_(writer), scratch_(scratch) {}

  // A new request: its response starts with no framing and closes the
  // connection unless a head says otherwise.
  void start(const http::RequestHead& request);

  // 1xx other than 100 (lbd answers Expect itself) and 101: HTTP/1.1
  // clients only.
  void interim(const http::ResponseHead& head);
  // `draining`: lbd stops or the listener is gone, so say Connection: close.
  // Returns true when the framing lets lbd insert bytes (chunked or
  // close-delimited).
  bool head(const http::ResponseHead& head, const http::HeaderEdits* edits, bool draining);
  void body(const BlockRef& block, const char* data, size_t len);
  void own(std::string_view bytes);
  // `trailers` (null: none) follow a chunked body; other framings drop them.
  void end(bool then_close, const http::HeaderList* trailers);
  bool take_back_head();
  void error(int status, std::string_view extra_headers, bool request_read, bool draining);
  void fixed(int status, std::string_view content_type, std::string_view body, std::string_view extra_headers,
             bool request_read, bool draining);
  void switching_protocols(const http::ResponseHead& head);

  // The connection may read the next request once this response is out.
  bool keep_alive() const { return keep_alive_; }
  // The request said this is its connection's last (Connection: close, or
  // HTTP/1.0 without keep-alive): the client promised to send nothing more.
  bool client_asked_close() const { return request_ && !request_->keep_alive; }

 private:
  StreamWriter& writer_;
  std::string& scratch_;
  const http::RequestHead* request_ = nullptr;
  http::BodyFraming framing_ = http::BodyFraming::none;
  bool keep_alive_ = false;
  size_t head_mark_ = 0;          // writer's gathered bytes before the head
  uint64_t flushed_at_head_ = 0;  // writer's flushed() then: unchanged = the client saw nothing
};

}  // namespace lb::proxy
