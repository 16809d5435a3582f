#include "lb/proxy/traffic_split.h"

namespace lb::proxy {

namespace {

// The splitmix64 finaliser: the same key hash also feeds consistent_hash
// inside the chosen pool, and reusing its raw bits would make the pool see
// only keys from one band of the hash space.
uint64_t remix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

TrafficSplit::TrafficSplit(std::vector<Side> sides, std::optional<balance::HashKey> key)
    : sides_(std::move(sides)), key_(std::move(key)) {
  for (const Side& s : sides_) total_ += s.weight;
}

size_t TrafficSplit::pick(uint64_t key_hash) const {
  if (total_ == 0) return sides_.empty() ? 0 : sides_.front().pool;  // the loader refuses both
  uint64_t point = remix(key_hash) % total_;
  for (const Side& s : sides_) {
    if (point < s.weight) return s.pool;
    point -= s.weight;
  }
  return sides_.back().pool;
}

}  // namespace lb::proxy
