#include "lb/health/health_state.h"

#include <algorithm>

namespace lb::health {

HealthState::HealthState(int rise, int fall, bool up)
    : rise_(std::max(rise, 1)), fall_(std::max(fall, 1)), health_(up ? rise_ : 0) {}

HealthState::Change HealthState::record(bool passed) {
  const bool was_up = up();
  if (passed) {
    if (health_ < top()) ++health_;
  } else if (health_ > rise_) {
    --health_;  // still up, one step closer to down
  } else {
    health_ = 0;
  }
  if (up() == was_up) return Change::none;
  return up() ? Change::went_up : Change::went_down;
}

void HealthState::reconfigure(int rise, int fall) {
  const bool was_up = up();
  const int above_rise = health_ - rise_;  // >= 0 while up
  rise_ = std::max(rise, 1);
  fall_ = std::max(fall, 1);
  health_ = was_up ? rise_ + std::min(above_rise, fall_ - 1) : std::min(health_, rise_ - 1);
}

}  // namespace lb::health
