#pragma once
// An HTTP/2 request's header block turned into the http::RequestHead the
// rest of lbd knows (DESIGN.md §2 "one exchange, two protocols"). The head
// says HTTP/1.1 with keep-alive, because what lbd writes upstream from it is
// an HTTP/1.1 request; the client's protocol is the session's business.
//
//   :method     an HTTP method llhttp knows; CONNECT (no tunnels and no
//               extended CONNECT over HTTP/2) and unknown methods are
//               refused (the session answers 400, as lbd does on HTTP/1.1);
//   :path       the request target, required and non-empty;
//   :scheme     required;
//   :authority  becomes the Host field. When the client sent Host too, it
//               must name the same authority (case-insensitively), else the
//               request is malformed (RFC 9113 §8.3.1 lets a server treat it
//               so; passing either one on would let the two disagree about
//               which site is asked). Host alone is accepted as Host; a
//               request with neither is refused (nghttp2 resets it first;
//               this class says bad_request): HTTP/1.1 upstream needs one.
//   cookie      several cookie fields are joined with "; " (RFC 9113 §8.2.3);
//   connection-specific fields (connection, keep-alive, proxy-connection,
//               transfer-encoding, upgrade) and te other than "trailers",
//               upper-case names, unknown or repeated pseudo-fields, and
//               pseudo-fields after regular ones make the request malformed
//               (RFC 9113 §8.2.2, §8.3): the stream is reset with
//               PROTOCOL_ERROR. nghttp2's HTTP messaging checks these first;
//               they are checked here again so this class stands alone.
// Body framing: content-length -> head.content_length; otherwise a HEADERS
// frame without END_STREAM means a body of unknown length (head.chunked).
//
// Size: every field counts name + value + 32 bytes (RFC 7541 §4.1, as
// SETTINGS_MAX_HEADER_LIST_SIZE does). Past `max_bytes` fields are no
// longer kept and finish() says too_large (the session answers 431).
#include <cstddef>
#include <string>
#include <string_view>

#include "lb/http/message.h"

namespace lb::http2 {

class RequestHeadBuilder {
 public:
  enum class Verdict { ok, malformed, bad_request, too_large };

  explicit RequestHeadBuilder(size_t max_bytes) : max_bytes_(max_bytes) {}
  // As if newly built with `max_bytes`; only the buffers' capacity stays.
  void restart(size_t max_bytes);
  void add(std::string_view name, std::string_view value);
  // Completes the head; `end_stream`: the HEADERS frame ended the request.
  Verdict finish(bool end_stream);
  size_t bytes() const { return seen_.bytes; }
  http::RequestHead& head() { return head_; }

 private:
  void add_pseudo(std::string_view name, std::string_view value);

  size_t max_bytes_;
  // What one header block has shown so far; restart() resets it as a whole.
  struct Seen {
    size_t bytes = 0;
    bool malformed = false;
    bool regular = false;  // a regular field: no pseudo-field may follow
    bool method = false, path = false, scheme = false, authority = false;
    size_t host_count = 0;
  } seen_;
  std::string method_, authority_, host_, cookies_;
  http::RequestHead head_;
};

}  // namespace lb::http2
