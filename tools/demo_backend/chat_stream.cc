#include "chat_stream.h"

#include <array>

#include "json.h"

namespace demo {
namespace {

// The "generated" text: words of a sentence, in turn.
constexpr std::array<std::string_view, 16> kWords = {
    "lbd",   "keeps", "this", "stream", "alive", "while", "the", "model",
    "thinks,", "and", "ends", "it",     "cleanly", "if",  "it",  "dies."};

}  // namespace

ChatStream::ChatStream(std::string_view backend, uint64_t serial, const ChatPlan& plan)
    : BodyStream(plan.token_interval_ms),
      tokens_(plan.tokens),
      prefill_ms_(plan.prefill_ms),
      die_after_(plan.die_after),
      state_(plan.tokens > 0 ? State::tokens : State::finish) {
  std::string id = "chatcmpl-" + std::string(backend) + "-" + std::to_string(serial);
  prefix_ = "data: {\"id\":";
  append_json_string(prefix_, id);
  prefix_ += ",\"object\":\"chat.completion.chunk\",\"model\":\"lbd-demo\",\"backend\":";
  append_json_string(prefix_, backend);
  prefix_ += ",\"choices\":[{\"index\":0,\"delta\":";
}

bool ChatStream::cut() const {
  return die_after_ && *die_after_ < tokens_ && sent_ == *die_after_ && state_ == State::tokens;
}

std::string_view ChatStream::next() {
  event_ = prefix_;
  if (state_ == State::tokens) {
    event_ += "{\"content\":";
    append_json_string(event_, std::string(kWords[sent_ % kWords.size()]) + " ");
    event_ += "},\"finish_reason\":null}]}\n\n";
    if (++sent_ == tokens_) state_ = State::finish;
    return event_;
  }
  // The finish chunk and the end marker go out together.
  event_ += "{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  state_ = State::done;
  return event_;
}

}  // namespace demo
