#include "lb/health/passive_check.h"

namespace lb::health {

bool record_failure(balance::Backend& backend, const config::PassiveCheck& cfg, TimePoint now) {
  if (cfg.max_fails <= 0) return false;
  if (backend.ejected_at(now)) return false;  // already out; do not extend
  if (backend.count_failure(now, cfg.fail_timeout) < cfg.max_fails) return false;
  backend.eject_until(now + cfg.fail_timeout);
  backend.clear_failures();
  return true;
}

void record_success(balance::Backend& backend) { backend.clear_failures(); }

}  // namespace lb::health
