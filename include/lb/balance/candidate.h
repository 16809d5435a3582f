#pragma once
// The rule every strategy applies before it considers a backend: usable now,
// not already tried by this request (so a retry never lands on the backend
// that just failed) and, when the caller asks, below its max_requests.
#include <cstddef>

#include "lb/balance/strategy.h"

namespace lb::balance {

inline bool is_candidate(const BackendList& backends, size_t index, const PickContext& ctx, TimePoint now) {
  if (ctx.tried && ctx.tried->contains(index)) return false;
  const Backend& b = *backends[index];
  return b.usable_at(now) && (!ctx.need_room || b.has_room());
}

// The value strategies use for "no index".
inline constexpr size_t kNoIndex = static_cast<size_t>(-1);

}  // namespace lb::balance
