#pragma once
// A route's weighted split across pools (`pools:` with `split_by`). Each
// request's key hash is mapped onto the cumulative weights, so a key keeps
// its side for as long as the weights stay (also across reloads and between
// lbd replicas: the hash is XXH3, not std::hash), and raising a canary's
// weight only moves keys towards the canary. Pure: no I/O.
#include <cstdint>
#include <optional>
#include <vector>

#include "lb/balance/hash_key.h"

namespace lb::proxy {

class TrafficSplit {
 public:
  struct Side {
    size_t pool = 0;  // index into Snapshot::pools
    uint32_t weight = 0;
  };

  TrafficSplit() = default;
  // `key`: what keeps a client on its side; nullopt = random (each request
  // drawn anew).
  TrafficSplit(std::vector<Side> sides, std::optional<balance::HashKey> key);

  // The pool for a request whose key hashes to `key_hash` (or, for random
  // or a request without the key, any well-mixed per-request value).
  size_t pick(uint64_t key_hash) const;

  const std::optional<balance::HashKey>& key() const { return key_; }
  const std::vector<Side>& sides() const { return sides_; }

 private:
  std::vector<Side> sides_;
  uint64_t total_ = 0;
  std::optional<balance::HashKey> key_;
};

}  // namespace lb::proxy
