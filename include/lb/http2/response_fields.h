#pragma once
// Response heads as HTTP/2 header lists: what lbd relays from a backend and
// what it answers itself. HTTP/2 forbids connection-specific fields
// (RFC 9113 §8.2.2): a client must treat a response carrying Connection,
// Keep-Alive, Transfer-Encoding or Upgrade as malformed, so every hop-by-hop
// field goes (those Connection names as well), names are lower-cased (§8.2),
// and the reason phrase has nowhere to go.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http/header_edits.h"
#include "lb/http/message.h"

namespace lb::http2 {

// A header list in one buffer; names are stored lower-cased.
class H2Fields {
 public:
  void add(std::string_view name, std::string_view value);
  void clear() {
    buf_.clear();
    fields_.clear();
  }
  size_t size() const { return fields_.size(); }
  std::string_view name(size_t i) const { return {buf_.data() + fields_[i].name_off, fields_[i].name_len}; }
  std::string_view value(size_t i) const { return {buf_.data() + fields_[i].value_off, fields_[i].value_len}; }
  bool has(std::string_view name) const;

 private:
  struct Field {
    size_t name_off, name_len, value_off, value_len;
  };
  std::string buf_;
  std::vector<Field> fields_;
};

// A backend's response: ":status", its fields less the hop-by-hop ones and
// those `edits` drop, then the edits' set and add fields. content-length
// stays only when the body passes as the backend framed it (not chunked).
void response_fields(const http::ResponseHead& head, const http::HeaderEdits* edits, H2Fields& out);

// One of lbd's own answers (error_response.h, fixed_response.h): `lines` are
// "Name: value\r\n" lines; a status line or a blank line in them is skipped,
// hop-by-hop fields and content-length are dropped (the length is the
// body's). content-type text/plain is added to a body without one, and
// cache-control no-store to an error without one, as on HTTP/1.1.
void fixed_fields(int status, std::string_view lines, size_t body_len, H2Fields& out);

// A backend's trailer section (http/trailer_fields.h), for the HEADERS
// frame that ends a stream: the forwardable fields, names lower-cased; no
// pseudo-header (RFC 9113 §8.1).
void trailer_fields(const http::HeaderList& trailers, H2Fields& out);

}  // namespace lb::http2
