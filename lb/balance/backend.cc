#include "lb/balance/backend.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>

namespace lb::balance {

namespace {

int64_t to_ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// ejected_until_ns_ while an active check must confirm the end of an ejection.
constexpr int64_t kUntilChecked = std::numeric_limits<int64_t>::max();
// recovered_at_ns_ of a backend that never came back (no slow start at boot).
constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;

// An IP literal's address; AF_UNSPEC for a host name (lb/discovery resolves it).
sockaddr_storage literal_address(const config::Address& a) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
  } else if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
  }
  return ss;
}

}  // namespace

Backend::Backend(std::string name, config::Address address, uint32_t weight)
    : weight_(weight), recovered_at_ns_(kNever), name_(std::move(name)), address_(std::move(address)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  static_assert(offsetof(Backend, reported_at_ns_) + sizeof(reported_at_ns_) <= 64,
                "what a pick reads no longer fits the first cache line");
#pragma GCC diagnostic pop
  const sockaddr_storage literal = literal_address(address_);
  if (literal.ss_family != AF_UNSPEC) set_sockaddr(literal);
}

sockaddr_storage Backend::sockaddr() const {
  uint64_t words[kAddressWords];
  for (;;) {
    const uint32_t before = address_seq_.load(std::memory_order_acquire);
    if (before & 1) continue;  // a write is under way (a few stores long)
    for (size_t i = 0; i < kAddressWords; ++i) words[i] = address_words_[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (address_seq_.load(std::memory_order_relaxed) == before) break;
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, words, sizeof(sockaddr_in6));
  return ss;
}

void Backend::set_sockaddr(const sockaddr_storage& address) {
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6) return;  // has_sockaddr relies on it
  uint64_t words[kAddressWords] = {};
  std::memcpy(words, &address, address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  const uint32_t seq = address_seq_.load(std::memory_order_relaxed);
  address_seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kAddressWords; ++i) address_words_[i].store(words[i], std::memory_order_relaxed);
  address_seq_.store(seq + 2, std::memory_order_release);
  has_address_.store(true, std::memory_order_release);
  state_changed();
}

std::string_view to_string(AdminState s) {
  switch (s) {
    case AdminState::ready: return "ready";
    case AdminState::draining: return "draining";
    case AdminState::maint: return "maint";
  }
  return "?";
}

std::string_view to_string(BackendState s) {
  switch (s) {
    case BackendState::up: return "up";
    case BackendState::down: return "down";
    case BackendState::draining: return "draining";
    case BackendState::maint: return "maint";
    case BackendState::ejected: return "ejected";
  }
  return "?";
}

std::string_view to_string(CheckResult r) {
  switch (r) {
    case CheckResult::success: return "success";
    case CheckResult::failure: return "failure";
    case CheckResult::timeout: return "timeout";
  }
  return "?";
}

bool Backend::try_acquire_slot() {
  const uint32_t cap = max_requests();
  if (cap == 0) {
    active_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  int now = active_.load(std::memory_order_relaxed);
  do {
    if (now >= int(cap)) return false;
  } while (!active_.compare_exchange_weak(now, now + 1, std::memory_order_acquire, std::memory_order_relaxed));
  return true;
}

bool Backend::claim_probe(TimePoint now, std::chrono::nanoseconds every) {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const int64_t every_ns = every.count();
  int64_t last = probe_at_ns_.load(std::memory_order_relaxed);
  do {
    if (last != 0 && now_ns - last < every_ns) return false;
  } while (!probe_at_ns_.compare_exchange_weak(last, now_ns, std::memory_order_relaxed));
  return true;
}

bool Backend::usable_for_pinned_at(TimePoint now) const {
  return healthy() && admin_state() != AdminState::maint && !ejected_at(now) && has_sockaddr();
}

BackendState Backend::state_at(TimePoint now) const {
  const AdminState admin = admin_state();
  if (admin == AdminState::maint) return BackendState::maint;
  if (!healthy() || !has_sockaddr()) return BackendState::down;
  if (ejected_at(now)) return BackendState::ejected;
  if (admin == AdminState::draining) return BackendState::draining;
  return BackendState::up;
}

void Backend::eject_until_checked(TimePoint earliest) {
  eject_earliest_ns_.store(to_ns(earliest), std::memory_order_relaxed);
  ejected_until_ns_.store(kUntilChecked, std::memory_order_relaxed);
  state_changed();
}

bool Backend::awaiting_check() const { return ejected_until_ns_.load(std::memory_order_relaxed) == kUntilChecked; }

void Backend::end_ejection(TimePoint now) {
  // The ejection's end is the start of slow start: weight_at reads it there.
  ejected_until_ns_.store(to_ns(now), std::memory_order_relaxed);
  state_changed();
}

void Backend::mark_recovered(TimePoint now) {
  recovered_at_ns_.store(to_ns(now), std::memory_order_relaxed);
  state_changed();
}

uint64_t Backend::ramped_weight(uint64_t full, int64_t ramp, TimePoint now) const {
  const int64_t now_ns = to_ns(now);
  // Back in service since the later of: the last recovery, the end of the
  // last ejection (0 = never ejected; in the future = still ejected).
  int64_t since = recovered_at_ns_.load(std::memory_order_relaxed);
  const int64_t ejection_end = ejected_until_ns_.load(std::memory_order_relaxed);
  if (ejection_end > 0 && ejection_end <= now_ns && ejection_end > since) since = ejection_end;
  const int64_t elapsed = now_ns - since;
  if (elapsed >= ramp) return full;
  if (elapsed <= 0) return 1;
  // Never 0: a ramping backend still takes a trickle, as in HAProxy.
  return std::max<uint64_t>(1, uint64_t(double(full) * double(elapsed) / double(ramp)));
}

std::string Backend::active_reason() const {
  std::lock_guard lock(reasons_mutex_);
  return active_reason_;
}

void Backend::set_active_reason(std::string reason) {
  std::lock_guard lock(reasons_mutex_);
  active_reason_ = std::move(reason);
}

std::string Backend::passive_reason() const {
  std::lock_guard lock(reasons_mutex_);
  return passive_reason_;
}

void Backend::set_passive_reason(std::string reason) {
  std::lock_guard lock(reasons_mutex_);
  passive_reason_ = std::move(reason);
}

void Backend::eject_until(TimePoint until) {
  ejected_until_ns_.store(to_ns(until), std::memory_order_relaxed);
  state_changed();
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

TimePoint Backend::ejected_until() const {
  const int64_t until = ejected_until_ns_.load(std::memory_order_relaxed);
  return until == kUntilChecked ? TimePoint::max() : TimePoint(std::chrono::nanoseconds(until));
}

}  // namespace lb::balance
