#pragma once
// The rule every strategy applies before it considers a backend: usable now
// and not already tried by this request (so a retry never lands on the
// backend that just failed).
#include <cstddef>

#include "lb/balance/strategy.h"

namespace lb::balance {

inline bool is_candidate(const BackendList& backends, size_t index, const PickContext& ctx, TimePoint now) {
  if (ctx.tried && ctx.tried->contains(index)) return false;
  return backends[index]->usable_at(now);
}

// The value strategies use for "no index".
inline constexpr size_t kNoIndex = static_cast<size_t>(-1);

}  // namespace lb::balance
