#include "lb/proxy/load_header.h"

#include "lb/balance/load_report.h"

namespace lb::proxy {

void take_load_header(const config::LoadReport& report, http::ResponseHead& head, balance::Backend& backend,
                      std::optional<TimePoint> now) {
  if (report.header.empty()) return;
  const auto value = head.headers.find(report.header);
  if (!value) return;
  // Parse before removing: the value's bytes stay put either way, but the
  // entry list changes under `value`'s index.
  std::optional<double> load;
  if (head.headers.count(report.header) == 1) load = balance::parse_load_value(*value);
  head.headers.remove(report.header);
  if (load) backend.set_reported_load(*load, now ? *now : Clock::now());
}

}  // namespace lb::proxy
