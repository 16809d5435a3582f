#pragma once
// Where /session keeps its visit counters: in this process's memory (a
// user must then keep coming back to this very process: lbd's sticky mode)
// or in a Redis server shared by every app process (any process will do:
// lbd's passthrough mode). The Redis calls are synchronous: a demo app
// talking to a loopback Redis waits microseconds, and the code stays small.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

struct redisContext;

namespace demo {

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual const char* kind() const = 0;  // "memory" | "redis"
  // Whether session `id` exists here; nullopt (and `error`) if the store failed.
  virtual std::optional<bool> exists(const std::string& id, std::string& error) = 0;
  // Counts one visit of session `id` (creating it at 1); the new count.
  virtual std::optional<uint64_t> visit(const std::string& id, std::string& error) = 0;
};

class MemorySessions final : public SessionStore {
 public:
  const char* kind() const override { return "memory"; }
  std::optional<bool> exists(const std::string& id, std::string& error) override;
  std::optional<uint64_t> visit(const std::string& id, std::string& error) override;

 private:
  std::unordered_map<std::string, uint64_t> visits_;
};

class RedisSessions final : public SessionStore {
 public:
  static constexpr int kTtlSeconds = 1800;  // a session idle this long is gone

  RedisSessions(std::string host, uint16_t port);
  ~RedisSessions() override;
  RedisSessions(const RedisSessions&) = delete;
  RedisSessions& operator=(const RedisSessions&) = delete;

  // Connects (again, after an error); false with `error` set if it cannot.
  bool connect(std::string& error);

  const char* kind() const override { return "redis"; }
  std::optional<bool> exists(const std::string& id, std::string& error) override;
  std::optional<uint64_t> visit(const std::string& id, std::string& error) override;

 private:
  std::optional<long long> integer_command(std::string& error, const char* format, const std::string& arg);

  std::string host_;
  uint16_t port_;
  redisContext* ctx_ = nullptr;
};

// A new session id: 16 random bytes as 32 hex digits.
std::string new_session_id();
// Whether `id` looks like one of ours (so nothing odd reaches a Redis key).
bool valid_session_id(std::string_view id);

}  // namespace demo
