#include "lb/balance/backend.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace lb::balance {

namespace {

int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

sockaddr_storage resolve(const config::Address& a) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
    return ss;
  }
  if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
    return ss;
  }
  // A host name: resolved once, at config load (like nginx without `resolver`).
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(a.host.c_str(), nullptr, &hints, &res) == 0 && res) {
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    if (ss.ss_family == AF_INET) v4->sin_port = htons(a.port);
    if (ss.ss_family == AF_INET6) v6->sin6_port = htons(a.port);
    freeaddrinfo(res);
  }
  return ss;
}

}  // namespace

Backend::Backend(std::string name, config::Address address, uint32_t weight)
    : name_(std::move(name)), address_(std::move(address)), weight_(weight) {
  sockaddr_ = resolve(address_);
}

bool Backend::usable_at(TimePoint now) const {
  return healthy() && admin_state() == AdminState::ready && !ejected_at(now);
}

void Backend::eject_until(TimePoint until) {
  ejected_until_ns_.store(to_ns(until), std::memory_order_relaxed);
}

int Backend::count_failure(TimePoint now, Duration window) {
  // Workers race here only to count one failure more or less; no lock.
  const int64_t now_ns = to_ns(now);
  const int64_t start = fail_window_start_ns_.load(std::memory_order_relaxed);
  if (fails_.load(std::memory_order_relaxed) == 0 ||
      now_ns - start > std::chrono::duration_cast<std::chrono::nanoseconds>(window).count()) {
    fail_window_start_ns_.store(now_ns, std::memory_order_relaxed);
    fails_.store(1, std::memory_order_relaxed);
    return 1;
  }
  return fails_.fetch_add(1, std::memory_order_relaxed) + 1;
}

bool Backend::ejected_at(TimePoint now) const {
  return to_ns(now) < ejected_until_ns_.load(std::memory_order_relaxed);
}

}  // namespace lb::balance
