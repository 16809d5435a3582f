// Chunked framing both ways through lbd. The input is a message body after
// a fixed head: a chunked request body, a chunked response body, and a
// close-delimited response body. Each is parsed (in reads cut where the
// input says), re-framed the way the exchange frames it for the next hop
// (lb/proxy/exchange.cc: "%zx\r\n" + data + "\r\n" per piece, "0\r\n\r\n" at
// the end, behind the head header_rewrite writes), and parsed again as the
// backend or the client would. The body must arrive byte for byte, end
// where it ended, and the next hop must find nothing after it: a single
// byte more or less is a desync (request smuggling, response splitting).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "lb/http/header_rewrite.h"
#include "lb/http/response_parser.h"
#include "request_recorder.h"

namespace {

using namespace lb;

constexpr std::string_view kChunkedRequestHead =
    "POST /upload HTTP/1.1\r\nHost: fuzz.example\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kChunkedResponseHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kCloseResponseHead = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

// The exchange's chunk: size line, data, CRLF. Empty pieces are not sent.
void append_chunk(std::string& out, const char* data, size_t len) {
  if (len == 0) return;
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
  out.append(size_line, size_t(n));
  out.append(data, len);
  out.append("\r\n");
}
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Reads cut as the input says, but the head always in the first read.
std::vector<size_t> cuts_after_head(size_t head, const uint8_t* data, size_t size) {
  std::vector<size_t> pieces = fuzz::read_cuts(data, size);
  if (pieces.empty()) return {head};
  pieces.front() += head;
  return pieces;
}

// ---- request: client -> lbd -> backend -----------------------------------

void request_round_trip(const uint8_t* data, size_t size) {
  const std::string wire = std::string(kChunkedRequestHead) + std::string(reinterpret_cast<const char*>(data), size);
  fuzz::RequestRecorder from_client;
  http::RequestParser lbd(from_client);
  const fuzz::RequestOutcome in =
      fuzz::drive_requests(lbd, from_client, wire, cuts_after_head(kChunkedRequestHead.size(), data, size));
  FUZZ_CHECK(!in.messages.empty());  // the fixed head is valid
  const fuzz::RequestMessage& sent = in.messages.front();

  // What the exchange writes upstream, piece by piece as the body arrived.
  std::string upstream;
  http::ForwardContext ctx;
  ctx.client_ip = "192.0.2.1";
  ctx.proto = "http";
  http::write_upstream_request_head(from_client.heads.front(), ctx, upstream);
  size_t at = 0;
  for (size_t len : from_client.pieces.front()) {
    append_chunk(upstream, sent.body.data() + at, len);
    at += len;
  }
  if (sent.complete) upstream.append(kLastChunk);

  fuzz::RequestRecorder at_backend;
  http::RequestParser backend(at_backend);
  backend.set_max_header_bytes(64 * 1024);
  const fuzz::RequestOutcome out = fuzz::drive_requests(backend, at_backend, upstream, {upstream.size()});
  FUZZ_CHECK(out.last != http::RequestParser::Status::error);
  FUZZ_CHECK(out.parsed == upstream.size());
  FUZZ_CHECK(out.messages.size() == 1);  // nothing smuggled behind the body
  FUZZ_CHECK(out.messages.front().body == sent.body);
  FUZZ_CHECK(out.messages.front().complete == sent.complete);
  FUZZ_CHECK(at_backend.heads.front().chunked);
}

// ---- response: backend -> lbd -> client ----------------------------------

struct Body {
  std::string bytes;
  std::vector<size_t> pieces;  // as on_response_body gave them
  bool head_seen = false;
  bool complete = false;
  http::ResponseHead head;
};

class BodyRecorder final : public http::ResponseEvents {
 public:
  void on_response_head(http::ResponseHead& h) override {
    if (body.head_seen) extra_messages = true;
    body.head_seen = true;
    body.head = h;
  }
  void on_response_body(const char* data, size_t len) override {
    if (body.complete) extra_messages = true;
    body.bytes.append(data, len);
    body.pieces.push_back(len);
  }
  void on_response_complete() override {
    if (body.complete) extra_messages = true;
    body.complete = true;
  }
  Body body;
  bool extra_messages = false;
};

// Parses one response to a GET as a connection does; returns its bytes used.
size_t parse_response(http::ResponseParser& parser, const std::string& wire, const std::vector<size_t>& pieces,
                      bool backend_closes, bool* error) {
  parser.expect_response(false);
  size_t offset = 0;
  *error = false;
  for (size_t piece : pieces) {
    const auto r = parser.execute(wire.data() + offset, piece);
    FUZZ_CHECK(r.consumed <= piece);
    offset += r.consumed;
    if (r.status == http::ResponseParser::Status::error) {
      *error = true;
      return offset;
    }
    if (r.status == http::ResponseParser::Status::complete) return offset;  // the rest is not this response's
  }
  if (backend_closes && parser.finish() == http::ResponseParser::Status::error) *error = true;
  return offset;
}

void response_round_trip(std::string_view head, bool backend_closes, const uint8_t* data, size_t size) {
  const std::string wire = std::string(head) + std::string(reinterpret_cast<const char*>(data), size);
  BodyRecorder from_backend;
  http::ResponseParser lbd(from_backend);
  bool error = false;
  parse_response(lbd, wire, cuts_after_head(head.size(), data, size), backend_closes, &error);
  FUZZ_CHECK(from_backend.body.head_seen);
  if (error) return;  // answered 502 or cut: nothing to compare
  const Body& got = from_backend.body;

  // A GET from an HTTP/1.1 client: the exchange re-chunks the body.
  http::RequestHead client_request;
  client_request.url = "/";
  http::ResponseHead head_out = got.head;
  const http::BodyFraming framing = http::choose_client_framing(client_request, head_out);
  FUZZ_CHECK(framing == http::BodyFraming::chunked);
  std::string to_client;
  http::write_client_response_head(head_out, framing, false, true, to_client);
  size_t at = 0;
  for (size_t len : got.pieces) {
    append_chunk(to_client, got.bytes.data() + at, len);
    at += len;
  }
  if (got.complete) to_client.append(kLastChunk);

  BodyRecorder at_client;
  http::ResponseParser client(at_client);
  bool client_error = false;
  const size_t used = parse_response(client, to_client, {to_client.size()}, false, &client_error);
  FUZZ_CHECK(!client_error);
  FUZZ_CHECK(used == to_client.size());  // nothing after the last chunk
  FUZZ_CHECK(!at_client.extra_messages);
  FUZZ_CHECK(at_client.body.head.chunked);
  FUZZ_CHECK(at_client.body.bytes == got.bytes);
  FUZZ_CHECK(at_client.body.complete == got.complete);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  request_round_trip(data, size);
  response_round_trip(kChunkedResponseHead, false, data, size);  // may end mid-body
  response_round_trip(kCloseResponseHead, true, data, size);      // ends when the backend closes
  return 0;
}
