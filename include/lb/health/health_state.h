#pragma once
// The up/down decision of active health checks: HAProxy's rise/fall
// hysteresis as a pure state machine (no I/O, no clock), fed one check
// result at a time.
//
// A health counter runs from 0 to rise + fall - 1; the backend is up while
// it is at least `rise`. A passed check raises it by one (to the top), a
// failed one lowers it by one while it stays above `rise`, else drops it to
// 0 (down). So a backend that is down needs `rise` passes in a row to come
// up, one that has been up a while needs `fall` failures in a row to go
// down, and one that only just came up (or was assumed up at start, like
// HAProxy's default init-state) goes down on its first failure.
#include <cstdint>

namespace lb::health {

class HealthState {
 public:
  enum class Change : uint8_t { none, went_up, went_down };

  // Starts up (counter at `rise`) or down (counter at 0).
  HealthState(int rise, int fall, bool up = true);

  Change record(bool passed);
  // New thresholds (a reload): keeps up or down, and how far from flipping
  // as far as the new range allows.
  void reconfigure(int rise, int fall);

  bool up() const { return health_ >= rise_; }
  int health() const { return health_; }
  int rise() const { return rise_; }
  int fall() const { return fall_; }
  int top() const { return rise_ + fall_ - 1; }

 private:
  int rise_;
  int fall_;
  int health_;
};

}  // namespace lb::health
