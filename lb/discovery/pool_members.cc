#include "lb/discovery/pool_members.h"

namespace lb::discovery {

std::shared_ptr<const proxy::Snapshot> with_members(const proxy::Snapshot& current, size_t pool,
                                                    balance::BackendList backends) {
  auto next = std::make_shared<proxy::Snapshot>(current);  // the same config: pool pointers stay valid
  next->generation = current.generation + 1;
  proxy::PoolRuntime& p = next->pools.at(pool);
  p.backends = std::move(backends);
  if (p.sticky) p.sticky = std::make_shared<session::StickyAffinity>(p.config->session.cookie, p.config->name, p.backends);
  return next;
}

}  // namespace lb::discovery
