#include "lb/http/sse_events.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::http {
namespace {

size_t feed(SseEvents& s, const std::string& text) { return s.feed(text.data(), text.size()); }

TEST(SseEvents, ABlankLineEndsAnEventWhateverTheLineEndings) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    SseEvents s;
    EXPECT_TRUE(s.at_boundary());  // nothing sent yet
    EXPECT_EQ(feed(s, "data: a" + eol), 0u);
    EXPECT_FALSE(s.at_boundary());  // a field line without its blank line
    EXPECT_EQ(feed(s, eol), 1u) << "eol " << int(eol[0]);
    EXPECT_TRUE(s.at_boundary());
    EXPECT_EQ(feed(s, "event: x" + eol + "data: b" + eol + eol + "data: c" + eol + eol), 2u);
    EXPECT_EQ(s.events(), 3u);
  }
}

TEST(SseEvents, AnEventSplitAcrossReadsAnywhereIsTrackedByteByByte) {
  const std::string stream = "id: 1\r\ndata: hello\r\n\r\n: comment\r\n\r\ndata: x\r\n\r\n";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    SseEvents s;
    size_t events = feed(s, stream.substr(0, cut));
    events += feed(s, stream.substr(cut));
    EXPECT_EQ(events, 3u) << "cut at " << cut;
    EXPECT_TRUE(s.at_boundary());
  }
}

TEST(SseEvents, NeverAtABoundaryInsideAnEvent) {
  SseEvents s;
  const std::string stream = "data: one\ndata: two\n\n";
  for (size_t i = 0; i + 1 < stream.size(); ++i) {
    s.feed(&stream[i], 1);
    // Only after the blank line (the last byte) is it a boundary again.
    EXPECT_FALSE(s.at_boundary()) << "after byte " << i;
  }
  s.feed(&stream.back(), 1);
  EXPECT_TRUE(s.at_boundary());
}

TEST(SseEvents, ACrThatMayStillGetItsLfIsFlagged) {
  SseEvents s;
  feed(s, "data: a\r\n\r");
  EXPECT_TRUE(s.at_boundary());
  EXPECT_TRUE(s.after_cr());
  feed(s, "\n");  // the CRLF's LF: not another empty line
  EXPECT_FALSE(s.after_cr());
  EXPECT_TRUE(s.at_boundary());
  EXPECT_EQ(s.events(), 1u);
}

TEST(SseEvents, ExtraBlankLinesAndNoEventsAtAll) {
  SseEvents s;
  EXPECT_EQ(feed(s, "\n\n\n\r\n"), 0u);  // empty lines dispatch nothing
  EXPECT_TRUE(s.at_boundary());
  EXPECT_EQ(feed(s, std::string(100000, 'x')), 0u);  // one endless line
  EXPECT_FALSE(s.at_boundary());
}

}  // namespace
}  // namespace lb::http
