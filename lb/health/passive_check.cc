#include "lb/health/passive_check.h"

#include <fmt/format.h>

namespace lb::health {

bool ejection_allowed(const config::PoolConfig& pool, const balance::BackendList& members, TimePoint now) {
  if (members.size() <= 1) return false;
  size_t ejected = 0;
  for (const auto& b : members)
    if (b->ejected_at(now)) ++ejected;
  return (ejected + 1) * 100 <= size_t(pool.passive.max_ejected_percent) * members.size();
}

bool record_failure(balance::Backend& backend, const config::PoolConfig& pool, const balance::BackendList& members,
                    TimePoint now, std::string_view what) {
  const config::PassiveCheck& cfg = pool.passive;
  if (cfg.max_fails <= 0) return false;
  if (backend.ejected_at(now)) return false;  // already out; do not extend
  if (backend.count_failure(now, cfg.fail_timeout) < cfg.max_fails) return false;
  // Over the cap the failures stay counted: the next one ejects it if
  // another backend has come back meanwhile.
  if (!ejection_allowed(pool, members, now)) return false;
  // The reason first: the control thread reports the ejection once it sees it.
  backend.set_passive_reason(fmt::format("{} failure(s) within {} ms, last: {}", cfg.max_fails,
                                         cfg.fail_timeout.count(), what));
  if (pool.health_check) {
    backend.eject_until_checked(now + cfg.fail_timeout);
  } else {
    backend.eject_until(now + cfg.fail_timeout);
  }
  backend.clear_failures();
  return true;
}

void record_success(balance::Backend& backend) { backend.clear_failures(); }

}  // namespace lb::health
