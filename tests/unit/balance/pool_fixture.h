#pragma once
// Backends and pick counting shared by the balance tests.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lb/balance/strategy.h"

namespace lb::balance::testing {

// "a", "b", ... then "n26", "n27", ...
inline std::string backend_name(size_t i) {
  return i < 26 ? std::string(1, static_cast<char>('a' + i)) : "n" + std::to_string(i);
}

inline std::shared_ptr<Backend> make_backend(const std::string& name, uint32_t weight = 1) {
  return std::make_shared<Backend>(name, config::Address{"127.0.0.1", 9000, "127.0.0.1:9000"}, weight);
}

inline BackendList make_backends(const std::vector<uint32_t>& weights) {
  BackendList out;
  for (size_t i = 0; i < weights.size(); ++i) out.push_back(make_backend(backend_name(i), weights[i]));
  return out;
}

inline BackendList make_backends(size_t count) { return make_backends(std::vector<uint32_t>(count, 1)); }

inline std::string name_of(const Backend* b) { return b ? b->name() : "(none)"; }

// `count` picks as "a b a c".
inline std::string pick_sequence(Strategy& s, int count, const PickContext& ctx = {}) {
  std::string out;
  for (int i = 0; i < count; ++i) out += (i ? " " : "") + name_of(s.pick(ctx));
  return out;
}

inline std::map<std::string, int> count_picks(Strategy& s, int count, const PickContext& ctx = {}) {
  std::map<std::string, int> out;
  for (int i = 0; i < count; ++i) ++out[name_of(s.pick(ctx))];
  return out;
}

}  // namespace lb::balance::testing
