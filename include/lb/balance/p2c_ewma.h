#pragma once
// Power of two random choices over a latency-aware cost: draw two distinct
// candidates at random and send the request to the cheaper, where
//   cost = peak-EWMA response time x (in-flight + 1) / weight.
// Latency makes a backend that turns slow lose traffic at once (peak_ewma.h)
// and regain it as it recovers; the in-flight factor (shared by all workers)
// keeps a fast backend from being buried. Two random choices instead of the
// global minimum avoid every worker herding onto the same "best" backend.
// A backend without samples yet is treated optimistically: it borrows its
// rival's latency, so the comparison falls to in-flight counts.
//
// Probing (as Finagle's aperture does): the estimate of a backend that lost
// every comparison only decays with time, so one that was very slow and
// recovered would wait many decay periods for traffic. A backend whose
// estimate nobody refreshed for kProbeAfter is sent one request when it
// loses a comparison (one per kProbeAfter across all workers), and that
// answer, coming after a gap of kProbeAfter or more, replaces the stale
// estimate instead of blending into it. A still-slow backend snaps straight
// back up (peak) and costs one slow request per kProbeAfter; a recovered one
// is back near its share within a few seconds whatever its worst latency.
//
// Peak hold: a backend that was only moderately slow keeps a trickle of
// traffic, so its estimate never goes unread long enough to be probed, and
// one back from a restart may answer its first requests slowly (a cold
// process, new connections). Blending its fast answers into that peak would
// take several kDecay, with its share held down all along. So a peak is held
// only while answers keep reaching it: once none has for kHoldPeak, the
// worst answer since replaces the estimate. A backend that is still slow
// keeps reaching its peak and keeps it; noise below the peak blends as
// before. (The probe's rule above is the same rule for a backend with no
// answers at all in between.)
//
// The PRNG is per instance (one instance per worker per pool).
#include <chrono>
#include <cstdint>
#include <vector>

#include "lb/balance/small_random.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

// An estimate older than this is stale: its backend is probed, and the
// probe's answer replaces it.
inline constexpr std::chrono::nanoseconds kProbeAfter = std::chrono::seconds(1);
// A peak that no answer has reached for this long gives way to the worst
// answer since.
inline constexpr std::chrono::nanoseconds kHoldPeak = std::chrono::seconds(1);

class P2cEwma final : public Strategy {
 public:
  P2cEwma(BackendList backends, uint64_t seed);

  Backend* pick(const PickContext& ctx) override { return pick_at(ctx, ctx.now); }
  void on_finish(Backend& b, std::chrono::microseconds elapsed, bool ok) override { record(b, elapsed, ok, Clock::now()); }

  // The same with the clock supplied.
  Backend* pick_at(const PickContext& ctx, TimePoint now);
  // Feeds one response time into `b`'s shared estimate. A failure never
  // makes a backend look faster than it already does.
  void record(Backend& b, std::chrono::microseconds response_time, bool ok, TimePoint now);

 private:
  size_t cheaper(size_t a, size_t b, TimePoint now) const;
  // cheaper(), unless the other one is due for a probe.
  size_t choose(size_t a, size_t b, TimePoint now) const;
  size_t random_below(size_t n);

  BackendList backends_;
  SmallRandom rng_;
};

}  // namespace lb::balance
