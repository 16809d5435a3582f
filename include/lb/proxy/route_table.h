#pragma once
// A listener's routes compiled for matching (DESIGN.md "Routes, second
// round"). First match wins, so the table only narrows down which routes
// can match a host, keeping their order:
//   - exact hosts: a hash map from the lower-case host to its routes;
//   - "*." wildcards: a hash map from the suffix ("example.com") to every
//     wildcard route covering hosts under it (shorter suffixes included),
//     found by trying the host's suffixes from the longest;
//   - routes without host: one list.
// A request's candidates are these (at most) three ordered lists, merged by
// route index as they are walked (lb/proxy/router.cc); only candidates have
// their path, methods, headers and networks checked. Regular expressions
// were compiled by the loader and are shared, not copied.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lb/config/route.h"
#include "lb/metrics/route_stats.h"
#include "lb/proxy/traffic_split.h"

namespace lb::proxy {

struct CompiledRoute {
  const config::Route* config = nullptr;  // into the snapshot's config
  size_t index = 0;                       // position in the listener's routes
  std::string label;                      // metrics and access log: name, or the index
  size_t pool = 0;                        // action pool: index into Snapshot::pools
  TrafficSplit split;                     // action split
  std::shared_ptr<metrics::RouteStats> stats;

  bool forwards() const {
    return config->action == config::RouteAction::pool || config->action == config::RouteAction::split;
  }
};

class RouteTable {
 public:
  using PoolIndex = std::function<std::optional<size_t>(std::string_view pool_name)>;
  // Stats of the previous table with the same label carry over.
  using CarriedStats = std::function<std::shared_ptr<metrics::RouteStats>(const std::string& label)>;

  RouteTable() = default;
  // `routes` must outlive the table (the snapshot holds both). A route
  // naming a pool `pool_index` does not know is left out (the loader
  // refuses such files).
  RouteTable(const std::vector<config::Route>& routes, const PoolIndex& pool_index,
             const CarriedStats& carried = nullptr);

  // Up to three lists of route indexes (each ascending) that can match
  // `host` (lower-case, no port): exact, wildcard, any host.
  struct Candidates {
    std::span<const uint32_t> lists[3];
  };
  Candidates candidates(std::string_view lower_host) const;

  const std::vector<CompiledRoute>& routes() const { return routes_; }
  const CompiledRoute* find_label(std::string_view label) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  using Index = std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>>;

  std::vector<CompiledRoute> routes_;
  Index exact_;
  Index wildcard_;
  std::vector<uint32_t> any_host_;
};

}  // namespace lb::proxy
