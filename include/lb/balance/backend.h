#pragma once
// One upstream server as the balancer sees it. Identity and configured
// weight come from the config; everything that changes at run time is an
// atomic so worker threads read it without locks (DESIGN.md §2). A Backend
// is shared (shared_ptr) by every worker and survives reloads for as long as
// a pool keeps a backend of the same name and address.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

#include "lb/config/config.h"
#include "lb/core/time.h"
#include "lb/metrics/backend_stats.h"

namespace lb::balance {

// Operator-set state (admin API); health is tracked separately.
enum class AdminState : uint8_t { ready, draining, maint };
std::string_view to_string(AdminState s);

// The one state an operator sees (lbd_backend_state, /api/pools), folded
// from health, admin state and passive ejection by Backend::state_at.
enum class BackendState : uint8_t { up, down, draining, maint, ejected };
std::string_view to_string(BackendState s);

// Outcome of one active health check (lbd_backend_health_checks_total).
enum class CheckResult : uint8_t { success, failure, timeout };
std::string_view to_string(CheckResult r);

// Weights as strategies see them (Backend::weight_at) are in 1/kWeightScale
// units, so slow start can ramp a weight of 1 smoothly.
inline constexpr uint64_t kWeightScale = 1024;

class Backend {
 public:
  Backend(std::string name, config::Address address, uint32_t weight);

  const std::string& name() const { return name_; }
  const config::Address& address() const { return address_; }
  // Where to connect. An IP literal is set at construction; a host name is
  // resolved by lb/discovery on the control thread and may change at run
  // time (set_sockaddr), taking effect for the next connection. Until a
  // name is first resolved sa_family is AF_UNSPEC and the backend is not
  // usable. Lock-free for readers (a sequence lock over atomic words).
  sockaddr_storage sockaddr() const;
  // Every strategy asks this of every backend it considers: one load, not
  // a copy of the address under its sequence lock.
  bool has_sockaddr() const { return has_address_.load(std::memory_order_acquire); }
  // Control thread only (one writer). The port is the configured one.
  void set_sockaddr(const sockaddr_storage& address);

  uint32_t weight() const { return weight_.load(std::memory_order_relaxed); }
  void set_weight(uint32_t w) {
    if (weight_.exchange(w, std::memory_order_relaxed) != w) state_changed();
  }

  // Moves whenever a setter may have changed which backends are usable or
  // what they weigh (health, admin state, ejection, address, weight, slow
  // start); time passing does not move it (an ejection running out, a
  // ramp). Strategies that precompute from that state (weighted_round_
  // robin's cycle) rebuild when it moves. One counter for the process: a
  // change in one pool costs the others a rebuild too, and changes are
  // rare next to requests.
  static uint64_t state_epoch() { return state_epoch_.load(std::memory_order_acquire); }

  // May new requests be sent here? Health up, admin ready, not passively ejected.
  bool usable() const { return usable_at(Clock::now()); }
  bool usable_at(TimePoint now) const {
    return healthy() && admin_state() == AdminState::ready && !ejected_at(now) && has_sockaddr();
  }

  // Health as decided by the active checker (true without one).
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  void set_healthy(bool up) {
    if (healthy_.exchange(up, std::memory_order_relaxed) != up) state_changed();
  }

  AdminState admin_state() const { return admin_.load(std::memory_order_relaxed); }
  void set_admin_state(AdminState s) {
    if (admin_.exchange(s, std::memory_order_relaxed) != s) state_changed();
  }

  // Passive ejection: not usable until `until`.
  void eject_until(TimePoint until);
  bool ejected_at(TimePoint now) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() <
           ejected_until_ns_.load(std::memory_order_relaxed);
  }
  // When a running ejection ends by itself; TimePoint::max() while one
  // waits for an active check.
  TimePoint ejected_until() const;
  // Passive ejection in a pool with active checks: out until at least
  // `earliest` AND an active check has passed since (end_ejection).
  void eject_until_checked(TimePoint earliest);
  bool awaiting_check() const;
  TimePoint ejection_earliest_end() const {
    return TimePoint(std::chrono::nanoseconds(eject_earliest_ns_.load(std::memory_order_relaxed)));
  }
  // Lets an ejected backend back in now (a check passed, or checks stopped).
  void end_ejection(TimePoint now);

  // The state an operator sees. Precedence: maint (the operator took it
  // out), down, ejected (facts that stop all traffic), draining, up.
  BackendState state_at(TimePoint now) const;
  // May a request pinned here (sticky session) still come? Draining keeps
  // its users; down, maint and ejected do not.
  bool usable_for_pinned_at(TimePoint now) const;

  // Why the active checker holds it up or down / why it was ejected. Written
  // on transitions only (control thread; a worker when it ejects), read by
  // the admin API and the status page: a mutex, never on the request path.
  std::string active_reason() const;
  void set_active_reason(std::string reason);
  std::string passive_reason() const;
  void set_passive_reason(std::string reason);

  // Active health checks run against this backend, by result.
  void count_check(CheckResult r) { checks_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t checks(CheckResult r) const { return checks_[static_cast<size_t>(r)].load(std::memory_order_relaxed); }

  // Slow start: after coming back (health up, ejection over, maint ended)
  // the weight strategies see ramps linearly from ~0 to weight() over the
  // pool's slow_start. weight_at is in 1/kWeightScale units.
  void set_slow_start(Duration d) {
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (slow_start_ns_.exchange(ns, std::memory_order_relaxed) != ns) state_changed();
  }
  void mark_recovered(TimePoint now);
  uint64_t weight_at(TimePoint now) const {
    const uint64_t full = uint64_t{weight()} * kWeightScale;
    const int64_t ramp = slow_start_ns_.load(std::memory_order_relaxed);
    return ramp <= 0 ? full : ramped_weight(full, ramp, now);
  }

  // Passive health: failures counted in a window that starts with the
  // first failure and lasts `window`. Returns the count including this one.
  int count_failure(TimePoint now, Duration window);
  void clear_failures() {
    // Load first: the common case writes nothing to the shared cache line.
    if (fails_.load(std::memory_order_relaxed) != 0) fails_.store(0, std::memory_order_relaxed);
  }

  // In-flight requests summed over all workers.
  int active_requests() const { return active_.load(std::memory_order_relaxed); }
  // Unconditional (tests, and strategies' unit tests); requests use slots.
  void add_active(int delta) { active_.fetch_add(delta, std::memory_order_relaxed); }

  // The in-flight cap over all workers (max_requests; 0 = none). Set from
  // the config at each reload and by the admin API in between.
  uint32_t max_requests() const { return max_requests_.load(std::memory_order_relaxed); }
  void set_max_requests(uint32_t n) { max_requests_.store(n, std::memory_order_relaxed); }
  // Room for one more request now (a hint: another worker may take it first).
  bool has_room() const {
    const uint32_t cap = max_requests();
    return cap == 0 || active_requests() < int(cap);
  }
  // Takes one in-flight slot if the cap allows; a compare-and-swap, so all
  // workers together never exceed max_requests. Pair with release_slot().
  bool try_acquire_slot();
  void release_slot() { active_.fetch_sub(1, std::memory_order_release); }

  // Peak-EWMA of response time in microseconds (p2c_ewma); 0 = no sample
  // yet. Its timestamp is shared too, so every worker decays it alike.
  double latency_ewma_us() const { return ewma_us_.load(std::memory_order_relaxed); }
  TimePoint latency_updated_at() const {
    return TimePoint(std::chrono::nanoseconds(ewma_at_ns_.load(std::memory_order_relaxed)));
  }
  void set_latency_ewma_us(double v, TimePoint at) {
    ewma_us_.store(v, std::memory_order_relaxed);
    ewma_at_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
                      std::memory_order_relaxed);
  }

  // p2c_ewma's peak hold: when an answer last reached the estimate, and the
  // worst answer since (p2c_ewma.h). Relaxed like the estimate: a reader may
  // pair one worker's values with another's, both recent.
  TimePoint latency_peak_at() const {
    return TimePoint(std::chrono::nanoseconds(peak_at_ns_.load(std::memory_order_relaxed)));
  }
  double latency_worst_since_peak_us() const { return worst_since_peak_us_.load(std::memory_order_relaxed); }
  void set_latency_peak(TimePoint at, double worst_since_us) {
    peak_at_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
                      std::memory_order_relaxed);
    worst_since_peak_us_.store(worst_since_us, std::memory_order_relaxed);
  }

  // p2c_ewma probing: true for exactly one caller per `every` (a
  // compare-and-swap across workers), so a backend whose estimate has gone
  // stale gets one request now and then, not a burst from every worker.
  bool claim_probe(TimePoint now, std::chrono::nanoseconds every);

  // The load the backend last reported itself (load_report: a response
  // header seen by any worker, or a gauge polled by the control thread) and
  // when. Two relaxed atomics: a reader may pair one writer's value with
  // another's time, both recent, which is all least_load needs.
  void set_reported_load(double load, TimePoint at) {
    reported_load_.store(load, std::memory_order_relaxed);
    reported_at_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
                          std::memory_order_relaxed);
  }
  // Never reported: has_reported_load() is false and the value 0.
  bool has_reported_load() const { return reported_at_ns_.load(std::memory_order_relaxed) != 0; }
  double reported_load() const { return reported_load_.load(std::memory_order_relaxed); }
  TimePoint reported_load_at() const {
    return TimePoint(std::chrono::nanoseconds(reported_at_ns_.load(std::memory_order_relaxed)));
  }
  // The report if one came within `max_age` before `now`, else 0: a stale
  // or missing report counts for nothing.
  double fresh_reported_load(TimePoint now, Duration max_age) const {
    if (!has_reported_load() || now - reported_load_at() > max_age) return 0;
    return reported_load();
  }

  // Where index_of last found this backend in a pool's list. A hint, checked
  // before use: a reload may have moved the backend, and a backend listed in
  // two pools keeps only the last answer.
  size_t list_position_hint() const { return list_position_.load(std::memory_order_relaxed); }
  void set_list_position_hint(size_t i) const { list_position_.store(uint32_t(i), std::memory_order_relaxed); }

  // Request counters and response times, per worker (lb/metrics).
  metrics::BackendStats& stats() { return *stats_; }
  const metrics::BackendStats& stats() const { return *stats_; }

 private:
  // weight_at while slow start may be ramping.
  uint64_t ramped_weight(uint64_t full, int64_t ramp, TimePoint now) const;

  // What a pick reads, in one cache line. A pick at 1,000 backends looks at
  // two backends out of cache (p2c) and was waiting on two or three misses
  // for each, its fields spread over three lines. active_ changes with
  // every request on any worker, so this line moves between cores anyway;
  // the fields that change rarely cost nothing extra beside it.
  alignas(64) std::atomic<bool> has_address_{false};  // set once, by the first set_sockaddr
  std::atomic<bool> healthy_{true};
  std::atomic<AdminState> admin_{AdminState::ready};
  std::atomic<uint32_t> weight_;
  std::atomic<int> active_{0};
  std::atomic<uint32_t> max_requests_{0};
  std::atomic<int64_t> ejected_until_ns_{0};  // steady-clock ns since epoch
  std::atomic<int64_t> slow_start_ns_{0};
  std::atomic<int64_t> recovered_at_ns_;  // last return to service (slow start)
  std::atomic<double> ewma_us_{0};
  std::atomic<int64_t> ewma_at_ns_{0};
  // least_load's report: its time ends the line (a pool that never reports
  // reads no further), its value starts the next, then what picks never read.
  std::atomic<int64_t> reported_at_ns_{0};  // 0 = never reported
  std::atomic<double> reported_load_{0};
  mutable std::atomic<uint32_t> list_position_{0};

  const std::string name_;
  const config::Address address_;
  // sockaddr_in6 (the largest kind used) in atomic words, and a sequence
  // number that is odd while set_sockaddr writes them.
  static constexpr size_t kAddressWords = (sizeof(sockaddr_in6) + 7) / 8;
  static void state_changed() { state_epoch_.fetch_add(1, std::memory_order_release); }
  static inline std::atomic<uint64_t> state_epoch_{0};

  std::atomic<uint64_t> address_words_[kAddressWords] = {};
  std::atomic<uint32_t> address_seq_{0};
  std::atomic<int> fails_{0};
  std::atomic<int64_t> fail_window_start_ns_{0};
  std::atomic<int64_t> peak_at_ns_{0};
  std::atomic<double> worst_since_peak_us_{0};
  std::atomic<int64_t> eject_earliest_ns_{0};  // eject_until_checked: not before this
  std::atomic<int64_t> probe_at_ns_{0};  // last p2c_ewma probe claimed
  std::atomic<uint64_t> checks_[3] = {};
  mutable std::mutex reasons_mutex_;
  std::string active_reason_;
  std::string passive_reason_;
  // 2 KiB of per-worker counters, kept apart: inline, they spread the
  // backends' pick lines 2.4 KiB apart, and a pool of 1,000 over 600 pages.
  const std::unique_ptr<metrics::BackendStats> stats_ = std::make_unique<metrics::BackendStats>();
};

}  // namespace lb::balance
