#pragma once
// Command-line options of lbd-demo-backend.
#include <cstdint>
#include <optional>
#include <string>

#include "chat_stream.h"

namespace demo {

struct Options {
  std::string name = "app";        // answered by `/`, sent as X-Backend
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 9001;            // 0 = any free port (printed at start)
  uint64_t delay_ms = 0;           // added before every response
  // A "model server": at most this many requests at once (0 = no limit);
  // one more is answered 503 at once, as a GPU server with a full queue does.
  uint64_t max_concurrent = 0;
  // /v1/chat/completions requests that find every slot taken wait in the
  // server's own queue, up to this many (0: 503 at once, as other requests).
  uint64_t queue = 0;
  ChatPlan chat;                   // the replies' defaults; a query may override
  std::string redis_host;          // /session store; empty = this process's memory
  uint16_t redis_port = 6379;
};

// Parses argv. On --help prints usage to stdout and returns nullopt with
// `exit_code` 0; on a bad flag prints the problem and usage to stderr and
// returns nullopt with `exit_code` 2.
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace demo
