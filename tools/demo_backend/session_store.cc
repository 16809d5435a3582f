#include "session_store.h"

#include <hiredis/hiredis.h>
#include <sys/random.h>

#include <cstdio>

namespace demo {

namespace {

constexpr timeval kRedisTimeout{1, 0};

std::string key_of(const std::string& id) { return "lbd-demo:session:" + id; }

}  // namespace

std::string new_session_id() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += size_t(n);
  }
  std::string out;
  char hex[3];
  for (unsigned char b : bytes) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

bool valid_session_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<bool> MemorySessions::exists(const std::string& id, std::string&) { return visits_.contains(id); }

std::optional<uint64_t> MemorySessions::visit(const std::string& id, std::string&) { return ++visits_[id]; }

RedisSessions::RedisSessions(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}

RedisSessions::~RedisSessions() {
  if (ctx_) redisFree(ctx_);
}

bool RedisSessions::connect(std::string& error) {
  if (ctx_) redisFree(ctx_);
  ctx_ = redisConnectWithTimeout(host_.c_str(), port_, kRedisTimeout);
  if (ctx_ && !ctx_->err && redisSetTimeout(ctx_, kRedisTimeout) == REDIS_OK) return true;
  error = "redis " + host_ + ":" + std::to_string(port_) + ": " + (ctx_ ? ctx_->errstr : "out of memory");
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  return false;
}

std::optional<long long> RedisSessions::integer_command(std::string& error, const char* format,
                                                        const std::string& arg) {
  // One reconnect per command: Redis may have restarted since the last one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ctx_ && !connect(error)) return std::nullopt;
    auto* reply = static_cast<redisReply*>(redisCommand(ctx_, format, arg.c_str()));
    if (!reply) {
      error = "redis: " + std::string(ctx_->errstr);
      redisFree(ctx_);
      ctx_ = nullptr;
      continue;
    }
    std::optional<long long> value;
    if (reply->type == REDIS_REPLY_INTEGER) {
      value = reply->integer;
    } else {
      error = "redis: unexpected reply" +
              (reply->type == REDIS_REPLY_ERROR ? ": " + std::string(reply->str, reply->len) : std::string());
    }
    freeReplyObject(reply);
    return value;
  }
  return std::nullopt;
}

std::optional<bool> RedisSessions::exists(const std::string& id, std::string& error) {
  auto n = integer_command(error, "EXISTS %s", key_of(id));
  if (!n) return std::nullopt;
  return *n > 0;
}

std::optional<uint64_t> RedisSessions::visit(const std::string& id, std::string& error) {
  auto n = integer_command(error, "INCR %s", key_of(id));
  if (!n) return std::nullopt;
  // Sliding expiry: a session lives while it is used.
  if (!integer_command(error, ("EXPIRE %s " + std::to_string(kTtlSeconds)).c_str(), key_of(id))) return std::nullopt;
  return static_cast<uint64_t>(*n);
}

}  // namespace demo
