#pragma once
// What a handler answers, and how it goes on the wire: the head, and the
// framing the body gets (Content-Length, chunked, or until close).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "body_stream.h"
#include "request.h"

namespace demo {

struct Response {
  int status = 200;
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string body;                    // the whole body, unless `stream` is set
  std::unique_ptr<BodyStream> stream;  // a body produced piece by piece
  std::optional<uint64_t> stream_length;  // known: Content-Length; else chunked
  uint64_t delay_ms = 0;               // wait before the head goes out
  bool close = false;                  // close the connection afterwards
  // The body starts only once the request holds a slot (slots.h): a queued
  // chat request gets its head at once, then silence until its turn. Its
  // client leaving (EOF) ends it, as a model server aborts the generation.
  bool waits_for_slot = false;
};

enum class Framing { none, content_length, chunked, until_close };

// The wire decisions for one response to one request (RFC 9112 §6).
struct ResponsePlan {
  Framing framing = Framing::none;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool send_body = true;  // false for HEAD, 1xx, 204 and 304
};

ResponsePlan plan_response(const Response& response, const Request& request);

// Status line and header fields, ending with the empty line. Every response
// names its backend in X-Backend.
std::string serialize_head(const Response& response, const ResponsePlan& plan, const Request& request,
                           std::string_view backend_name);

std::string_view reason_phrase(int status);

// "1a\r\n": the line that opens a chunk of `size` bytes.
std::string chunk_size_line(size_t size);

}  // namespace demo
