#include "lb/proxy/route_table.h"

#include <xxhash.h>

#include <algorithm>

namespace lb::proxy {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// "a.b.example.com" is under the wildcard suffix "example.com".
bool under(std::string_view host, std::string_view suffix) {
  return host.size() > suffix.size() + 1 && host.ends_with(suffix) && host[host.size() - suffix.size() - 1] == '.';
}

}  // namespace

size_t RouteTable::Hash::operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }

RouteTable::RouteTable(const std::vector<config::Route>& routes, const PoolIndex& pool_index,
                       const CarriedStats& carried) {
  for (size_t i = 0; i < routes.size(); ++i) {
    const config::Route& r = routes[i];
    CompiledRoute c;
    c.config = &r;
    c.index = i;
    c.label = r.name.empty() ? std::to_string(i) : r.name;
    if (r.action == config::RouteAction::pool) {
      const auto p = pool_index(r.pool);
      if (!p) continue;
      c.pool = *p;
    } else if (r.action == config::RouteAction::split) {
      std::vector<TrafficSplit::Side> sides;
      for (const config::WeightedPool& w : r.pools)
        if (const auto p = pool_index(w.pool)) sides.push_back({*p, w.weight});
      if (sides.size() != r.pools.size()) continue;
      std::optional<balance::HashKey> key;
      if (r.split_by != "random") key = balance::parse_hash_key(r.split_by);
      c.split = TrafficSplit(std::move(sides), std::move(key));
      c.pool = c.split.sides().front().pool;
    }
    if (carried) c.stats = carried(c.label);
    if (!c.stats) c.stats = std::make_shared<metrics::RouteStats>();
    routes_.push_back(std::move(c));
  }

  // Index positions are into routes_ (a route left out shifts nothing that
  // matters: order is kept).
  std::vector<std::pair<std::string, uint32_t>> wildcards;  // suffix, position
  for (uint32_t pos = 0; pos < routes_.size(); ++pos) {
    const std::string host = lower(routes_[pos].config->host);
    if (host.empty()) {
      any_host_.push_back(pos);
    } else if (host.starts_with("*.")) {
      wildcards.emplace_back(host.substr(2), pos);
    } else {
      exact_[host].push_back(pos);
    }
  }
  // Each wildcard suffix lists every wildcard route whose suffix it is
  // under or equal to: a host's longest matching suffix then has them all.
  for (const auto& [suffix, unused] : wildcards) {
    if (wildcard_.contains(suffix)) continue;
    std::vector<uint32_t>& list = wildcard_[suffix];
    for (const auto& [other, pos] : wildcards)
      if (other == suffix || under(suffix, other)) list.push_back(pos);
  }
}

RouteTable::Candidates RouteTable::candidates(std::string_view host) const {
  Candidates c;
  if (auto it = exact_.find(host); it != exact_.end()) c.lists[0] = it->second;
  if (!wildcard_.empty()) {
    for (size_t dot = host.find('.'); dot != std::string_view::npos; dot = host.find('.', dot + 1)) {
      if (auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end()) {
        // A host equal to the suffix ("example.com" for "*.example.com")
        // never gets here: the suffix starts after a dot inside the host.
        c.lists[1] = it->second;
        break;
      }
    }
  }
  c.lists[2] = any_host_;
  return c;
}

const CompiledRoute* RouteTable::find_label(std::string_view label) const {
  for (const CompiledRoute& r : routes_)
    if (r.label == label) return &r;
  return nullptr;
}

}  // namespace lb::proxy
