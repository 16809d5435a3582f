#include "options.h"

#include <charconv>
#include <cstdio>
#include <string_view>

#include "slots.h"

namespace demo {
namespace {

constexpr const char* kUsage =
    "usage: lbd-demo-backend [--name NAME] [--listen HOST:PORT] [--delay-ms N] [--max-concurrent N]\n"
    "                        [--queue N] [--tokens N] [--token-interval-ms N] [--prefill-ms N]\n"
    "                        [--redis HOST:PORT]\n"
    "  --name NAME         name answered by / and sent in X-Backend (default app)\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:9001;\n"
    "                      [::1]:PORT for IPv6, port 0 picks a free one)\n"
    "  --delay-ms N        wait N ms before every response (default 0)\n"
    "  --max-concurrent N  serve at most N requests at once, like a model server;\n"
    "                      one more gets 503 at once (default 0: no limit).\n"
    "                      GET /load shows in_flight, peak_in_flight and busy;\n"
    "                      every answer carries X-Backend-Load: requests waiting\n"
    "model server (/v1/chat/completions streams tokens as server-sent events):\n"
    "  --queue N           chat requests over --max-concurrent wait in this queue\n"
    "                      (0..10000, default 0: 503 at once); /metrics has its\n"
    "                      depth as demo:num_requests_waiting\n"
    "  --tokens N          tokens per reply (1..100000, default 16)\n"
    "  --token-interval-ms N  pause between tokens (0..60000, default 50)\n"
    "  --prefill-ms N      silence before the first token (0..600000, default 0)\n"
    "  a query overrides them per request: ?tokens=N&token_interval_ms=N&prefill_ms=N;\n"
    "  ?die_after=N drops the connection after N tokens (a crash mid-reply)\n"
    "  --redis HOST:PORT   keep /session's sessions in this Redis server\n"
    "                      (default: in this process's memory)\n"
    "endpoints: / /echo /healthz /metrics /v1/chat/completions /admin/health/{fail,ok} /delay?ms=N /bytes?n=N\n"
    "  /chunked?n=N&size=S&interval_ms=I /sse?n=N&interval_ms=I /status/CODE /session\n";

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "127.0.0.1:9001" or "[::1]:9001".
bool parse_host_port(std::string_view text, std::string& host_out, uint16_t& port_out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  host_out = std::string(host);
  return parse_number(text.substr(colon + 1), port_out);
}

// The name goes into a response header, so it must be a plain token.
bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

bool fail(std::string_view message, int& exit_code) {
  std::fprintf(stderr, "lbd-demo-backend: %.*s\n%s", static_cast<int>(message.size()), message.data(), kUsage);
  exit_code = 2;
  return false;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      exit_code = 0;
      return std::nullopt;
    }
    // Both "--flag value" and "--flag=value".
    std::string_view flag = arg, value;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      fail(std::string(arg) + " needs a value", exit_code);
      return std::nullopt;
    }
    bool ok = true;
    if (flag == "--name") {
      ok = valid_name(value) || fail("--name wants printable ASCII without spaces", exit_code);
      opts.name = std::string(value);
    } else if (flag == "--listen") {
      ok = parse_host_port(value, opts.host, opts.port) || fail("--listen wants HOST:PORT, got " + std::string(value), exit_code);
    } else if (flag == "--redis") {
      ok = (parse_host_port(value, opts.redis_host, opts.redis_port) && opts.redis_port != 0) ||
           fail("--redis wants HOST:PORT, got " + std::string(value), exit_code);
    } else if (flag == "--delay-ms") {
      ok = parse_number(value, opts.delay_ms) ||
           fail("--delay-ms wants a number of milliseconds, got " + std::string(value), exit_code);
    } else if (flag == "--max-concurrent") {
      ok = parse_number(value, opts.max_concurrent) ||
           fail("--max-concurrent wants a number of requests, got " + std::string(value), exit_code);
    } else if (flag == "--queue") {
      ok = (parse_number(value, opts.queue) && opts.queue <= Slots::kMaxWaiting) ||
           fail("--queue wants 0..10000 requests, got " + std::string(value), exit_code);
    } else if (flag == "--tokens") {
      ok = (parse_number(value, opts.chat.tokens) && opts.chat.tokens >= 1 &&
            opts.chat.tokens <= ChatPlan::kMaxTokens) ||
           fail("--tokens wants 1..100000, got " + std::string(value), exit_code);
    } else if (flag == "--token-interval-ms") {
      ok = (parse_number(value, opts.chat.token_interval_ms) &&
            opts.chat.token_interval_ms <= ChatPlan::kMaxIntervalMs) ||
           fail("--token-interval-ms wants 0..60000, got " + std::string(value), exit_code);
    } else if (flag == "--prefill-ms") {
      ok = (parse_number(value, opts.chat.prefill_ms) && opts.chat.prefill_ms <= ChatPlan::kMaxPrefillMs) ||
           fail("--prefill-ms wants 0..600000, got " + std::string(value), exit_code);
    } else {
      ok = fail("unknown option " + std::string(flag), exit_code);
    }
    if (!ok) return std::nullopt;
  }
  return opts;
}

}  // namespace demo
