// The demo backend's streamed chat reply (tools/demo_backend/chat_stream.h).
#include "chat_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace demo {
namespace {

// Every piece the stream gives, stopping where the connection would drop.
struct Drained {
  std::vector<std::string> pieces;
  bool cut = false;
};

Drained drain(ChatStream& s) {
  Drained d;
  while (!s.done()) {
    if (s.cut()) {
      d.cut = true;
      break;
    }
    d.pieces.emplace_back(s.next());
    if (d.pieces.size() > 1000) break;
  }
  return d;
}

ChatPlan plan(uint64_t tokens, std::optional<uint64_t> die_after = std::nullopt) {
  ChatPlan p;
  p.tokens = tokens;
  p.token_interval_ms = 7;
  p.prefill_ms = 300;
  p.die_after = die_after;
  return p;
}

TEST(DemoChatStream, OneEventPerTokenThenFinishAndDone) {
  ChatStream s("m1", 4, plan(3));
  EXPECT_EQ(s.interval_ms(), 7u);
  EXPECT_EQ(s.first_delay_ms(), 300u);
  Drained d = drain(s);
  ASSERT_FALSE(d.cut);
  ASSERT_EQ(d.pieces.size(), 4u);
  EXPECT_EQ(d.pieces[0],
            "data: {\"id\":\"chatcmpl-m1-4\",\"object\":\"chat.completion.chunk\",\"model\":\"lbd-demo\","
            "\"backend\":\"m1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lbd \"},"
            "\"finish_reason\":null}]}\n\n");
  EXPECT_NE(d.pieces[1].find("\"content\":\"keeps \""), std::string::npos);
  EXPECT_EQ(d.pieces[3],
            "data: {\"id\":\"chatcmpl-m1-4\",\"object\":\"chat.completion.chunk\",\"model\":\"lbd-demo\","
            "\"backend\":\"m1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            "data: [DONE]\n\n");
  EXPECT_EQ(s.tokens_sent(), 3u);
}

TEST(DemoChatStream, EachTokenIsOneWholeEvent) {
  ChatStream s("m1", 1, plan(40));
  Drained d = drain(s);
  ASSERT_EQ(d.pieces.size(), 41u);
  for (size_t i = 0; i < 40; ++i) {
    const std::string& e = d.pieces[i];
    EXPECT_TRUE(e.starts_with("data: {")) << e;
    EXPECT_TRUE(e.ends_with("}\n\n")) << e;
    EXPECT_EQ(e.find("\n\n"), e.size() - 2) << "a blank line inside event " << i;
  }
}

TEST(DemoChatStream, DiesAfterTheGivenNumberOfTokens) {
  ChatStream s("m2", 1, plan(10, 3));
  Drained d = drain(s);
  EXPECT_TRUE(d.cut);
  EXPECT_EQ(d.pieces.size(), 3u);
  EXPECT_FALSE(s.done());
  for (const auto& e : d.pieces) EXPECT_EQ(e.find("[DONE]"), std::string::npos);
}

TEST(DemoChatStream, DieAfterZeroCutsBeforeTheFirstToken) {
  ChatStream s("m2", 1, plan(10, 0));
  EXPECT_TRUE(s.cut());
}

TEST(DemoChatStream, DieAfterAtOrPastTheEndNeverCuts) {
  for (uint64_t die_after : {5u, 6u, 100u}) {
    ChatStream s("m2", 1, plan(5, die_after));
    Drained d = drain(s);
    EXPECT_FALSE(d.cut) << die_after;
    EXPECT_EQ(d.pieces.size(), 6u) << die_after;
  }
}

}  // namespace
}  // namespace demo
