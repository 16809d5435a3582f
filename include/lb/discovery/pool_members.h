#pragma once
// Publishing a discovery pool's new member list: a copy of the running
// snapshot that differs in that pool's backends (and its sticky table,
// which names them), with the next generation number. Workers take it
// through the same mailbox as a reload; requests in flight keep theirs.
#include <memory>

#include "lb/balance/strategy.h"
#include "lb/proxy/snapshot.h"

namespace lb::discovery {

std::shared_ptr<const proxy::Snapshot> with_members(const proxy::Snapshot& current, size_t pool,
                                                    balance::BackendList backends);

}  // namespace lb::discovery
