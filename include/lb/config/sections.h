#pragma once
// Private to the config loader: one reader per section of DESIGN.md §1's
// YAML. Each fills the struct from config.h, keeping its defaults for absent
// keys, and reports every problem through the field's Diagnostics.
#include "lb/config/config.h"
#include "lb/config/yaml_reader.h"

namespace lb::config::yaml {

// What must be unique across the whole file, and the pools routes may name.
// Pools are read before listeners, whatever their order in the file.
struct FileScope {
  UniqueNames listener_names{"listener name"};
  UniqueNames listen_addresses{"listen address"};
  UniqueNames pool_names{"pool name"};
};

ListenerConfig read_listener(const Field& field, FileScope& scope);
// `route_names`: the names used so far in the same listener.
Route read_route(const Field& field, const FileScope& scope, UniqueNames& route_names);
PoolConfig read_pool(const Field& field, FileScope& scope);
SessionConfig read_session(const Field& field);
HealthCheck read_health_check(const Field& field);
UpstreamTlsConfig read_upstream_tls(const Field& field);
// Reports at `f` when `path` is not a readable regular file.
bool check_readable_file(const Field& f, const std::string& path);
ResolverConfig read_resolver(const Field& field);
Discovery read_discovery(const Field& field);
Place place_of(const Field& field);
LoadReport read_load_report(const Field& field);

}  // namespace lb::config::yaml
