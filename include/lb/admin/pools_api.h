#pragma once
// The pools part of the admin API (DESIGN.md §1 "Admin listener"):
//   GET  /api/pools        every pool and backend as JSON: address, weight,
//                          state and its reason, in-flight requests, active
//                          and passive health with the last checks
//   POST /api/pools/{pool}/backends/{backend}/{drain|maint|ready}
//                          draining keeps sticky and in-flight traffic but
//                          takes no new users; maint takes none; ready
//                          returns it to service. Answers the backend's JSON.
#include <nlohmann/json.hpp>

#include "lb/admin/admin_server.h"
#include "lb/health/health_monitor.h"

namespace lb::admin {

void register_pools_api(AdminServer& server, health::HealthMonitor& monitor);

// The JSON of one backend / of every pool (also for the status page); keys
// in a reading order (name first), not sorted.
nlohmann::ordered_json backend_json(const health::TrackedBackend& t, const config::PoolConfig& pool, TimePoint now);
nlohmann::ordered_json pools_json(const health::HealthMonitor& monitor);

}  // namespace lb::admin
