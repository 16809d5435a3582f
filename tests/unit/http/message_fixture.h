#pragma once
// Event recorders for the parsers and helpers that turn raw bytes into the
// heads the rest of lbd works with, shared by the http tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http/request_parser.h"
#include "lb/http/response_parser.h"

namespace lb::http::test {

// Keeps a copy of every head and the body bytes that followed it.
class RequestRecorder : public RequestEvents {
 public:
  bool on_request_head(RequestHead& head) override {
    heads.push_back(head);
    bodies.emplace_back();
    return accept_heads;
  }
  bool on_request_body(const char* data, size_t len) override {
    bodies.back().append(data, len);
    return true;
  }
  void on_request_complete() override { ++completed; }

  std::vector<RequestHead> heads;
  std::vector<std::string> bodies;
  int completed = 0;
  bool accept_heads = true;
};

class ResponseRecorder : public ResponseEvents {
 public:
  void on_response_head(ResponseHead& head) override {
    heads.push_back(head);
    bodies.emplace_back();
  }
  void on_response_body(const char* data, size_t len) override { bodies.back().append(data, len); }
  void on_response_complete() override { ++completed; }

  std::vector<ResponseHead> heads;
  std::vector<std::string> bodies;
  int completed = 0;
};

// Feeds `wire` to `parser` in pieces of at most `step` bytes, the way reads
// arrive on a socket, resuming after each complete message as a connection
// does. Returns the last status: complete when the input ended exactly on a
// message boundary, ok when it ended inside a message, error at the first
// refusal. The bytes are a copy: the request parser may repair them in place.
// A `complete` that consumed nothing, or more than it was given, would make
// a connection loop forever (or overrun): it fails the test and ends the
// feed as an error.
template <typename Parser>
typename Parser::Status feed(Parser& parser, std::string wire, size_t step = SIZE_MAX) {
  auto status = Parser::Status::ok;
  size_t offset = 0;
  while (offset < wire.size()) {
    const size_t len = std::min(step, wire.size() - offset);
    const auto r = parser.execute(wire.data() + offset, len);
    status = r.status;
    if (status == Parser::Status::error) return status;
    if (status == Parser::Status::complete && (r.consumed == 0 || r.consumed > len)) {
      ADD_FAILURE() << "complete after consuming " << r.consumed << " of " << len << " bytes at offset " << offset;
      return Parser::Status::error;
    }
    offset += r.consumed;
    if (status == Parser::Status::complete) parser.resume();
  }
  return status;
}

// The head of one complete request, as lbd parses and validates it.
inline RequestHead parse_request_head(std::string_view wire) {
  RequestRecorder rec;
  RequestParser parser(rec);
  const auto status = feed(parser, std::string(wire));
  EXPECT_NE(status, RequestParser::Status::error) << parser.error_reason() << "\n" << wire;
  if (rec.heads.empty()) {
    ADD_FAILURE() << "no request head in:\n" << wire;
    return {};
  }
  return rec.heads.front();
}

// The last head of a backend's response bytes (after any 1xx).
inline ResponseHead parse_response_head(std::string_view wire, bool to_head_request = false) {
  ResponseRecorder rec;
  ResponseParser parser(rec);
  parser.expect_response(to_head_request);
  const auto status = feed(parser, std::string(wire));
  EXPECT_NE(status, ResponseParser::Status::error) << parser.error_reason() << "\n" << wire;
  if (rec.heads.empty()) {
    ADD_FAILURE() << "no response head in:\n" << wire;
    return {};
  }
  return rec.heads.back();
}

// All values of `name` in the order they appear.
inline std::vector<std::string> values_of(const HeaderList& headers, std::string_view name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < headers.size(); ++i)
    if (iequals(headers.name(i), name)) out.emplace_back(headers.value(i));
  return out;
}

}  // namespace lb::http::test
