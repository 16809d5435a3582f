// lb::http2::Session driven by a real nghttp2 client (requests, responses,
// flow control, shutdown) and by hand-made frames (malformed requests and
// every attack the session must end with GOAWAY).
#include "lb/http2/session.h"

#include <gtest/gtest.h>

#include <optional>

#include "h2_client.h"
#include "lb/core/stream_writer.h"

namespace lb::http2 {
namespace {

using namespace test;

class Http2Session : public ::testing::Test {
 protected:
  void make(SessionLimits lim = {}) {
    session_.reset();
    session_ = std::make_unique<Session>(rec_, lim);
    rec_.session = session_.get();
  }
  void SetUp() override { make(); }
  void TearDown() override { session_.reset(); }

  // Client bytes into the session, 64 KiB Blocks at a time (as lbd reads).
  bool feed(std::string_view bytes) {
    bool ok = true;
    while (!bytes.empty() && ok) {
      BlockRef b = pool_.take();
      const size_t n = std::min(bytes.size(), Block::kSize);
      std::memcpy(b.data(), bytes.data(), n);
      ok = session_->feed(b, b.data(), n);
      bytes.remove_prefix(n);
    }
    return ok;
  }
  std::string out() {
    std::string o;
    session_->write_to(o, SIZE_MAX);
    return o;
  }
  // Both ways until nothing moves.
  void pump(Client& c) {
    for (int i = 0; i < 10000; ++i) {
      const std::string up = c.take();
      if (!up.empty()) alive_ = feed(up) && alive_;
      const std::string down = out();
      if (!down.empty()) c.give(down);
      if (up.empty() && down.empty()) return;
    }
    FAIL() << "no quiescence";
  }
  // Raw bytes in; the GOAWAY that came out, if any.
  std::optional<Frame> goaway_after(const std::string& bytes) {
    alive_ = feed(bytes);
    for (auto& f : frames(out()))
      if (f.type == NGHTTP2_GOAWAY) return f;
    return std::nullopt;
  }
  // `ours`: lbd's own budget found it, so feed() already said so;
  // otherwise nghttp2 did and the reason is known once the GOAWAY is out.
  void expect_goaway(const std::string& bytes, GoawayReason reason, uint32_t code, bool ours = true) {
    auto g = goaway_after(bytes);
    ASSERT_TRUE(g) << "no GOAWAY";
    EXPECT_EQ(be32(g->payload, 4), code);
    if (ours) EXPECT_FALSE(alive_);
    EXPECT_EQ(session_->reason(), reason) << goaway_reason_name(session_->reason());
    EXPECT_TRUE(session_->finished());
  }

  BlockPool pool_;  // outlives the session, which may hold its Blocks
  Recorder rec_;
  std::unique_ptr<Session> session_;
  bool alive_ = true;
};

http::ResponseHead response(int status, std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::ResponseHead h;
  h.status = status;
  h.reason = "Whatever";
  for (auto& [n, v] : fields) h.headers.add(n, v);
  return h;
}

TEST_F(Http2Session, GetBecomesAnHttp11HeadAndTheResponseLosesHopByHopFields) {
  Client c;
  const int32_t id = c.request("GET", "/a?b=1", "example.com:8443",
                               {{"user-agent", "t/1"}, {"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}});
  pump(c);
  ASSERT_EQ(rec_.req.count(id), 1u);
  RecordedRequest& r = rec_.req[id];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "/a?b=1");
  EXPECT_EQ(r.major, 1);
  EXPECT_EQ(r.minor, 1);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.end_stream);
  EXPECT_FALSE(r.chunked);
  EXPECT_FALSE(r.content_length);
  EXPECT_EQ(rec_.field(id, "host"), "example.com:8443");
  EXPECT_EQ(rec_.field(id, "cookie"), "a=1; b=2");  // one field, RFC 9113 §8.2.3
  EXPECT_EQ(rec_.field(id, "user-agent"), "t/1");
  for (auto& [k, v] : r.fields) EXPECT_NE(k.front(), ':') << "pseudo-field passed on: " << k;

  auto head = response(200, {{"Content-Type", "text/html"},
                             {"Connection", "close, X-Conn-Private"},
                             {"X-Conn-Private", "secret"},
                             {"Keep-Alive", "timeout=5"},
                             {"Transfer-Encoding", "chunked"},
                             {"Content-Length", "999"},
                             {"Server", "backend"},
                             {"X-Kept", "yes"}});
  head.chunked = true;
  http::HeaderEdits edits;
  edits.remove = {"server"};
  edits.set = {{"X-Frame-Options", "DENY"}};
  edits.add = {{"Vary", "Origin"}};
  session_->submit_response(id, head, &edits, false);
  session_->submit_data_copy(id, "hello ");
  session_->submit_data_copy(id, "world");
  session_->submit_end(id);
  pump(c);

  const Response& resp = c.resp[id];
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "hello world");
  EXPECT_EQ(resp.field("content-type"), "text/html");
  EXPECT_EQ(resp.field("x-kept"), "yes");
  EXPECT_EQ(resp.field("x-frame-options"), "DENY");
  EXPECT_EQ(resp.field("vary"), "Origin");
  for (const char* gone : {"connection", "x-conn-private", "keep-alive", "transfer-encoding", "content-length",
                           "server"})
    EXPECT_FALSE(resp.has(gone)) << gone;
  for (auto& [k, v] : resp.fields)
    for (char ch : k) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << k;
  EXPECT_TRUE(resp.closed);
  EXPECT_EQ(resp.close_code, 0u);
  EXPECT_TRUE(rec_.req[id].closed);
  EXPECT_EQ(session_->open_streams(), 0u);
  EXPECT_EQ(c.goaways, 0);
}

TEST_F(Http2Session, ContentLengthOfABodySentAsIsStays) {
  Client c;
  const int32_t id = c.request("GET", "/", "h");
  pump(c);
  session_->submit_response(id, response(200, {{"Content-Length", "2"}}), nullptr, false);
  session_->submit_data_copy(id, "ok");
  session_->submit_end(id);
  pump(c);
  EXPECT_EQ(c.resp[id].field("content-length"), "2");
  EXPECT_EQ(c.resp[id].body, "ok");
}

TEST_F(Http2Session, LbdsOwnAnswersComeOutWithoutConnectionFields) {
  Client c;
  const int32_t a = c.request("GET", "/busy", "h");
  const int32_t b = c.request("GET", "/old", "h");
  const int32_t h = c.request("HEAD", "/busy", "h");
  pump(c);
  session_->submit_fixed(a, 503, "Retry-After: 5\r\nConnection: close\r\n", "503 Service Unavailable\n", false);
  session_->submit_fixed(b, 301, "Location: https://example.com/new\r\n", "", false);
  session_->submit_fixed(h, 429, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 22\r\nRetry-After: 1\r\n\r\n",
                         "429 Too Many Requests\n", true);
  pump(c);
  EXPECT_EQ(c.resp[a].status, 503);
  EXPECT_EQ(c.resp[a].field("retry-after"), "5");
  EXPECT_EQ(c.resp[a].field("content-type"), "text/plain");
  EXPECT_EQ(c.resp[a].field("cache-control"), "no-store");
  EXPECT_EQ(c.resp[a].field("content-length"), "24");
  EXPECT_FALSE(c.resp[a].has("connection"));
  EXPECT_EQ(c.resp[a].body, "503 Service Unavailable\n");
  EXPECT_EQ(c.resp[b].status, 301);
  EXPECT_EQ(c.resp[b].field("location"), "https://example.com/new");
  EXPECT_EQ(c.resp[b].field("content-length"), "0");
  EXPECT_EQ(c.resp[h].status, 429);
  EXPECT_EQ(c.resp[h].field("retry-after"), "1");
  EXPECT_EQ(c.resp[h].field("content-length"), "22");  // what a GET would get
  EXPECT_EQ(c.resp[h].body, "");
  for (int32_t id : {a, b, h}) EXPECT_TRUE(c.resp[id].closed);
}

TEST_F(Http2Session, AnswerInsideOnRequestWorks) {
  rec_.respond_404_at_once = true;
  Client c;
  const int32_t id = c.request("GET", "/nope", "h");
  pump(c);
  EXPECT_EQ(c.resp[id].status, 404);
  EXPECT_EQ(c.resp[id].body, "404 Not Found\n");
}

TEST_F(Http2Session, RequestBodyWindowOpensOnlyAsTheOwnerConsumes) {
  SessionLimits lim;
  lim.initial_window = 16384;
  make(lim);
  Client c;
  pump(c);  // SETTINGS both ways: the client now knows our 16 KiB stream window
  const int connection_updates = c.window_updates;
  const std::string body(50000, 'x');
  const int32_t id = c.request("POST", "/upload", "h", {{"content-length", "50000"}}, &body);
  pump(c);
  RecordedRequest& r = rec_.req[id];
  EXPECT_EQ(r.content_length, 50000u);
  EXPECT_FALSE(r.chunked);
  EXPECT_FALSE(r.end_stream);
  EXPECT_EQ(r.body.size(), 16384u) << "the client may send one window, no more";
  EXPECT_EQ(c.window_updates, connection_updates) << "no WINDOW_UPDATE before consume()";
  size_t taken = 0;
  while (taken < 50000 && r.body.size() > taken) {
    const size_t n = r.body.size() - taken;
    session_->consume(id, n);
    taken += n;
    pump(c);
  }
  EXPECT_EQ(r.body, body);
  EXPECT_TRUE(r.ended);
  EXPECT_GT(c.window_updates, 0);
}

TEST_F(Http2Session, BodyWithoutContentLengthIsChunkedUpstream) {
  Client c;
  const std::string body = "abc";
  const int32_t id = c.request("POST", "/", "h", {}, &body);
  pump(c);
  EXPECT_TRUE(rec_.req[id].chunked);
  EXPECT_FALSE(rec_.req[id].content_length);
  EXPECT_EQ(rec_.req[id].body, "abc");
  EXPECT_TRUE(rec_.req[id].ended);
}

TEST_F(Http2Session, ResponseLargerThanTheClientWindowWaitsForWindowUpdate) {
  Client c(Client::Options{1000, false});
  const int32_t id = c.request("GET", "/big", "h");
  pump(c);
  session_->submit_response(id, response(200, {}), nullptr, false);
  BlockRef b = pool_.take();
  std::memset(b.data(), 'z', 5000);
  session_->submit_data(id, b, b.data(), 3000);
  session_->submit_data(id, b, b.data() + 3000, 2000);  // same Block: still one held
  EXPECT_EQ(session_->stream_blocks_held(id), 1u);
  EXPECT_EQ(session_->stream_bytes_queued(id), 5000u);
  session_->submit_end(id);
  pump(c);
  EXPECT_EQ(c.resp[id].body.size(), 1000u);
  EXPECT_EQ(session_->stream_bytes_queued(id), 4000u);
  EXPECT_EQ(session_->stream_blocks_held(id), 1u);
  EXPECT_EQ(rec_.writable, std::vector<int32_t>{id});
  EXPECT_FALSE(c.resp[id].closed);

  nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id, 1000);
  pump(c);
  EXPECT_EQ(c.resp[id].body.size(), 2000u);
  EXPECT_EQ(session_->stream_bytes_queued(id), 3000u);
  EXPECT_EQ(rec_.writable, (std::vector<int32_t>{id, id})) << "each framing tells the owner";

  nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id, 10000);
  pump(c);
  EXPECT_EQ(c.resp[id].body, std::string(5000, 'z'));
  EXPECT_TRUE(c.resp[id].closed);
  EXPECT_TRUE(rec_.req[id].closed);
}

TEST_F(Http2Session, WriteToStopsAtTheConnectionsOwnBackPressure) {
  Client c(Client::Options{1 << 20, true});
  const int32_t id = c.request("GET", "/big", "h");
  pump(c);
  nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, 0, 1 << 20);
  pump(c);
  session_->submit_response(id, response(200, {}), nullptr, false);
  session_->submit_data_copy(id, std::string(200000, 'q'));
  session_->submit_end(id);
  StreamWriter w;  // never attached: gathers only
  session_->write_to(w, 20000);
  EXPECT_GE(w.pending(), 20000u);
  EXPECT_LT(w.pending(), 20000u + 16384 + 9) << "at most one frame past the mark";
  EXPECT_TRUE(session_->wants_write());
  EXPECT_GT(session_->stream_bytes_queued(id), 150000u);
  w.discard();
}

TEST_F(Http2Session, ZeroWindowClientPinsOnlyWhatTheOwnerQueued) {
  Client c(Client::Options{0, false});
  const int32_t id = c.request("GET", "/", "h");
  pump(c);
  session_->submit_response(id, response(200, {}), nullptr, false);
  BlockRef b1 = pool_.take(), b2 = pool_.take();
  session_->submit_data(id, b1, b1.data(), 100);
  session_->submit_data_copy(id, "abc");
  session_->submit_data(id, b2, b2.data(), 100);
  EXPECT_EQ(session_->stream_blocks_held(id), 3u) << "two read Blocks and one copy";
  pump(c);
  EXPECT_EQ(c.resp[id].body, "");
  EXPECT_EQ(session_->stream_bytes_queued(id), 203u);
  b1.reset();
  b2.reset();
  EXPECT_EQ(pool_.outstanding(), 2u) << "queued bytes keep their Blocks";
  session_->reset_stream(id, NGHTTP2_CANCEL);
  pump(c);
  EXPECT_EQ(pool_.outstanding(), 0u);
  EXPECT_EQ(c.resp[id].close_code, uint32_t(NGHTTP2_CANCEL));
}

TEST_F(Http2Session, InterimThenFinalResponse) {
  Client c;
  const int32_t id = c.request("POST", "/", "h", {{"expect", "100-continue"}, {"content-length", "0"}});
  pump(c);
  session_->submit_interim(id, response(103, {{"Link", "</s.css>; rel=preload"}}));
  session_->submit_response(id, response(204, {}), nullptr, true);
  pump(c);
  EXPECT_EQ(c.resp[id].status, 204);
  EXPECT_TRUE(c.resp[id].closed);
}

TEST_F(Http2Session, RequestTrailersAreKeptApartAndEndTheRequest) {
  std::string in = preface();
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
              hpack({{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {":authority", "h"}}));
  in += frame(NGHTTP2_DATA, 0, 1, "body");
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, hpack({{"x-sum", "1"}}));
  EXPECT_TRUE(feed(in));
  EXPECT_EQ(rec_.req[1].body, "body");
  EXPECT_TRUE(rec_.req[1].ended);
  EXPECT_EQ(rec_.field(1, "x-sum"), "");  // not in the head
  const http::HeaderList* t = session_->request_trailers(1);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ(t->find("x-sum"), "1");
}

// Streams of closed requests are reused for the next ones (session.cc
// take_stream): nothing of a request, its trailers or its unsent answer
// may show in a later stream, on this session or another.
TEST_F(Http2Session, ALaterStreamStartsFromNothing) {
  std::string in = preface();
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
              hpack({{":method", "POST"}, {":scheme", "https"}, {":path", "/first"}, {":authority", "one"},
                     {"content-length", "4"}, {"cookie", "secret=1"}, {"x-first", "yes"}}));
  in += frame(NGHTTP2_DATA, 0, 1, "body");
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, hpack({{"x-sum", "1"}}));
  ASSERT_TRUE(feed(in));
  ASSERT_EQ(rec_.req[1].url, "/first");
  auto head = response(200, {{"Transfer-Encoding", "chunked"}});
  head.chunked = true;
  session_->submit_response(1, head, nullptr, false);
  session_->submit_data_copy(1, "unsent answer of the first request");
  http::HeaderList first_trailers;
  first_trailers.add("x-first-trailer", "1");
  session_->submit_end(1, &first_trailers);  // its answer started, its end and trailers queued
  ASSERT_TRUE(feed(frame(NGHTTP2_RST_STREAM, 0, 1, std::string("\0\0\0\x08", 4))));  // the client cancels
  out();
  ASSERT_EQ(session_->open_streams(), 0u);

  for (int round = 0; round < 2; ++round) {  // this session, then another
    if (round == 1) {
      make();
      rec_.req.clear();  // the recorder's, not the session's
    }
    const int32_t id = round == 0 ? 3 : 1;
    std::string next = round == 0 ? "" : preface();
    next += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id,
                  hpack({{":method", "GET"}, {":scheme", "https"}, {":path", "/second"}, {":authority", "two"}}));
    ASSERT_TRUE(feed(next));
    const RecordedRequest& r = rec_.req[id];
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.url, "/second");
    EXPECT_FALSE(r.content_length);
    EXPECT_FALSE(r.chunked);
    ASSERT_EQ(r.fields.size(), 1u) << "fields of an earlier request came along (round " << round << ")";
    EXPECT_EQ(rec_.field(id, "host"), "two");
    const http::HeaderList* t = session_->request_trailers(id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->size(), 0u);
    session_->submit_response(id, response(204, {}), nullptr, false);
    session_->submit_end(id);
    const std::string wire = out();
    EXPECT_EQ(wire.find("unsent answer"), std::string::npos) << "an earlier stream's queued bytes were sent";
    // Its own answer went out whole: a head, then the end of the stream
    // (an earlier stream's "answer started" or "end queued" would stop both).
    bool head = false, ended = false;
    for (const Frame& f : frames(wire)) {
      if (f.stream != id) continue;
      head = head || f.type == NGHTTP2_HEADERS;
      ended = ended || (f.flags & NGHTTP2_FLAG_END_STREAM);
    }
    EXPECT_TRUE(head) << "round " << round;
    EXPECT_TRUE(ended) << "round " << round;
  }
}

// A response's trailers leave as a HEADERS frame that ends the stream,
// after every DATA frame, which then carry no END_STREAM.
TEST_F(Http2Session, ResponseTrailersEndTheStreamAfterTheData) {
  Client c;
  const int32_t id = c.request("GET", "/", "h");
  pump(c);
  auto head = response(200, {{"Transfer-Encoding", "chunked"}, {"Trailer", "grpc-status"}});
  head.chunked = true;
  session_->submit_response(id, head, nullptr, false);
  session_->submit_data_copy(id, "hello");
  http::HeaderList trailers;
  trailers.add("Grpc-Status", "0");
  trailers.add("Connection", "close");
  trailers.add("X-Usage", "tokens=7");
  session_->submit_end(id, &trailers);
  trailers.clear();  // the session keeps its own copy
  const std::string wire = out();
  std::vector<Frame> ours;
  for (auto& f : frames(wire))
    if (f.stream == id) ours.push_back(f);
  ASSERT_GE(ours.size(), 3u);
  EXPECT_EQ(ours.back().type, NGHTTP2_HEADERS);
  EXPECT_TRUE(ours.back().flags & NGHTTP2_FLAG_END_STREAM);
  for (size_t i = 0; i + 1 < ours.size(); ++i) EXPECT_FALSE(ours[i].flags & NGHTTP2_FLAG_END_STREAM) << i;
  c.give(wire);
  pump(c);
  const Response& resp = c.resp[id];
  EXPECT_EQ(resp.body, "hello");
  EXPECT_EQ(resp.field("grpc-status"), "0");  // lower-cased
  EXPECT_EQ(resp.field("x-usage"), "tokens=7");
  EXPECT_FALSE(resp.has("connection"));
  EXPECT_TRUE(resp.closed);
  EXPECT_EQ(resp.close_code, 0u);
}

// Only hop-by-hop fields: nothing to send, the last DATA frame ends the stream.
TEST_F(Http2Session, TrailersWithNothingForwardableEndWithData) {
  Client c;
  const int32_t id = c.request("GET", "/", "h");
  pump(c);
  session_->submit_response(id, response(200, {}), nullptr, false);
  session_->submit_data_copy(id, "x");
  http::HeaderList trailers;
  trailers.add("Keep-Alive", "timeout=1");
  session_->submit_end(id, &trailers);
  Frame end{};
  for (auto& f : frames(out()))
    if (f.stream == id) end = f;
  EXPECT_EQ(end.type, NGHTTP2_DATA);
  EXPECT_TRUE(end.flags & NGHTTP2_FLAG_END_STREAM);
}

// ---- malformed requests: reset, never reported ----

uint32_t reset_code(const std::string& out, int32_t id) {
  for (auto& f : frames(out))
    if (f.type == NGHTTP2_RST_STREAM && f.stream == id) return be32(f.payload, 0);
  return 0xffffffff;
}

TEST_F(Http2Session, MalformedRequestsAreResetAndNeverReported) {
  const std::vector<Fields> bad = {
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"connection", "close"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"transfer-encoding", "chunked"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"upgrade", "websocket"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"te", "gzip"}},
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"X-Upper", "1"}},
      {{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}},                  // no :path
      {{":method", "GET"}, {":path", "/"}, {":authority", "a"}},                        // no :scheme
      {{":method", "GET"}, {":scheme", "https"}, {":path", ""}, {":authority", "a"}},  // empty :path
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}, {"host", "b"}},
  };
  std::string in = preface();
  int32_t id = 1;
  for (auto& f : bad) {
    in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, hpack(f));
    id += 2;
  }
  EXPECT_TRUE(feed(in));
  const std::string o = out();
  for (int32_t i = 1; i < id; i += 2) EXPECT_EQ(reset_code(o, i), uint32_t(NGHTTP2_PROTOCOL_ERROR)) << "stream " << i;
  EXPECT_TRUE(rec_.req.empty());
  EXPECT_EQ(session_->reason(), GoawayReason::none);
}

TEST_F(Http2Session, HostThatAgreesWithAuthorityIsKeptOnce) {
  std::string in = preface();
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1,
              hpack({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "Example.com"},
                     {"host", "example.com"}}));
  // Host alone (no :authority) is accepted as Host.
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
              hpack({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "only.example"}}));
  EXPECT_TRUE(feed(in));
  EXPECT_EQ(rec_.field(1, "host"), "Example.com");
  EXPECT_EQ(rec_.field(3, "host"), "only.example");
}

TEST_F(Http2Session, ConnectAndUnknownMethodGet400AndNoHostIsReset) {
  Client c;
  const int32_t a = c.request("BREW", "/pot", "h");
  const int32_t b = c.request("GET", "/", "");
  pump(c);
  EXPECT_EQ(c.resp[a].status, 400);
  EXPECT_EQ(c.resp[b].close_code, uint32_t(NGHTTP2_PROTOCOL_ERROR)) << "neither :authority nor Host";
  std::string in = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 5,
                         hpack({{":method", "CONNECT"}, {":authority", "example.com:443"}}));
  EXPECT_TRUE(feed(in));
  bool saw_400 = false;
  for (auto& f : frames(out())) saw_400 |= f.type == NGHTTP2_HEADERS && f.stream == 5;
  EXPECT_TRUE(saw_400);
  EXPECT_TRUE(rec_.req.empty());
}

TEST_F(Http2Session, HeaderListOverTheLimitGets431) {
  SessionLimits lim;
  lim.max_header_list_bytes = 4096;
  make(lim);
  Client c;
  const std::string body = "abc";
  const int32_t id = c.request("POST", "/", "h", {{"x-big", std::string(5000, 'a')}}, &body);
  const int32_t ok = c.request("GET", "/", "h");
  pump(c);
  EXPECT_EQ(c.resp[id].status, 431);
  EXPECT_TRUE(c.resp[id].closed);
  EXPECT_EQ(rec_.req.count(id), 0u);
  EXPECT_EQ(rec_.req.count(ok), 1u) << "the connection carries on";
  EXPECT_EQ(session_->reason(), GoawayReason::none);
}

// ---- attacks: each ends in GOAWAY with its reason ----

TEST_F(Http2Session, RapidResetEndsWithEnhanceYourCalm) {
  std::string in = preface();
  for (int32_t id = 1; id < 2 * 1000; id += 2) {
    in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, id, hpack(get()));
    in += frame(NGHTTP2_RST_STREAM, 0, id, u32(NGHTTP2_CANCEL));
  }
  expect_goaway(in, GoawayReason::rapid_reset, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_LT(rec_.req.size(), 300u) << "the attack stopped being served";
}

TEST_F(Http2Session, ContinuationFloodEndsTheConnection) {
  const std::string block = hpack({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "h"},
                                   {"x-pad", std::string(40, 'p')}});
  std::string in = preface();
  in += frame(NGHTTP2_HEADERS, 0, 1, block.substr(0, 1));
  for (size_t i = 1; i < block.size(); ++i) in += frame(NGHTTP2_CONTINUATION, 0, 1, block.substr(i, 1));
  expect_goaway(in, GoawayReason::continuation_flood, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, HugeHeaderListEndsTheConnection) {
  SessionLimits lim;
  lim.max_header_list_bytes = 4096;
  make(lim);
  std::string in = preface();
  const std::string block = hpack({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "h"},
                                   {"x-a", std::string(5000, 'a')}, {"x-b", std::string(5000, 'b')}});
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1, block);
  expect_goaway(in, GoawayReason::header_list_too_large, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, PingFloodEndsTheConnection) {
  std::string in = preface();
  for (int i = 0; i < 3000; ++i) in += frame(NGHTTP2_PING, 0, 0, std::string(8, char(i)));
  expect_goaway(in, GoawayReason::control_flood, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, SettingsFloodEndsTheConnection) {
  std::string in = preface();
  for (int i = 0; i < 3000; ++i) in += frame(NGHTTP2_SETTINGS, 0, 0, "");
  expect_goaway(in, GoawayReason::control_flood, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, WindowUpdateFloodEndsTheConnection) {
  std::string in = preface();
  for (int i = 0; i < 3000; ++i) in += frame(NGHTTP2_WINDOW_UPDATE, 0, 0, u32(1));
  expect_goaway(in, GoawayReason::control_flood, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, EmptyDataFramesEndTheConnection) {
  std::string in = preface();
  in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1,
              hpack({{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {":authority", "h"}}));
  for (int i = 0; i < 500; ++i) in += frame(NGHTTP2_DATA, 0, 1, "");
  expect_goaway(in, GoawayReason::empty_frames, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_F(Http2Session, StreamsOverTheLimitAgainAndAgainEndTheConnection) {
  SessionLimits lim;
  lim.max_concurrent_streams = 10;
  make(lim);
  std::string in = preface();
  for (int32_t id = 1; id < 2 * 400; id += 2)
    in += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, id,
                hpack({{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {":authority", "h"}}));
  expect_goaway(in, GoawayReason::too_many_streams, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(rec_.req.size(), 10u);
}

TEST_F(Http2Session, ProtocolErrorsEndWithProtocolError) {
  std::string in = preface() + frame(NGHTTP2_DATA, 0, 0, "x");  // DATA on stream 0
  expect_goaway(in, GoawayReason::protocol_error, NGHTTP2_PROTOCOL_ERROR, false);
}

TEST_F(Http2Session, BadPrefaceEndsWithProtocolError) {
  auto g = goaway_after("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(alive_);
  EXPECT_EQ(session_->reason(), GoawayReason::protocol_error);
  ASSERT_TRUE(g);
  EXPECT_EQ(be32(g->payload, 4), uint32_t(NGHTTP2_PROTOCOL_ERROR));
}

TEST_F(Http2Session, WindowOverflowEndsWithFlowControlError) {
  std::string in = preface() + frame(NGHTTP2_WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
  expect_goaway(in, GoawayReason::flow_control, NGHTTP2_FLOW_CONTROL_ERROR, false);
}

// ---- a busy, honest client trips nothing ----

TEST_F(Http2Session, LegitimateClientWithManyStreamsAndCancelsTripsNoBudget) {
  Client c;
  for (int round = 0; round < 5; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(c.request("GET", "/r" + std::to_string(i), "h"));
    pump(c);
    ASSERT_EQ(session_->open_streams(), 100u);
    for (int i = 0; i < 100; ++i) {
      session_->submit_response(ids[i], response(200, {}), nullptr, false);
      session_->submit_data_copy(ids[i], std::string(1000, 'd'));
      if (i % 3 == 0) nghttp2_submit_rst_stream(c.s, NGHTTP2_FLAG_NONE, ids[i], NGHTTP2_CANCEL);  // tab closed
    }
    pump(c);
    for (int i = 0; i < 100; ++i) session_->submit_end(ids[i]);
    for (int i = 0; i < 20; ++i) nghttp2_submit_ping(c.s, NGHTTP2_FLAG_NONE, nullptr);
    pump(c);
    EXPECT_EQ(session_->open_streams(), 0u);
  }
  EXPECT_TRUE(alive_);
  EXPECT_EQ(c.goaways, 0);
  EXPECT_EQ(session_->reason(), GoawayReason::none);
  EXPECT_EQ(rec_.req.size(), 500u);
}

// ---- graceful shutdown ----

TEST_F(Http2Session, GracefulShutdownLetsStreamsInFlightFinish) {
  Client c;
  const int32_t id = c.request("GET", "/slow", "h");
  pump(c);
  session_->shutdown_gracefully();
  pump(c);  // notice, PING, the client's PING ACK, the final GOAWAY
  EXPECT_EQ(c.goaways, 2);
  EXPECT_EQ(c.goaway_code, uint32_t(NGHTTP2_NO_ERROR));
  EXPECT_EQ(c.goaway_last, id);
  EXPECT_EQ(session_->reason(), GoawayReason::graceful);
  EXPECT_FALSE(session_->finished());

  // A stream the client opens now is not served.
  std::string late = frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 101, hpack(get()));
  EXPECT_TRUE(feed(late));
  EXPECT_EQ(rec_.req.count(101), 0u);

  session_->submit_response(id, response(200, {}), nullptr, false);
  session_->submit_data_copy(id, "bye");
  session_->submit_end(id);
  pump(c);
  EXPECT_EQ(c.resp[id].body, "bye");
  EXPECT_TRUE(session_->finished());
}

TEST_F(Http2Session, SecondShutdownCallSendsTheFinalGoawayAtOnce) {
  std::string in = preface() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 1,
                                     hpack(get()));
  EXPECT_TRUE(feed(in));
  session_->shutdown_gracefully();
  out();  // the client never answers the PING
  session_->shutdown_gracefully();
  int32_t last = -1;
  for (auto& f : frames(out()))
    if (f.type == NGHTTP2_GOAWAY) last = int32_t(be32(f.payload, 0));
  EXPECT_EQ(last, 1);
}

TEST_F(Http2Session, TerminateSendsGoawayWithTheOwnersReason) {
  EXPECT_TRUE(feed(preface()));
  session_->terminate(GoawayReason::idle_timeout);
  bool goaway = false;
  for (auto& f : frames(out())) goaway |= f.type == NGHTTP2_GOAWAY;
  EXPECT_TRUE(goaway);
  EXPECT_TRUE(session_->finished());
  EXPECT_EQ(session_->reason(), GoawayReason::idle_timeout);
  EXPECT_STREQ(goaway_reason_name(session_->reason()), "idle_timeout");
}

TEST_F(Http2Session, ReceivingHeadersCoversThePrefaceAndAnOpenHeaderBlock) {
  EXPECT_TRUE(session_->receiving_headers());
  EXPECT_TRUE(feed(preface()));
  EXPECT_FALSE(session_->receiving_headers());
  const std::string block = hpack(get());
  EXPECT_TRUE(feed(frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block.substr(0, 3))));
  EXPECT_TRUE(session_->receiving_headers());
  EXPECT_TRUE(feed(frame(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 1, block.substr(3))));
  EXPECT_FALSE(session_->receiving_headers());
  EXPECT_EQ(rec_.req.count(1), 1u);
}

TEST_F(Http2Session, ConsumeAfterCloseGivesTheConnectionWindowBack) {
  SessionLimits lim;
  lim.initial_window = 16384;
  lim.max_concurrent_streams = 1;  // connection window = one stream window
  make(lim);
  Client c;
  const std::string body(16384, 'b');
  const int32_t a = c.request("POST", "/", "h", {}, &body);
  pump(c);
  EXPECT_EQ(rec_.req[a].body.size(), 16384u);
  session_->reset_stream(a, NGHTTP2_CANCEL);  // never consumed: the stream goes
  pump(c);
  const int32_t b = c.request("POST", "/", "h", {}, &body);
  pump(c);
  EXPECT_EQ(rec_.req[b].body.size(), 16384u) << "the closed stream's bytes went back to the connection window";
}

}  // namespace
}  // namespace lb::http2

namespace lb::http2 {
namespace {

TEST_F(Http2Session, SettingsAdvertiseTheLimitsAndNoExtendedConnect) {
  SessionLimits lim;
  lim.max_concurrent_streams = 7;
  lim.initial_window = 12345;
  lim.max_header_list_bytes = 8192;
  make(lim);
  test::Client c;
  pump(c);
  EXPECT_EQ(nghttp2_session_get_remote_settings(c.s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 7u);
  EXPECT_EQ(nghttp2_session_get_remote_settings(c.s, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), 12345u);
  EXPECT_EQ(nghttp2_session_get_remote_settings(c.s, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE), 8192u);
  EXPECT_EQ(nghttp2_session_get_remote_settings(c.s, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL), 0u);
  // The connection window is every stream's window together.
  EXPECT_EQ(nghttp2_session_get_remote_window_size(c.s), 7 * 12345);
}

}  // namespace
}  // namespace lb::http2
