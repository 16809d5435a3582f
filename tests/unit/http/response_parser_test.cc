#include "lb/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "message_fixture.h"

namespace lb::http {
namespace {

using test::feed;
using test::ResponseRecorder;
using ResponseStatus = ResponseParser::Status;

class HttpResponseParser : public ::testing::Test {
 protected:
  ResponseStatus parse(std::string_view wire, bool to_head_request = false, size_t step = SIZE_MAX) {
    parser.expect_response(to_head_request);
    return feed(parser, std::string(wire), step);
  }

  ResponseRecorder rec;
  ResponseParser parser{rec};
};

TEST_F(HttpResponseParser, ContentLengthBody) {
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: a\r\n\r\nhello"), ResponseStatus::complete);
  ASSERT_EQ(rec.heads.size(), 1u);
  const ResponseHead& h = rec.heads[0];
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_FALSE(h.chunked);
  EXPECT_FALSE(h.no_body);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.headers.find("x-app"), "a");
  EXPECT_EQ(rec.bodies[0], "hello");
  EXPECT_EQ(rec.completed, 1);
}

// An idle upstream connection gives back its parse buffers
// (UpstreamPool::trim); its next response parses as on a fresh parser.
TEST_F(HttpResponseParser, ReleasedMemoryIsGivenBackAndTheNextResponseStillParses) {
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Long: " + std::string(300, 'v') +
                  "\r\n\r\nhi"),
            ResponseStatus::complete);
  parser.resume();
  EXPECT_GE(parser.release_memory(), 300u) << "the header bytes' buffer";
  EXPECT_EQ(parser.release_memory(), 0u) << "nothing left to give back";
  ASSERT_EQ(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-App: b\r\n\r\nnop"), ResponseStatus::complete);
  ASSERT_EQ(rec.heads.size(), 2u);
  const ResponseHead& h = rec.heads[1];
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.reason, "Not Found");
  EXPECT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers.find("x-app"), "b");
  EXPECT_FALSE(h.headers.find("x-long"));
  EXPECT_EQ(rec.bodies[1], "nop");
}

TEST_F(HttpResponseParser, ChunkedBodyFedOneByteAtATime) {
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", false, 1),
            ResponseStatus::complete);
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_TRUE(rec.heads[0].chunked);
  EXPECT_TRUE(rec.heads[0].keep_alive);
  EXPECT_EQ(rec.bodies[0], "abcdefg");
  EXPECT_EQ(rec.completed, 1);
}

TEST_F(HttpResponseParser, CloseDelimitedBodyEndsAtFinish) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes"), ResponseStatus::ok);
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_FALSE(rec.heads[0].keep_alive);
  EXPECT_FALSE(rec.heads[0].content_length);
  EXPECT_FALSE(rec.heads[0].chunked);
  EXPECT_EQ(rec.completed, 0);
  EXPECT_EQ(parser.finish(), ResponseStatus::complete);
  EXPECT_EQ(rec.bodies[0], "some bytes");
  EXPECT_EQ(rec.completed, 1);
}

TEST_F(HttpResponseParser, UnknownTransferCodingIsCloseDelimited) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzipped"), ResponseStatus::ok);
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_FALSE(rec.heads[0].chunked);
  EXPECT_FALSE(rec.heads[0].keep_alive);
  EXPECT_EQ(parser.finish(), ResponseStatus::complete);
  EXPECT_EQ(rec.bodies[0], "zipped");
}

TEST_F(HttpResponseParser, FinishBeforeAnyByteIsAnError) {
  parser.expect_response(false);
  EXPECT_FALSE(parser.started());
  EXPECT_EQ(parser.finish(), ResponseStatus::error);
}

TEST_F(HttpResponseParser, FinishInsideALengthBodyIsAnError) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), ResponseStatus::ok);
  EXPECT_TRUE(parser.started());
  EXPECT_EQ(parser.finish(), ResponseStatus::error);
  EXPECT_EQ(rec.completed, 0);
}

TEST_F(HttpResponseParser, HeadResponseHasNoBodyDespiteContentLength) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  parser.expect_response(true);
  const std::string wire = head + next;
  const auto r = parser.execute(wire.data(), wire.size());
  ASSERT_EQ(r.status, ResponseStatus::complete);
  EXPECT_EQ(r.consumed, head.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_TRUE(rec.heads[0].no_body);
  EXPECT_EQ(rec.heads[0].content_length, 1234u);
  EXPECT_TRUE(rec.bodies[0].empty());

  // The connection stays usable: the next response is parsed normally.
  parser.resume();
  EXPECT_EQ(parse(std::string_view(wire).substr(r.consumed)), ResponseStatus::complete);
  ASSERT_EQ(rec.heads.size(), 2u);
  EXPECT_FALSE(rec.heads[1].no_body);
  EXPECT_EQ(rec.bodies[1], "ok");
}

TEST_F(HttpResponseParser, NoContentHasNoBody) {
  const std::string wire = "HTTP/1.1 204 No Content\r\n\r\n";
  parser.expect_response(false);
  const auto r = parser.execute(wire.data(), wire.size());
  EXPECT_EQ(r.status, ResponseStatus::complete);
  EXPECT_EQ(r.consumed, wire.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_TRUE(rec.heads[0].no_body);
  EXPECT_EQ(rec.completed, 1);
}

// RFC 9110 §8.6: a 304 may carry the Content-Length of the representation
// it stands for; no body follows it. The next response on the connection
// must not be taken for that body.
TEST_F(HttpResponseParser, NotModifiedWithContentLengthHasNoBody) {
  const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 24\r\nETag: \"v1\"\r\n\r\n";
  const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const std::string wire = not_modified + next;
  parser.expect_response(false);
  const auto r = parser.execute(wire.data(), wire.size());
  EXPECT_EQ(r.status, ResponseStatus::complete);
  EXPECT_EQ(r.consumed, not_modified.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_TRUE(rec.heads[0].no_body);
  EXPECT_EQ(rec.heads[0].content_length, 24u);
  EXPECT_EQ(rec.bodies[0], "");
  EXPECT_EQ(rec.completed, 1);
}

TEST_F(HttpResponseParser, InterimResponseIsAMessageOfItsOwn) {
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_response = "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone";
  const std::string wire = interim + final_response;
  parser.expect_response(false);
  const auto r = parser.execute(wire.data(), wire.size());
  ASSERT_EQ(r.status, ResponseStatus::complete);
  EXPECT_EQ(r.consumed, interim.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_EQ(rec.heads[0].status, 100);
  EXPECT_TRUE(rec.heads[0].no_body);

  parser.resume();
  const auto r2 = parser.execute(wire.data() + r.consumed, wire.size() - r.consumed);
  ASSERT_EQ(r2.status, ResponseStatus::complete);
  EXPECT_EQ(r2.consumed, final_response.size());
  ASSERT_EQ(rec.heads.size(), 2u);
  EXPECT_EQ(rec.heads[1].status, 201);
  EXPECT_EQ(rec.heads[1].reason, "Created");
  EXPECT_EQ(rec.bodies[1], "done");
  EXPECT_EQ(rec.completed, 2);
}

// Bytes after a 101 belong to the new protocol (a websocket tunnel): the
// parser stops at the end of the head and leaves them alone.
TEST_F(HttpResponseParser, SwitchingProtocolsStopsAtTheEndOfTheHead) {
  const std::string head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  const std::string wire = head + "\x81\x05hello";
  parser.expect_response(false);
  const auto r = parser.execute(wire.data(), wire.size());
  EXPECT_EQ(r.status, ResponseStatus::complete);
  EXPECT_EQ(r.consumed, head.size());
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_EQ(rec.heads[0].status, 101);
  EXPECT_TRUE(rec.bodies[0].empty());
}

TEST_F(HttpResponseParser, RejectsContentLengthWithTransferEncoding) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

TEST_F(HttpResponseParser, RejectsTwoDifferentContentLengths) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

TEST_F(HttpResponseParser, RejectsNonNumericContentLength) {
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello"), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

TEST_F(HttpResponseParser, RejectsGarbageStatusLine) {
  EXPECT_EQ(parse("SSH-2.0-OpenSSH_9.2\r\n"), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

TEST_F(HttpResponseParser, ConnectionCloseClearsKeepAlive) {
  const ResponseHead h = test::parse_response_head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(h.content_length, 0u);
}

TEST_F(HttpResponseParser, Http10ResponseIsNotKeptAlive) {
  const ResponseHead h = test::parse_response_head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(h.keep_alive);
  EXPECT_EQ(h.minor, 0);
}

// ---- limits (issue 12, defect 2) ----------------------------------------

std::string head_with_padding(size_t padding) {
  return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: " + std::string(padding, 'p') + "\r\n\r\nok";
}

TEST_F(HttpResponseParser, HeadUpToTheLimitIsAccepted) {
  EXPECT_EQ(parse(head_with_padding(kMaxResponseHeadBytes - 100)), ResponseStatus::complete) << parser.error_reason();
  ASSERT_EQ(rec.bodies.size(), 1u);
  EXPECT_EQ(rec.bodies[0], "ok");
}

TEST_F(HttpResponseParser, HeadOverTheLimitIsAnError) {
  EXPECT_EQ(parse(head_with_padding(kMaxResponseHeadBytes)), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
  EXPECT_STREQ(parser.error_reason(), "response head over 64 KiB");
}

TEST_F(HttpResponseParser, HeadOverTheLimitInSmallReadsIsAnError) {
  EXPECT_EQ(parse(head_with_padding(kMaxResponseHeadBytes), false, 1000), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

TEST_F(HttpResponseParser, ManySmallFieldsOverTheLimitAreAnError) {
  std::string wire = "HTTP/1.1 200 OK\r\n";
  while (wire.size() <= kMaxResponseHeadBytes) wire += "A: b\r\n";
  wire += "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(parse(wire, false, 4096), ResponseStatus::error);
  EXPECT_TRUE(rec.heads.empty());
}

// Whitespace before a value reaches no callback: it counts all the same.
TEST_F(HttpResponseParser, HeadPaddedWithWhitespaceIsAnError) {
  const std::string wire = "HTTP/1.1 200 OK\r\nX-Pad:" + std::string(2 * kMaxResponseHeadBytes, ' ');
  EXPECT_EQ(parse(wire, false, 16384), ResponseStatus::error);
}

TEST_F(HttpResponseParser, TrailersAreKeptApartAndLimited) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n";
  EXPECT_EQ(parse(head + "X-Sum: 1\r\n\r\n"), ResponseStatus::complete) << parser.error_reason();
  ASSERT_EQ(rec.heads.size(), 1u);
  EXPECT_EQ(rec.bodies[0], "ok");
  EXPECT_FALSE(rec.heads[0].headers.find("x-sum"));
  EXPECT_EQ(parser.trailers().find("x-sum"), "1");

  std::string big = head;
  for (size_t i = 0; big.size() <= 2 * kMaxResponseHeadBytes; ++i) big += "X-" + std::to_string(i) + ": vvvvvvvv\r\n";
  EXPECT_EQ(parse(big + "\r\n", false, 8192), ResponseStatus::error);
  EXPECT_STREQ(parser.error_reason(), "response trailers over 64 KiB");
}

// gRPC ends every call with grpc-status in the trailers; llhttp may hand a
// name or value over in pieces across reads.
TEST_F(HttpResponseParser, TrailersSurviveSplitReads) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
      "grpc-status: 0\r\ngrpc-message: all good  \r\nX-Usage: tokens=42\r\n\r\n";
  for (size_t step : {size_t(1), size_t(3), size_t(7), wire.size()}) {
    ResponseRecorder r;
    ResponseParser p(r);
    p.expect_response(false);
    ASSERT_EQ(test::feed(p, wire, step), ResponseStatus::complete) << "step " << step;
    const HeaderList& t = p.trailers();
    ASSERT_EQ(t.size(), 3u) << "step " << step;
    EXPECT_EQ(t.name(0), "grpc-status");
    EXPECT_EQ(t.value(0), "0");
    EXPECT_EQ(t.value(1), "all good");  // trailing whitespace trimmed as in a head
    EXPECT_EQ(t.find("x-usage"), "tokens=42");
    EXPECT_EQ(r.heads[0].headers.size(), 1u);  // only Transfer-Encoding
  }
}

// Each response has its own trailer section: none left over from the last.
TEST_F(HttpResponseParser, TrailersAreClearedForTheNextResponse) {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n";
  ASSERT_EQ(parse(chunked), ResponseStatus::complete);
  EXPECT_EQ(parser.trailers().size(), 1u);
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), ResponseStatus::complete);
  EXPECT_EQ(parser.trailers().size(), 0u);
}

// One large trailer field, fed in pieces, hits the same limit as a head.
TEST_F(HttpResponseParser, OneHugeTrailerFieldFedInPiecesIsAnError) {
  const std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: " +
                           std::string(kMaxResponseHeadBytes + 10, 'v') + "\r\n\r\n";
  EXPECT_EQ(parse(wire, false, 1000), ResponseStatus::error);
  EXPECT_STREQ(parser.error_reason(), "response trailers over 64 KiB");
  EXPECT_EQ(rec.completed, 0);
}

// Each response, interim ones included, gets the whole budget.
TEST_F(HttpResponseParser, BudgetIsPerResponse) {
  const std::string interim = "HTTP/1.1 100 Continue\r\nX-Pad: " + std::string(kMaxResponseHeadBytes / 2, 'p') + "\r\n\r\n";
  EXPECT_EQ(parse(interim + interim + head_with_padding(kMaxResponseHeadBytes / 2)), ResponseStatus::complete)
      << parser.error_reason();
  EXPECT_EQ(rec.completed, 3);
}

// ---- after a 101 (issue 12, defect 1) -----------------------------------

// llhttp stops a second time after a 101 with Upgrade (HPE_PAUSED_UPGRADE);
// a caller that resumes anyway gets HTTP parsing, never a loop.
TEST_F(HttpResponseParser, ResumeAfterSwitchingProtocolsParsesHttp) {
  const std::string wire =
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  EXPECT_EQ(parse(wire), ResponseStatus::complete) << parser.error_reason();
  ASSERT_EQ(rec.heads.size(), 2u);
  EXPECT_EQ(rec.bodies[1], "ok");
}

TEST_F(HttpResponseParser, ExecuteWithoutResumeIsAnErrorNotALoop) {
  std::string first = "HTTP/1.1 204 No Content\r\n\r\n";
  parser.expect_response(false);
  ASSERT_EQ(parser.execute(first.data(), first.size()).status, ResponseStatus::complete);
  std::string second = "HTTP/1.1 204 No Content\r\n\r\n";
  const auto r = parser.execute(second.data(), second.size());
  EXPECT_EQ(r.status, ResponseStatus::error);
  EXPECT_LE(r.consumed, second.size());
}

TEST_F(HttpResponseParser, RejectsStatusCodesOutside100To599) {
  // llhttp 8.1 takes these; relayed, a client reads "020" as another answer.
  for (const char* line : {"HTTP/1.1 20 OK\r\n", "HTTP/1.1 051 X\r\n", "HTTP/1.1 0 X\r\n", "HTTP/1.1 600 X\r\n"}) {
    ResponseRecorder r;
    ResponseParser p(r);
    p.expect_response(false);
    const std::string wire = std::string(line) + "Content-Length: 1\r\n\r\nx";
    EXPECT_EQ(feed(p, wire, SIZE_MAX), ResponseStatus::error) << line;
    EXPECT_TRUE(r.heads.empty()) << line;
  }
  EXPECT_EQ(parse("HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n"), ResponseStatus::complete);
}

TEST_F(HttpResponseParser, LineEndsThenEofAreNoResponse) {
  // Bytes, but no head: the backend did not answer (502 or a retry).
  EXPECT_EQ(parse("\r\n"), ResponseStatus::ok);
  EXPECT_EQ(parser.finish(), ResponseStatus::error);
}

TEST_F(HttpResponseParser, InterimResponseThenEofIsNoResponse) {
  EXPECT_EQ(parse("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"), ResponseStatus::complete);
  parser.resume();
  EXPECT_EQ(parser.finish(), ResponseStatus::error);
}

}  // namespace
}  // namespace lb::http
