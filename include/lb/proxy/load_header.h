#pragma once
// load_report.header on the response path: the backend's load is read from
// the response head into the shared Backend (least_load, the
// lbd_backend_reported_load gauge) and the field is removed, so clients
// never see it. Every response and interim response passes here.
#include <optional>

#include "lb/balance/backend.h"
#include "lb/config/config.h"
#include "lb/http/message.h"

namespace lb::proxy {

// Reads and strips `report.header` from `head` (nothing when it is empty).
// A repeated header, or a value parse_load_value refuses, is stripped and
// ignored: the previous report stands until it goes stale.
// The report is stamped `now` (a test's clock) or, without it, the clock
// read only when the header is there.
void take_load_header(const config::LoadReport& report, http::ResponseHead& head, balance::Backend& backend,
                      std::optional<TimePoint> now = std::nullopt);

}  // namespace lb::proxy
