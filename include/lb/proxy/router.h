#pragma once
// Picks the pool for a request: the first route whose host (exact,
// case-insensitive, port ignored) and path prefix both match. The target
// must be normalised (http::normalise_target, which the request parser
// applies): one that is not matches no path_prefix.
#include <optional>
#include <string_view>

#include "lb/proxy/snapshot.h"

namespace lb::proxy {

std::optional<size_t> route_request(const ListenerRuntime& listener, std::string_view host_header,
                                    std::string_view target);

}  // namespace lb::proxy
