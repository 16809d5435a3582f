#include "lb/balance/peak_ewma.h"

#include <algorithm>
#include <cmath>

namespace lb::balance::peak_ewma {

namespace {

// Weight of the old estimate after `elapsed`; clocks never run backwards
// here, but a negative interval must not amplify.
double retained(std::chrono::nanoseconds elapsed, std::chrono::nanoseconds tau) {
  const double ratio = std::max(0.0, static_cast<double>(elapsed.count()) / static_cast<double>(tau.count()));
  return std::exp(-ratio);
}

}  // namespace

double observe(double estimate_us, double sample_us, std::chrono::nanoseconds elapsed,
               std::chrono::nanoseconds tau) {
  if (sample_us >= estimate_us) return sample_us;
  const double keep = retained(elapsed, tau);
  return estimate_us * keep + sample_us * (1 - keep);
}

double decayed(double estimate_us, std::chrono::nanoseconds idle, std::chrono::nanoseconds tau) {
  return estimate_us * retained(idle, tau);
}

}  // namespace lb::balance::peak_ewma
