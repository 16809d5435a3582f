#pragma once
// The client address decides the backend, by weighted rendezvous (highest
// random weight) hashing: every backend scores the key, the best usable one
// wins. A client keeps its backend while that backend is usable; when it is
// not, only its clients move (each to its own next-best), and they return
// when it recovers. Scores depend on backend names, not list order, so a
// reload that reorders or adds backends moves only the keys it must.
// Unlike nginx, the whole address (IPv4 or IPv6) is hashed, not a /24.
// O(backends) per pick and no table; consistent_hash is the O(1) variant.
#include <cstdint>
#include <vector>

#include "lb/balance/round_robin.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class IpHash final : public Strategy {
 public:
  explicit IpHash(BackendList backends);
  // ctx.hash is the client address hash (hash_client_address); without one
  // (e.g. a Unix socket client) requests rotate.
  Backend* pick(const PickContext& ctx) override;

 private:
  double score(size_t index, uint64_t key) const;

  BackendList backends_;
  std::vector<uint64_t> seeds_;    // per backend, from its name
  std::vector<double> weights_;    // snapshot: a reload builds a new instance
  bool equal_weights_ = true;      // then the score needs no logarithm
  RoundRobin no_key_;
};

}  // namespace lb::balance
