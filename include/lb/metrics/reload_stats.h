#pragma once
// Config reload outcomes (lbd_config_reloads_total,
// lbd_config_last_reload_successful). Written and read only on the control
// thread, which both reloads and serves the scrape: plain fields.
#include <cstdint>

namespace lb::metrics {

struct ReloadStats {
  uint64_t successes = 0;
  uint64_t failures = 0;
  bool last_successful = true;  // the config lbd started with loaded fine

  void record(bool ok) {
    (ok ? successes : failures) += 1;
    last_successful = ok;
  }
};

}  // namespace lb::metrics
