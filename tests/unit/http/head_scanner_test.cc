#include "lb/http/head_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lb::http {
namespace {

using Verdict = HeadScanner::Verdict;

struct Scan {
  Verdict verdict;
  size_t consumed;
};

// Scans a copy of `bytes` (the scanner may repair them in place).
Scan scan(HeadScanner& s, std::string_view bytes) {
  std::string copy(bytes);
  size_t consumed = SIZE_MAX;
  const Verdict v = s.scan(copy.data(), copy.size(), &consumed);
  return {v, consumed};
}

TEST(HttpHeadScanner, StopsJustPastTheBlankLine) {
  HeadScanner s;
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const Scan r = scan(s, head + "body bytes\n");
  EXPECT_EQ(r.verdict, Verdict::head_done);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_TRUE(s.done());
}

TEST(HttpHeadScanner, StandsAsideUntilReset) {
  HeadScanner s;
  ASSERT_EQ(scan(s, "GET / HTTP/1.1\r\n\r\n").verdict, Verdict::head_done);
  // Body bytes may contain anything.
  const Scan body = scan(s, std::string_view("\n\r\0 x", 5));
  EXPECT_EQ(body.verdict, Verdict::head_done);
  EXPECT_EQ(body.consumed, 0u);
  s.reset();
  EXPECT_FALSE(s.done());
  EXPECT_EQ(scan(s, "\nGET").verdict, Verdict::malformed);
}

TEST(HttpHeadScanner, HeadSplitAcrossReads) {
  HeadScanner s;
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i + 1 < head.size(); ++i) {
    const Scan r = scan(s, head.substr(i, 1));
    ASSERT_EQ(r.verdict, Verdict::need_more) << "at byte " << i;
    EXPECT_EQ(r.consumed, 1u);
  }
  const Scan last = scan(s, "\n");
  EXPECT_EQ(last.verdict, Verdict::head_done);
  EXPECT_EQ(last.consumed, 1u);
}

TEST(HttpHeadScanner, CrlfSplitBetweenReadsIsNotBare) {
  HeadScanner s;
  EXPECT_EQ(scan(s, "GET / HTTP/1.1\r").verdict, Verdict::need_more);
  EXPECT_EQ(scan(s, "\nHost: x\r\n\r").verdict, Verdict::need_more);
  EXPECT_EQ(scan(s, "\n").verdict, Verdict::head_done);
}

TEST(HttpHeadScanner, EmptyLinesBeforeTheRequestLineAreSkipped) {
  HeadScanner s;
  const std::string wire = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  const Scan r = scan(s, wire);
  EXPECT_EQ(r.verdict, Verdict::head_done);
  EXPECT_EQ(r.consumed, wire.size());
}

TEST(HttpHeadScanner, MalformedBytesReportTheirOffset) {
  struct Case {
    std::string_view wire;
    size_t offset;
  } cases[] = {
      {"GET / HTTP/1.1\nHost: x\r\n\r\n", 14},                      // bare LF
      {"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 24},              // bare CR
      {std::string_view("GET / HTTP/1.1\r\nHost: \0\r\n\r\n", 27), 22},  // NUL
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 22},                  // obs-fold, space
      {"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 22},                 // obs-fold, tab
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.wire));
    HeadScanner s;
    const Scan r = scan(s, c.wire);
    EXPECT_EQ(r.verdict, Verdict::malformed);
    EXPECT_EQ(r.consumed, c.offset);
  }
}

TEST(HttpHeadScanner, LimitCountsEveryHeadByte) {
  const std::string head = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  HeadScanner exact(head.size());
  EXPECT_EQ(scan(exact, head).verdict, Verdict::head_done);

  HeadScanner one_short(head.size() - 1);
  const Scan r = scan(one_short, head);
  EXPECT_EQ(r.verdict, Verdict::too_large);
  EXPECT_EQ(r.consumed, head.size() - 1);
}

TEST(HttpHeadScanner, TooLargeNamesTheFirstByteOverTheLimitInsideALongLine) {
  // The fast path through a header line must not report the end of the
  // line: the parser checks the bytes before the limit for an earlier error.
  const std::string head = "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n";
  for (size_t limit : {size_t(30), size_t(50), size_t(100)}) {
    HeadScanner s(limit);
    const Scan r = scan(s, head);
    EXPECT_EQ(r.verdict, Verdict::too_large) << limit;
    EXPECT_EQ(r.consumed, limit) << limit;
  }
}

TEST(HttpHeadScanner, LimitAppliesAcrossReadsAndRestartsOnReset) {
  HeadScanner s(20);
  EXPECT_EQ(scan(s, "GET / HTTP/1.1\r\n").verdict, Verdict::need_more);  // 16 bytes
  EXPECT_EQ(scan(s, "Host: x\r\n\r\n").verdict, Verdict::too_large);
  s.reset();
  s.set_limit(64);
  EXPECT_EQ(scan(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").verdict, Verdict::head_done);
}

TEST(HttpHeadScanner, RequestLineNeedsSingleSpacesBetweenItsParts) {
  for (std::string_view wire : {"GET  / HTTP/1.1\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n", "GET\t/ HTTP/1.1\r\n\r\n",
                                " GET / HTTP/1.1\r\n\r\n", "\r\n GET / HTTP/1.1\r\n\r\n"}) {
    SCOPED_TRACE(std::string(wire));
    HeadScanner s;
    EXPECT_EQ(scan(s, wire).verdict, Verdict::malformed);
  }
}

TEST(HttpHeadScanner, SpacesInsideHeaderValuesAreFine) {
  HeadScanner s;
  EXPECT_EQ(scan(s, "GET / HTTP/1.1\r\nUser-Agent: a  b\t c\r\n\r\n").verdict, Verdict::head_done);
}

// RFC 9112 §2.3: a higher minor version is served as HTTP/1.1.
TEST(HttpHeadScanner, HigherMinorVersionIsRepairedInPlace) {
  HeadScanner s;
  std::string wire = "GET / HTTP/1.7\r\nHost: x\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(s.scan(wire.data(), wire.size(), &consumed), Verdict::head_done);
  EXPECT_EQ(wire, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(HttpHeadScanner, RepairTouchesOnlyTheVersionNotTheTarget) {
  HeadScanner s;
  std::string wire = "GET /spec/HTTP/1.2/notes HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string original = wire;
  size_t consumed = 0;
  EXPECT_EQ(s.scan(wire.data(), wire.size(), &consumed), Verdict::head_done);
  EXPECT_EQ(wire, original);
}

TEST(HttpHeadScanner, RepairWorksWhenTheVersionIsSplitAcrossReads) {
  HeadScanner s;
  std::string first = "GET / HTTP/1.", second = "3\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(s.scan(first.data(), first.size(), &consumed), Verdict::need_more);
  EXPECT_EQ(s.scan(second.data(), second.size(), &consumed), Verdict::head_done);
  EXPECT_EQ(second, "1\r\n\r\n");
}

TEST(HttpHeadScanner, HeaderValuesAreNeverRepaired) {
  HeadScanner s;
  std::string wire = "GET / HTTP/1.1\r\nVia: HTTP/1.5 proxy\r\n\r\n";
  const std::string original = wire;
  size_t consumed = 0;
  EXPECT_EQ(s.scan(wire.data(), wire.size(), &consumed), Verdict::head_done);
  EXPECT_EQ(wire, original);
}

}  // namespace
}  // namespace lb::http
