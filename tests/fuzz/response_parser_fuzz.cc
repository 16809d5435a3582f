// ResponseParser, driven as UpstreamConnection drives it: execute() per
// read, resume() after each message, expect_response() before each new
// response (to a HEAD request or not, as the input's last byte says, and
// then the other way round), finish() when the backend closes. Each input
// is parsed in one read and in reads cut where the input says; both must
// give the same responses. And what the exchange relies on must hold: no
// body on a response that has none, a Content-Length body of that length,
// and finish() saying complete only when a response really ended.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "head_text.h"
#include "lb/http/response_parser.h"

namespace {

using lb::http::ResponseHead;
using lb::http::ResponseParser;
using Status = ResponseParser::Status;

struct Response {
  std::string head;
  std::string body;
  bool complete = false;
  bool operator==(const Response&) const = default;
};

std::string describe(const ResponseHead& h) {
  std::string s = std::to_string(h.status) + ' ' + h.reason + " HTTP/" + std::to_string(h.major) + '.' +
                  std::to_string(h.minor);
  s += h.keep_alive ? " keep-alive" : " close";
  if (h.chunked) s += " chunked";
  if (h.content_length) s += " length=" + std::to_string(*h.content_length);
  if (h.no_body) s += " no-body";
  lb::fuzz::append_fields(s, h.headers);
  return s;
}

class Recorder final : public lb::http::ResponseEvents {
 public:
  void on_response_head(ResponseHead& h) override {
    FUZZ_CHECK(responses.empty() || responses.back().complete);
    FUZZ_CHECK(h.status >= 100 && h.status <= 599);  // others are refused
    FUZZ_CHECK(!(h.chunked && h.content_length));  // framed two ways is refused
    responses.push_back({describe(h), {}, false});
    heads.push_back(h);
  }
  void on_response_body(const char* data, size_t len) override {
    FUZZ_CHECK(!responses.empty() && !responses.back().complete);
    FUZZ_CHECK(!heads.back().no_body);  // a body here would desync the client
    FUZZ_CHECK(len > 0);
    responses.back().body.append(data, len);
  }
  void on_response_complete() override {
    FUZZ_CHECK(!responses.empty() && !responses.back().complete);
    const ResponseHead& h = heads.back();
    if (h.content_length && !h.no_body) FUZZ_CHECK(responses.back().body.size() == *h.content_length);
    responses.back().complete = true;
  }

  std::vector<Response> responses;
  std::vector<ResponseHead> heads;
};

struct Outcome {
  std::vector<Response> responses;
  int end = 0;  // 0 input used up, 1 error, 2 switched protocols (101)
  int finish = -1;  // finish()'s status when the input ended mid-response
  bool operator==(const Outcome&) const = default;
};

Outcome parse(const std::string& wire, const std::vector<size_t>& pieces, unsigned head_bits) {
  Recorder rec;
  ResponseParser parser(rec);
  size_t responses = 0;
  size_t heads_at_expect = 0;  // heads before the current response's
  parser.expect_response(head_bits & 1);
  Outcome out;
  size_t offset = 0;
  for (size_t piece : pieces) {
    size_t left = piece;
    while (left > 0) {
      const auto r = parser.execute(wire.data() + offset, left);
      FUZZ_CHECK(r.consumed <= left);
      if (r.status == Status::error) {
        out.end = 1;
        out.responses = rec.responses;
        return out;
      }
      if (r.status == Status::ok) FUZZ_CHECK(r.consumed == left);
      offset += r.consumed;
      left -= r.consumed;
      if (r.status != Status::complete) continue;
      FUZZ_CHECK(r.consumed > 0);
      FUZZ_CHECK(!rec.responses.empty() && rec.responses.back().complete);
      lb::fuzz::append_fields(rec.responses.back().head += " trailers", parser.trailers());  // compared across reads
      parser.resume();
      const int status = rec.heads.back().status;
      if (status == 101) {  // what follows is another protocol
        out.end = 2;
        out.responses = rec.responses;
        return out;
      }
      // A final response: the next one answers the next request on a
      // reused connection. (1xx: the final response follows.)
      if (status >= 200) {
        parser.expect_response(head_bits >> (++responses % 16) & 1);
        heads_at_expect = rec.heads.size();
      }
    }
  }
  // The backend closes here.
  const Status fin = parser.finish();
  FUZZ_CHECK(fin != Status::ok);
  out.finish = int(fin);
  if (fin == Status::complete) {
    // The exchange takes this as the end of the final response to its
    // request: one whose head it has seen (not a 1xx, not the one before).
    FUZZ_CHECK(rec.heads.size() > heads_at_expect);
    FUZZ_CHECK(rec.responses.back().complete);
    FUZZ_CHECK(rec.heads.back().status >= 200);
  }
  out.responses = rec.responses;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string wire(reinterpret_cast<const char*>(data), size);
  std::vector<size_t> one_read;
  if (size) one_read.push_back(size);
  const std::vector<size_t> cuts = lb::fuzz::read_cuts(data, size);
  const unsigned bits = size ? data[size - 1] * 257u : 0;
  for (unsigned head_bits : {bits, ~bits}) {
    const Outcome whole = parse(wire, one_read, head_bits);
    const Outcome split = parse(wire, cuts, head_bits);
    FUZZ_CHECK(whole == split);
  }
  return 0;
}
