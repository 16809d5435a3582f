#include "lb/http/ws_frames.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::http {
namespace {

// A server frame (unmasked) with `n` payload bytes.
std::string frame(uint8_t first, uint64_t n) {
  std::string f(1, char(first));
  if (n < 126) {
    f += char(n);
  } else if (n < 65536) {
    f += char(126);
    f += char(n >> 8);
    f += char(n & 0xff);
  } else {
    f += char(127);
    for (int k = 7; k >= 0; --k) f += char((n >> (8 * k)) & 0xff);
  }
  return f + std::string(n, 'x');
}

size_t feed(WsFrames& w, const std::string& s, bool stop = false) { return w.feed(s.data(), s.size(), stop); }

TEST(WsFrames, BoundariesFallBetweenFramesOfEachLengthForm) {
  for (uint64_t n : {0ull, 5ull, 125ull, 126ull, 300ull, 65535ull, 65536ull, 70000ull}) {
    WsFrames w(false);
    EXPECT_TRUE(w.at_boundary());
    const std::string f = frame(0x82, n);
    EXPECT_EQ(feed(w, f.substr(0, f.size() - 1)), f.size() - 1);
    EXPECT_FALSE(w.at_boundary()) << n;
    feed(w, f.substr(f.size() - 1));
    EXPECT_TRUE(w.at_boundary()) << n;
    EXPECT_EQ(w.frames(), 1u);
  }
}

TEST(WsFrames, ByteByByteFindsTheSameBoundaries) {
  const std::string a = frame(0x01, 3), b = frame(0x00, 200), c = frame(0x89, 4), d = frame(0x80, 0);
  const std::string all = a + b + c + d;
  WsFrames w(false);
  for (size_t i = 0; i < all.size(); ++i) {
    w.feed(&all[i], 1);
    const size_t end = i + 1;
    const bool expected = end == a.size() || end == a.size() + b.size() ||
                          end == a.size() + b.size() + c.size() || end == all.size();
    EXPECT_EQ(w.at_boundary(), expected) << end;
  }
  EXPECT_EQ(w.frames(), 4u);
}

TEST(WsFrames, StopsRightAfterTheFrameInFlight) {
  const std::string a = frame(0x82, 10), b = frame(0x82, 10);
  WsFrames w(false);
  EXPECT_EQ(feed(w, a.substr(0, 4)), 4u);
  const std::string rest = a.substr(4) + b;
  EXPECT_EQ(feed(w, rest, true), a.size() - 4);
  EXPECT_TRUE(w.at_boundary());
  // An empty frame ends with its header.
  WsFrames e(false);
  EXPECT_EQ(feed(e, frame(0x8a, 0) + b, true), 2u);
}

TEST(WsFrames, ClientFramesAreMaskedAndTheKeyIsPartOfTheHeader) {
  WsFrames w(true);
  const std::string f = std::string{char(0x81), char(0x80 | 3), 1, 2, 3, 4} + "abc";
  EXPECT_EQ(feed(w, f.substr(0, 5)), 5u);
  EXPECT_FALSE(w.at_boundary());
  feed(w, f.substr(5));
  EXPECT_TRUE(w.at_boundary());
  // An unmasked frame from a client breaks the framing, and the other way round.
  WsFrames c(true);
  feed(c, frame(0x81, 1));
  EXPECT_TRUE(c.broken());
  WsFrames s(false);
  feed(s, f);
  EXPECT_TRUE(s.broken());
}

TEST(WsFrames, HostileHeadersBreakTheFramingForGood) {
  const std::string bad[] = {
      frame(0x83, 1),                                 // reserved data opcode
      frame(0x8b, 1),                                 // reserved control opcode
      frame(0x08, 2),                                 // fragmented Close
      frame(0x89, 126),                               // control frame over 125 bytes
      std::string{char(0x82), char(127), char(0x80), 0, 0, 0, 0, 0, 0, 0},  // 64-bit length, top bit set
  };
  for (const std::string& b : bad) {
    WsFrames w(false);
    EXPECT_EQ(feed(w, b), b.size());
    EXPECT_TRUE(w.broken());
    EXPECT_FALSE(w.at_boundary());
    feed(w, frame(0x82, 1));  // never a boundary again
    EXPECT_FALSE(w.at_boundary());
  }
}

TEST(WsFrames, ReservedBitsAndHugeLengthsAreSkippedNotHeld) {
  WsFrames w(false);
  feed(w, std::string{char(0xc2), 1, 'z'});  // RSV1 (permessage-deflate)
  EXPECT_TRUE(w.at_boundary());
  // 2^63 - 1 declared bytes: nothing is buffered, the stream is just never
  // at a boundary until they went by.
  feed(w, std::string{char(0x82), char(127), 0x7f, char(0xff), char(0xff), char(0xff), char(0xff), char(0xff),
                      char(0xff), char(0xff)});
  EXPECT_FALSE(w.broken());
  const std::string chunk(1 << 16, 'p');
  for (int k = 0; k < 16; ++k) feed(w, chunk);
  EXPECT_FALSE(w.at_boundary());
}

TEST(WsFrames, CloseFrameCarriesTheCode) {
  EXPECT_EQ(ws_close_frame(kWsGoingAway, nullptr), (std::string{char(0x88), 2, char(0x03), char(0xe9)}));
  const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
  const std::string m = ws_close_frame(kWsServiceRestart, key);
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(uint8_t(m[1]), 0x82);
  EXPECT_EQ(uint8_t(m[6]) ^ 0x11, 1012 >> 8);
  EXPECT_EQ(uint8_t(m[7]) ^ 0x22, 1012 & 0xff);
  WsFrames client_dir(true);
  feed(client_dir, m);
  EXPECT_TRUE(client_dir.at_boundary());
  EXPECT_EQ(client_dir.frames(), 1u);
}

TEST(WsFrames, NotesACloseFrame) {
  WsFrames from_server(false);
  const std::string ping = std::string{char(0x89), 0};
  from_server.feed(ping.data(), ping.size());
  EXPECT_FALSE(from_server.saw_close());
  const std::string close = ws_close_frame(1000, nullptr);
  from_server.feed(close.data(), 2);  // its first two bytes are enough
  EXPECT_TRUE(from_server.saw_close());
}

}  // namespace
}  // namespace lb::http
