#pragma once
// Routes that can never match because an earlier route takes every request
// they would (first match wins), for `lbd --check` to warn about. The test
// is conservative: it warns only when the earlier route's conditions are
// each provably no narrower than the later one's, i.e. the earlier route
//   host:    has none, the same one, or a "*." wildcard covering it;
//   path:    has none, or a path_prefix that is a prefix of the later
//            route's path_prefix or path_exact (or the same path_regex);
//   methods: has none, or all of the later route's (which must list some);
//   headers: has none, or only conditions the later route has too;
//   client_cidr: has none, or networks containing each of the later's.
// Anything it cannot prove (two different regular expressions) is quiet.
#include <string>
#include <vector>

#include "lb/config/route.h"

namespace lb::config {

struct RouteShadowing {
  size_t route = 0;  // the route that never matches
  size_t by = 0;     // the earlier route that takes its requests
  std::string message;
};

std::vector<RouteShadowing> find_shadowed_routes(const std::vector<Route>& routes);

// True when every request `later` matches is matched by `earlier` (by the
// rules above).
bool covers(const Route& earlier, const Route& later);

}  // namespace lb::config
