#include "lb/proxy/proxy_header.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace lb::proxy {
namespace {

using Status = ProxyHeaderParser::Status;

const std::string kSig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);

std::string text_of(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = "";
  uint16_t port = 0;
  if (a.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    port = ntohs(s->sin_port);
  } else if (a.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    port = ntohs(s->sin6_port);
  }
  return std::string(buf) + " " + std::to_string(port);
}

// Feeds `bytes` in pieces of `cut` bytes; returns the final status and the
// total consumed.
ProxyHeaderParser::Result feed_cut(ProxyHeaderParser& p, const std::string& bytes, size_t cut) {
  size_t consumed = 0;
  for (size_t at = 0; at < bytes.size(); at += cut) {
    const auto r = p.feed(bytes.data() + at, std::min(cut, bytes.size() - at));
    consumed += r.consumed;
    if (r.status != Status::need_more) return {r.status, consumed};
  }
  return {Status::need_more, consumed};
}

std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& body) {
  std::string out = kSig;
  out += char(ver_cmd);
  out += char(fam);
  out += char(body.size() >> 8);
  out += char(body.size() & 0xff);
  return out + body;
}

std::string inet4_block() {
  return std::string("\xC0\x00\x02\x01" "\x0A\x00\x00\x01" "\x30\x39" "\x01\xBB", 12);  // 192.0.2.1:12345 -> 10.0.0.1:443
}

TEST(ProxyHeader, V1Tcp4InAnyCutsStopsAtTheHeader) {
  const std::string line = "PROXY TCP4 192.0.2.1 10.0.0.1 12345 443\r\n";
  for (size_t cut : {1, 2, 7, 100}) {
    ProxyHeaderParser p;
    const auto r = feed_cut(p, line + "GET / HTTP/1.1\r\n", cut);
    ASSERT_EQ(r.status, Status::done) << cut;
    EXPECT_EQ(r.consumed, line.size());
    EXPECT_EQ(p.header().version, 1);
    ASSERT_TRUE(p.header().has_addresses);
    EXPECT_EQ(text_of(p.header().source), "192.0.2.1 12345");
    EXPECT_EQ(text_of(p.header().destination), "10.0.0.1 443");
  }
}

TEST(ProxyHeader, V1Tcp6) {
  ProxyHeaderParser p;
  const std::string line = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
  ASSERT_EQ(p.feed(line.data(), line.size()).status, Status::done);
  EXPECT_EQ(text_of(p.header().source), "2001:db8::1 65535");
  EXPECT_EQ(text_of(p.header().destination), "::1 0");
}

TEST(ProxyHeader, V1UnknownKeepsThePeer) {
  for (std::string line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    ProxyHeaderParser p;
    const auto r = p.feed(line.data(), line.size());
    ASSERT_EQ(r.status, Status::done) << line;
    EXPECT_EQ(r.consumed, line.size());
    EXPECT_FALSE(p.header().has_addresses);
  }
}

TEST(ProxyHeader, V1MalformedLinesAreRefused) {
  const char* bad[] = {
      "PROXY TCP4 192.0.2.1 10.0.0.1 12345 443\n",       // no CR
      "PROXY TCP4 192.0.2.1 10.0.0.1 12345\r\n",         // a port missing
      "PROXY TCP4 192.0.2.1 10.0.0.1 12345 443 9\r\n",   // a field too many
      "PROXY TCP4 192.0.2.1  10.0.0.1 12345 443\r\n",    // two spaces
      "PROXY TCP4 2001:db8::1 10.0.0.1 12345 443\r\n",   // wrong family
      "PROXY TCP6 192.0.2.1 10.0.0.1 12345 443\r\n",     // wrong family
      "PROXY TCP4 192.0.2.1 10.0.0.1 65536 443\r\n",     // port too big
      "PROXY TCP4 192.0.2.1 10.0.0.1 -1 443\r\n",        // not a number
      "PROXY TCP4 192.0.2.256 10.0.0.1 1 443\r\n",       // not an address
      "PROXY UDP4 192.0.2.1 10.0.0.1 1 2\r\n",           // unknown protocol
      "PROXY TCP4 192.0.2.1\r10.0.0.1 1 2\r\n",          // CR inside
      "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\x01\r\n",       // control byte
      "proxy TCP4 192.0.2.1 10.0.0.1 1 2\r\n",           // lower case
      "GET / HTTP/1.1\r\n",                              // no header at all
  };
  for (const char* line : bad) {
    ProxyHeaderParser p;
    const std::string s(line);
    EXPECT_EQ(feed_cut(p, s, 1).status, Status::error) << line;
    EXPECT_STRNE(p.error(), "") << line;
  }
}

TEST(ProxyHeader, V1GarbageIsRefusedAtItsFirstByte) {
  ProxyHeaderParser p;
  const auto r = p.feed("GET / HTTP/1.1\r\n", 16);
  EXPECT_EQ(r.status, Status::error);
  EXPECT_EQ(r.consumed, 1u);
}

TEST(ProxyHeader, V1LineOf107BytesPassesAnd108IsRefused) {
  // "PROXY UNKNOWN " + padding + CRLF
  const std::string head = "PROXY UNKNOWN ";
  const std::string ok = head + std::string(107 - head.size() - 2, 'x') + "\r\n";
  ASSERT_EQ(ok.size(), 107u);
  ProxyHeaderParser p1;
  EXPECT_EQ(p1.feed(ok.data(), ok.size()).status, Status::done);
  const std::string long_line = head + std::string(108 - head.size() - 2, 'x') + "\r\n";
  ProxyHeaderParser p2;
  const auto r = p2.feed(long_line.data(), long_line.size());
  EXPECT_EQ(r.status, Status::error);
  EXPECT_LE(r.consumed, 107u);
}

TEST(ProxyHeader, V1WithoutEndNeedsMore) {
  ProxyHeaderParser p;
  const std::string s = "PROXY TCP4 192.0.2.1 10.0.0.1 1 2";
  const auto r = p.feed(s.data(), s.size());
  EXPECT_EQ(r.status, Status::need_more);
  EXPECT_EQ(r.consumed, s.size());
}

TEST(ProxyHeader, V2ProxyInet4InAnyCuts) {
  const std::string hdr = v2(0x21, 0x11, inet4_block());
  for (size_t cut : {1, 3, 16, 28}) {
    ProxyHeaderParser p;
    const auto r = feed_cut(p, hdr + "\x16\x03\x01", cut);
    ASSERT_EQ(r.status, Status::done) << cut;
    EXPECT_EQ(r.consumed, hdr.size());
    EXPECT_EQ(p.header().version, 2);
    EXPECT_EQ(text_of(p.header().source), "192.0.2.1 12345");
    EXPECT_EQ(text_of(p.header().destination), "10.0.0.1 443");
  }
}

TEST(ProxyHeader, V2ProxyInet6) {
  std::string block(36, '\0');
  block[0] = '\x20', block[1] = '\x01', block[2] = '\x0d', block[3] = '\xb8', block[15] = '\x07';
  block[31] = '\x01';
  block[32] = '\x00', block[33] = '\x50', block[34] = '\x1f', block[35] = '\x90';
  ProxyHeaderParser p;
  const std::string hdr = v2(0x21, 0x21, block);
  ASSERT_EQ(p.feed(hdr.data(), hdr.size()).status, Status::done);
  EXPECT_EQ(text_of(p.header().source), "2001:db8::7 80");
  EXPECT_EQ(text_of(p.header().destination), "::1 8080");
}

TEST(ProxyHeader, V2TlvsAreSkippedWhenWellFormed) {
  // An ALPN TLV (0x01, "h2"), an empty NOOP (0x04), an AWS-style TLV (0xEA) of 5 bytes.
  const std::string tlvs = std::string("\x01\x00\x02h2" "\x04\x00\x00" "\xEA\x00\x05" "vpce-", 16);
  const std::string hdr = v2(0x21, 0x11, inet4_block() + tlvs);
  for (size_t cut : {1, 2, 1000}) {
    ProxyHeaderParser p;
    const auto r = feed_cut(p, hdr + "GET", cut);
    ASSERT_EQ(r.status, Status::done) << cut;
    EXPECT_EQ(r.consumed, hdr.size());
    EXPECT_EQ(text_of(p.header().source), "192.0.2.1 12345");
  }
}

TEST(ProxyHeader, V2TlvOverrunningTheHeaderIsRefused) {
  // Declares 9 bytes of value; only 2 are inside the header's length.
  const std::string hdr = v2(0x21, 0x11, inet4_block() + std::string("\x01\x00\x09h2", 5));
  ProxyHeaderParser p;
  EXPECT_EQ(feed_cut(p, hdr + std::string(20, 'x'), 1).status, Status::error);
  // A TLV head cut by the length.
  const std::string cut_head = v2(0x21, 0x11, inet4_block() + std::string("\x01\x00", 2));
  ProxyHeaderParser q;
  EXPECT_EQ(feed_cut(q, cut_head + "GET", 1).status, Status::error);
}

TEST(ProxyHeader, V2LocalSkipsItsBlockAndKeepsThePeer) {
  for (const std::string& body : {std::string(), inet4_block(), std::string(300, 'z')}) {
    ProxyHeaderParser p;
    const std::string hdr = v2(0x20, 0x11, body);
    const auto r = feed_cut(p, hdr + "GET", 7);
    ASSERT_EQ(r.status, Status::done);
    EXPECT_EQ(r.consumed, hdr.size());
    EXPECT_FALSE(p.header().has_addresses);
  }
}

TEST(ProxyHeader, V2UnspecAndUnixKeepThePeer) {
  ProxyHeaderParser p;
  const std::string unspec = v2(0x21, 0x00, "abc");
  ASSERT_EQ(p.feed(unspec.data(), unspec.size()).status, Status::done);
  EXPECT_FALSE(p.header().has_addresses);
  ProxyHeaderParser q;
  const std::string unix_hdr = v2(0x21, 0x31, std::string(216, '\0'));
  ASSERT_EQ(q.feed(unix_hdr.data(), unix_hdr.size()).status, Status::done);
  EXPECT_FALSE(q.header().has_addresses);
}

TEST(ProxyHeader, V2BadFixedPartsAreRefused) {
  const std::string bad[] = {
      v2(0x11, 0x11, inet4_block()),               // version 1 in a v2 header
      v2(0x22, 0x11, inet4_block()),               // command 2
      v2(0x21, 0x41, inet4_block()),               // family 4
      v2(0x21, 0x13, inet4_block()),               // transport 3
      v2(0x21, 0x11, inet4_block().substr(0, 11)), // length too short for INET
      v2(0x21, 0x21, inet4_block()),               // too short for INET6
      std::string("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B", 12),  // signature
  };
  for (const std::string& h : bad) {
    ProxyHeaderParser p;
    EXPECT_EQ(feed_cut(p, h + std::string(40, 'x'), 1).status, Status::error);
  }
}

TEST(ProxyHeader, V2TruncatedNeedsMore) {
  const std::string hdr = v2(0x21, 0x11, inet4_block());
  for (size_t n = 1; n < hdr.size(); ++n) {
    ProxyHeaderParser p;
    const auto r = p.feed(hdr.data(), n);
    EXPECT_EQ(r.status, Status::need_more) << n;
    EXPECT_EQ(r.consumed, n);
  }
}

TEST(ProxyHeader, NothingIsTakenAfterTheEnd) {
  ProxyHeaderParser p;
  const std::string line = "PROXY UNKNOWN\r\n";
  ASSERT_EQ(p.feed(line.data(), line.size()).status, Status::done);
  EXPECT_EQ(p.feed("more", 4).consumed, 0u);
}

TEST(ProxyHeader, WrittenHeadersParseBack) {
  sockaddr_storage s{}, d{};
  auto* s4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* d4 = reinterpret_cast<sockaddr_in*>(&d);
  s4->sin_family = d4->sin_family = AF_INET;
  inet_pton(AF_INET, "198.51.100.7", &s4->sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &d4->sin_addr);
  s4->sin_port = htons(40000);
  d4->sin_port = htons(8080);
  EXPECT_EQ(proxy_header_v1(s, d), "PROXY TCP4 198.51.100.7 127.0.0.1 40000 8080\r\n");
  for (const std::string& h : {proxy_header_v1(s, d), proxy_header_v2(s, d)}) {
    ProxyHeaderParser p;
    ASSERT_EQ(p.feed(h.data(), h.size()).status, Status::done);
    EXPECT_EQ(text_of(p.header().source), "198.51.100.7 40000");
    EXPECT_EQ(text_of(p.header().destination), "127.0.0.1 8080");
  }
  sockaddr_storage none{};
  EXPECT_EQ(proxy_header_v1(none, d), "PROXY UNKNOWN\r\n");
  for (const std::string& h : {proxy_header_v1_unknown(), proxy_header_v2_local(), proxy_header_v2(none, d)}) {
    ProxyHeaderParser p;
    ASSERT_EQ(p.feed(h.data(), h.size()).status, Status::done);
    EXPECT_FALSE(p.header().has_addresses);
  }
}

}  // namespace
}  // namespace lb::proxy
