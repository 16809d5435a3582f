#include "lb/balance/maglev_table.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>

namespace lb::balance {

namespace {

constexpr uint32_t kEmpty = UINT32_MAX;

// One backend's walk through the slots: offset + k * skip (mod size) visits
// every slot because size is prime and skip is non-zero.
struct Permutation {
  uint32_t index;  // into the BackendList
  uint64_t offset;
  uint64_t skip;
  uint64_t weight;
  uint64_t next = 0;
  uint64_t target = 0;  // Envoy's weighting: the backend fills a slot on an
                        // iteration once iteration * weight >= target

  uint64_t slot(uint64_t size) const { return (offset + skip * next) % size; }
};

// Ordered by name so the table does not depend on the order backends are
// listed in the config.
std::vector<Permutation> permutations(const BackendList& backends, uint64_t size) {
  std::vector<uint32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return backends[a]->name() < backends[b]->name(); });
  std::vector<Permutation> out;
  for (uint32_t i : order) {
    const std::string& name = backends[i]->name();
    if (backends[i]->weight() == 0) continue;
    out.push_back({.index = i,
                   .offset = XXH3_64bits_withSeed(name.data(), name.size(), 0) % size,
                   .skip = XXH3_64bits_withSeed(name.data(), name.size(), 1) % (size - 1) + 1,
                   .weight = backends[i]->weight()});
  }
  return out;
}

}  // namespace

MaglevTable::MaglevTable(const BackendList& backends, uint32_t size) {
  std::vector<Permutation> perms = permutations(backends, size);
  if (perms.empty()) return;
  uint64_t max_weight = 0;
  for (const auto& p : perms) max_weight = std::max(max_weight, p.weight);

  slots_.assign(size, kEmpty);
  size_t filled = 0;
  for (uint64_t iteration = 1; filled < size; ++iteration) {
    for (auto& p : perms) {
      if (filled == size) break;
      if (iteration * p.weight < p.target) continue;
      p.target += max_weight;
      while (slots_[p.slot(size)] != kEmpty) ++p.next;
      slots_[p.slot(size)] = p.index;
      ++p.next;
      ++filled;
    }
  }
}

}  // namespace lb::balance
