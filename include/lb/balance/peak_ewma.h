#pragma once
// Peak-EWMA of response time, as Finagle and Linkerd use it for p2c. Pure
// arithmetic on an estimate and the time since it was last updated; callers
// supply the clock, so tests need no sleeping.
//  - A sample above the estimate replaces it at once: a backend that turns
//    slow is avoided on its very next comparison.
//  - A sample below blends in with weight 1 - exp(-elapsed / tau): recovery
//    is believed only after about tau of evidence, however many (or few)
//    requests carried it.
//  - Read without new samples, the estimate decays toward zero with the same
//    tau, so a backend avoided for being slow is tried again eventually, and
//    a still-slow answer snaps it straight back up.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace lb::balance::peak_ewma {

// 3 s: long enough that one fast answer does not clear a slow backend,
// short enough that a recovered backend wins its share back within seconds
// (10 s, Finagle's default, took half a minute through a real lbd).
inline constexpr std::chrono::nanoseconds kDecay = std::chrono::seconds(3);

// The estimate after a sample taken `elapsed` after the previous one.
double observe(double estimate_us, double sample_us, std::chrono::nanoseconds elapsed,
               std::chrono::nanoseconds tau = kDecay);

// The estimate as seen `idle` after its last sample.
double decayed(double estimate_us, std::chrono::nanoseconds idle, std::chrono::nanoseconds tau = kDecay);

// decayed(x, idle) / decayed(x, other_idle) for any x: what comparing two
// decayed estimates needs, in one exp instead of two exps and two divisions
// (p2c's hot path, hence inline). Negative intervals count as 0, as in
// decayed(). The default tau is a constant, so 1 / tau folds at compile
// time and the exponent costs a multiplication: a division was a sixth of
// the pick, waited on by the comparison that follows.
// Two backends in use were sampled a few milliseconds apart, so the
// exponent is tiny and four terms of its series give exp within 3e-10
// (the last term left out, x^5/120, at |x| = 1/32): a third of the time of
// std::exp, which remains for the rest.
inline double decay_ratio(std::chrono::nanoseconds idle, std::chrono::nanoseconds other_idle,
                          std::chrono::nanoseconds tau = kDecay) {
  const int64_t shorter_by = std::max<int64_t>(0, other_idle.count()) - std::max<int64_t>(0, idle.count());
  const double x = double(shorter_by) * (1.0 / double(tau.count()));
  if (x > -1.0 / 32 && x < 1.0 / 32) return 1 + x * (1 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24))));
  return std::exp(x);
}

}  // namespace lb::balance::peak_ewma
