#include "lb/proxy/snapshot.h"

namespace lb::proxy {

const ListenerRuntime* Snapshot::find_listener(std::string_view name) const {
  for (const auto& l : listeners)
    if (l.config->name == name) return &l;
  return nullptr;
}

}  // namespace lb::proxy
