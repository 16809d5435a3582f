#pragma once
// Records what RequestParser hands a connection, and drives it the way
// ClientConnection does: execute() per read, resume() after every complete
// message, the rest of the read fed next. Shared by the request_parser and
// chunked targets.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "head_text.h"
#include "lb/http/request_parser.h"

namespace lb::fuzz {

struct RequestMessage {
  std::string head;  // every parsed fact of the head, as text
  std::string body;  // de-chunked body bytes
  bool complete = false;
  bool operator==(const RequestMessage&) const = default;
};

inline std::string describe(const http::RequestHead& h) {
  std::string s;
  s += h.method_name();
  s += ' ';
  s += h.url;
  s += " HTTP/" + std::to_string(h.major) + '.' + std::to_string(h.minor);
  s += h.keep_alive ? " keep-alive" : " close";
  if (h.chunked) s += " chunked";
  if (h.content_length) s += " length=" + std::to_string(*h.content_length);
  if (h.expect_continue) s += " expect-100";
  if (h.upgrade) s += " upgrade";
  append_fields(s, h.headers);
  return s;
}

class RequestRecorder final : public http::RequestEvents {
 public:
  bool on_request_head(http::RequestHead& head) override {
    FUZZ_CHECK(messages.empty() || messages.back().complete);  // one message at a time
    messages.push_back({describe(head), {}, false});
    heads.push_back(head);
    pieces.emplace_back();
    return true;
  }
  bool on_request_body(const char* data, size_t len) override {
    FUZZ_CHECK(!messages.empty() && !messages.back().complete);
    FUZZ_CHECK(len > 0);
    messages.back().body.append(data, len);
    pieces.back().push_back(len);
    return true;
  }
  void on_request_complete() override {
    FUZZ_CHECK(!messages.empty() && !messages.back().complete);
    messages.back().complete = true;
  }

  std::vector<RequestMessage> messages;
  std::vector<http::RequestHead> heads;
  std::vector<std::vector<size_t>> pieces;  // body piece lengths per message, as they came
};

struct RequestOutcome {
  std::vector<RequestMessage> messages;
  http::RequestParser::Status last = http::RequestParser::Status::ok;
  int error_status = 0;
  // Bytes consumed; not kept on error, where it may depend on the read
  // boundaries (the connection closes then, whatever the offset).
  size_t parsed = 0;
  bool operator==(const RequestOutcome&) const = default;
};

// Feeds `wire` (a copy: the parser may repair it in place) in `pieces`.
inline RequestOutcome drive_requests(http::RequestParser& parser, RequestRecorder& rec, std::string wire,
                                     const std::vector<size_t>& pieces) {
  using Status = http::RequestParser::Status;
  RequestOutcome out;
  size_t offset = 0;
  for (size_t piece : pieces) {
    size_t left = piece;
    while (left > 0) {
      const auto r = parser.execute(wire.data() + offset, left);
      FUZZ_CHECK(r.consumed <= left);
      out.last = r.status;
      if (r.status == Status::error) {
        FUZZ_CHECK(parser.error_status() == 400 || parser.error_status() == 431 || parser.error_status() == 505);
        out.error_status = parser.error_status();
        out.messages = rec.messages;
        return out;
      }
      if (r.status == Status::ok) FUZZ_CHECK(r.consumed == left);
      // A message ends on a byte of this read: a complete that consumed
      // nothing would make the connection loop without progress.
      if (r.status == Status::complete) {
        FUZZ_CHECK(r.consumed > 0);
        FUZZ_CHECK(!rec.messages.empty() && rec.messages.back().complete);
        append_fields(rec.messages.back().head += " trailers", parser.trailers());  // compared across reads too
        FUZZ_CHECK(!parser.in_message());
        parser.resume();
      }
      offset += r.consumed;
      left -= r.consumed;
    }
  }
  out.parsed = offset;
  out.messages = rec.messages;
  return out;
}

}  // namespace lb::fuzz
