#pragma once
// The model-server mode's reply: /v1/chat/completions streamed as server-sent
// events shaped like OpenAI's chat-completion chunks, one token per event at
// a set pace after a silent "prefill", ending with a finish chunk and
// "data: [DONE]" — or cut after `die_after` tokens, as a crashed model
// server would (the connection drops: no finish, no end of the body).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "body_stream.h"

namespace demo {

struct ChatPlan {
  // Bounds the query and the flags are held to (handlers.cc, options.cc).
  static constexpr uint64_t kMaxTokens = 100'000;
  static constexpr uint64_t kMaxIntervalMs = 60'000;
  static constexpr uint64_t kMaxPrefillMs = 600'000;

  uint64_t tokens = 16;
  uint64_t token_interval_ms = 50;
  uint64_t prefill_ms = 0;             // silence before the first token
  std::optional<uint64_t> die_after;   // cut after this many tokens (if < tokens)
};

class ChatStream : public BodyStream {
 public:
  // `backend` is the server's name (a plain token, options.cc checks it);
  // `serial` makes the reply's id unique within the process.
  ChatStream(std::string_view backend, uint64_t serial, const ChatPlan& plan);

  bool done() const override { return state_ == State::done; }
  std::string_view next() override;
  uint64_t first_delay_ms() const override { return prefill_ms_; }
  bool cut() const override;

  uint64_t tokens_sent() const { return sent_; }

 private:
  enum class State { tokens, finish, done };

  std::string prefix_;  // the event's JSON up to the delta's content
  uint64_t tokens_;
  uint64_t prefill_ms_;
  std::optional<uint64_t> die_after_;
  uint64_t sent_ = 0;
  State state_;
  std::string event_;
};

}  // namespace demo
