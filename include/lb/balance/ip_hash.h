#pragma once
// The client address decides the backend, by weighted rendezvous (highest
// random weight) hashing: every backend scores the key, the best usable one
// wins. A client keeps its backend while that backend is usable; when it is
// not, only its clients move (each to its own next-best), and they return
// when it recovers. Scores depend on backend names, not list order, so a
// reload that reorders or adds backends moves only the keys it must.
// Unlike nginx, the whole address (IPv4 or IPv6) is hashed, not a /24.
//
// What is scored is the address hash's bucket, one of 65,536 whatever the
// pool's size (so a pool that grows or shrinks moves only the clients it
// must), not the hash itself: a bucket's winner among all backends is then
// worth remembering, and a pick is one table read while that winner is
// usable, where scoring every backend costs microseconds at a thousand of
// them. Clients sharing a bucket share a backend and move together; at a
// thousand backends the count of buckets a backend owns varies by about
// 12% (one standard deviation) around its share, 1% at ten. The table fills as buckets are
// first seen; a pick whose winner is out (or tried, or full) scores every
// backend, as before.
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
  static constexpr uint16_t kUnknown = UINT16_MAX;  // a bucket not seen yet
  static constexpr size_t kBuckets = 65536;         // 128 KiB of winners per worker
  static constexpr int kBucketShift = 64 - 16;      // the hash's top 16 bits

  double score(size_t index, uint64_t bucket) const;
  // The highest-scoring backend that `accepts`, or kNoIndex.
  template <class Accepts>
  size_t best_for(uint64_t bucket, Accepts&& accepts) const;

  BackendList backends_;
  std::vector<uint16_t> winners_;  // per bucket, among all backends of weight > 0
  std::vector<uint64_t> seeds_;    // per backend, from its name
  std::vector<double> weights_;    // snapshot: a reload builds a new instance
  bool equal_weights_ = true;      // then the score needs no logarithm
  RoundRobin no_key_;
};

}  // namespace lb::balance
