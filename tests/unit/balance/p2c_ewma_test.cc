#include "lb/balance/p2c_ewma.h"
#include "lb/balance/peak_ewma.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "pool_fixture.h"

namespace lb::balance {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::make_backends;

// One request a millisecond for `duration`, each held in flight for its
// backend's current latency, then fed back through record(). Time is
// simulated; nothing sleeps.
class Simulation {
 public:
  explicit Simulation(BackendList backends, uint64_t seed = 7)
      : backends_(std::move(backends)), p2c_(backends_, seed), start_(Clock::now()), now_(start_) {
    for (const auto& b : backends_) latency_[b.get()] = milliseconds(10);
  }

  void set_latency(size_t index, milliseconds latency) { latency_[backends_[index].get()] = latency; }

  // Share of the requests picked during the next `duration` per backend name.
  std::map<std::string, double> run(milliseconds duration) {
    std::map<std::string, double> picks;
    const TimePoint end = now_ + duration;
    for (; now_ < end; now_ += milliseconds(1)) {
      finish_due();
      Backend* b = p2c_.pick_at({}, now_);
      b->add_active(1);
      in_flight_.push_back({b, now_, now_ + latency_[b]});
      ++picks[b->name()];
    }
    for (auto& [name, count] : picks) count /= static_cast<double>(duration.count());
    return picks;
  }

 private:
  struct Request {
    Backend* backend;
    TimePoint started, done;
  };

  void finish_due() {
    std::erase_if(in_flight_, [&](const Request& r) {
      if (r.done > now_) return false;
      r.backend->add_active(-1);
      p2c_.record(*r.backend, std::chrono::duration_cast<microseconds>(r.done - r.started), true, now_);
      return true;
    });
  }

  BackendList backends_;
  P2cEwma p2c_;
  std::map<const Backend*, milliseconds> latency_;
  std::vector<Request> in_flight_;
  TimePoint start_, now_;
};

// A slow backend is dropped on its first slow answer and stays dropped while
// it is slow; once fast again it wins its traffic back.
TEST(BalanceP2cEwma, SlowBackendLosesTrafficWithinSecondsAndRegainsItAfterRecovery) {
  Simulation sim(make_backends(3));
  const auto healthy = sim.run(milliseconds(10000));
  EXPECT_NEAR(healthy.at("c"), 1.0 / 3, 0.05);

  sim.set_latency(2, milliseconds(100));
  EXPECT_LT(sim.run(milliseconds(2000))["c"], 0.05) << "10x slower backend kept its traffic";
  EXPECT_LT(sim.run(milliseconds(20000))["c"], 0.05) << "10x slower backend won traffic back while slow";

  sim.set_latency(2, milliseconds(10));
  sim.run(milliseconds(5000));
  EXPECT_GT(sim.run(milliseconds(5000))["c"], 0.05) << "recovery not noticed within 10 s";
  sim.run(milliseconds(25000));
  EXPECT_NEAR(sim.run(milliseconds(10000))["c"], 1.0 / 3, 0.06) << "recovered backend did not win its share back";
}

// Probing bounds the recovery: however slow a backend was, once it answers
// fast again it is back near its share within a few seconds, in every run
// (the issue measured 28% in one run and 6.7% in the next without it).
TEST(BalanceP2cEwma, RecoveredBackendIsBackNearItsShareWithinSecondsWhateverItsWorstLatency) {
  // (A moderately slow backend keeps a trickle of traffic and is never
  // probed: the peak hold brings it back, tested below.)
  for (milliseconds worst : {milliseconds(800), milliseconds(2000), milliseconds(5000)}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      SCOPED_TRACE("worst " + std::to_string(worst.count()) + " ms, seed " + std::to_string(seed));
      Simulation sim(make_backends(3), seed);
      sim.run(milliseconds(2000));
      sim.set_latency(2, worst);
      EXPECT_LT(sim.run(milliseconds(10000))["c"], 0.02) << "slow backend kept traffic";
      sim.set_latency(2, milliseconds(10));
      // Its last slow answers are still coming in during the first seconds.
      // Its last slow answers arrive up to `worst` later; then within about
      // kProbeAfter a probe's fast answer replaces the stale estimate.
      sim.run(worst + milliseconds(1500));
      EXPECT_NEAR(sim.run(milliseconds(1500))["c"], 1.0 / 3, 0.05) << "recovered backend not back to its share";
    }
  }
}

// A moderately slow backend keeps a trickle of traffic, so its estimate is
// never left unread long enough to be probed; and a backend back from a
// restart may answer its first requests slowly (a cold process, new
// connections). Blending fast answers into the old peak would take several
// kDecay; instead, once no answer has come near the peak for kHoldPeak, the
// worst answer since replaces it. Either way the backend is back near its
// share within seconds, in every run (CI once saw a restarted backend at
// 12%, 18%, 20% of the traffic in its first three seconds).
TEST(BalanceP2cEwma, RecoveredBackendWithATrickleOfTrafficIsBackWithinSeconds) {
  for (milliseconds worst : {milliseconds(30), milliseconds(100)}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      SCOPED_TRACE("worst " + std::to_string(worst.count()) + " ms, seed " + std::to_string(seed));
      Simulation sim(make_backends(3), seed);
      sim.run(milliseconds(2000));
      sim.set_latency(2, worst);
      EXPECT_LT(sim.run(milliseconds(5000))["c"], 0.1) << "slow backend kept its traffic";
      sim.set_latency(2, milliseconds(10));
      sim.run(milliseconds(1500));
      EXPECT_NEAR(sim.run(milliseconds(1500))["c"], 1.0 / 3, 0.06) << "recovered backend not back to its share";
    }
  }
}

TEST(BalanceP2cEwma, RestartedBackendWhoseFirstAnswersAreSlowIsBackWithinSeconds) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation sim(make_backends(3), seed);
    sim.run(milliseconds(2000));
    sim.set_latency(2, milliseconds(800));
    EXPECT_LT(sim.run(milliseconds(5000))["c"], 0.02) << "slow backend kept traffic";
    sim.run(milliseconds(1000));  // its last slow answers come in; then it restarts
    sim.set_latency(2, milliseconds(40));  // cold: the first answers are slow
    sim.run(milliseconds(300));
    sim.set_latency(2, milliseconds(10));
    sim.run(milliseconds(1500));
    EXPECT_NEAR(sim.run(milliseconds(1500))["c"], 1.0 / 3, 0.06) << "restarted backend not back to its share";
  }
}

// A worst answer from before a long silence does not come back: the probe's
// fast answer after the silence replaces the decayed estimate, it does not
// restore an old, higher one.
TEST(BalanceP2cEwma, AProbeAfterASilenceNeverRaisesTheEstimate) {
  auto backends = make_backends(1);
  P2cEwma p2c(backends, 1);
  Backend& b = *backends[0];
  const TimePoint t0 = Clock::now();
  p2c.record(b, milliseconds(800), true, t0);                     // the peak
  p2c.record(b, milliseconds(790), true, t0 + milliseconds(5));  // blended: the worst since
  const TimePoint probe = t0 + std::chrono::seconds(5);
  const double decayed = peak_ewma::decayed(b.latency_ewma_us(), probe - b.latency_updated_at());
  p2c.record(b, milliseconds(10), true, probe);
  EXPECT_LE(b.latency_ewma_us(), decayed) << "the probe raised the estimate to an old worst answer";
  EXPECT_GE(b.latency_ewma_us(), 10000);
}

// A still-slow backend is probed about once per kProbeAfter, not once per
// worker or per comparison.
TEST(BalanceP2cEwma, ProbesAreRareAndShared) {
  auto backends = make_backends(2);
  P2cEwma first(backends, 1), second(backends, 2);
  const TimePoint now = Clock::now();
  first.record(*backends[0], milliseconds(1), true, now);
  first.record(*backends[1], milliseconds(900), true, now);
  int probes = 0;
  for (int ms = 0; ms < 5000; ++ms) {
    const TimePoint t = now + milliseconds(ms);
    for (P2cEwma* p : {&first, &second}) {
      Backend* b = p->pick_at({}, t);
      if (b == backends[1].get()) {
        ++probes;
        p->record(*b, milliseconds(900), true, t);  // still slow
      } else {
        p->record(*b, milliseconds(1), true, t);
      }
    }
  }
  EXPECT_GE(probes, 3);
  EXPECT_LE(probes, 5);
}

TEST(BalanceP2cEwma, EqualBackendsShareEvenly) {
  Simulation sim(make_backends(4));
  for (const auto& [name, share] : sim.run(milliseconds(20000))) EXPECT_NEAR(share, 0.25, 0.03) << name;
}

TEST(BalanceP2cEwma, InFlightLoadFollowsWeights) {
  auto backends = make_backends({3, 1});
  P2cEwma p2c(backends, 1);
  const TimePoint now = Clock::now();
  for (const auto& b : backends) p2c.record(*b, milliseconds(5), true, now);
  for (int i = 0; i < 400; ++i) p2c.pick_at({}, now)->add_active(1);
  EXPECT_NEAR(backends[0]->active_requests(), 300, 3);
}

TEST(BalanceP2cEwma, BackendWithoutSamplesIsTriedButNotFlooded) {
  auto backends = make_backends(2);
  P2cEwma p2c(backends, 3);
  const TimePoint now = Clock::now();
  p2c.record(*backends[0], milliseconds(50), true, now);  // only a has a sample
  // Optimistic: b is as good as a while in-flight counts are equal...
  for (int i = 0; i < 10; ++i) p2c.pick_at({}, now)->add_active(1);
  EXPECT_EQ(backends[1]->active_requests(), 5);
  // ...and does not soak up every request while its first answers are pending.
  EXPECT_EQ(backends[0]->active_requests(), 5);
}

TEST(BalanceP2cEwma, FastFailureDoesNotMakeABackendLookFaster) {
  auto backends = make_backends(1);
  P2cEwma p2c(backends, 1);
  const TimePoint now = Clock::now();
  p2c.record(*backends[0], milliseconds(200), true, now);
  p2c.record(*backends[0], milliseconds(1), false, now + milliseconds(1));
  EXPECT_GT(backends[0]->latency_ewma_us(), 199000);
  p2c.record(*backends[0], milliseconds(1), true, now + std::chrono::seconds(10));
  EXPECT_LT(backends[0]->latency_ewma_us(), 100000);
}

// The estimate lives on the Backend, shared by every worker and snapshot:
// a request that started before a reload still informs the new instances.
TEST(BalanceP2cEwma, EstimateIsSharedAcrossInstances) {
  auto backends = make_backends(2);
  P2cEwma old_instance(backends, 1);
  P2cEwma new_instance(backends, 2);
  const TimePoint now = Clock::now();
  old_instance.record(*backends[0], milliseconds(9), true, now);
  EXPECT_EQ(backends[0]->latency_ewma_us(), 9000);
  EXPECT_EQ(backends[0]->latency_updated_at(), now);
  new_instance.record(*backends[0], milliseconds(1), true, now + std::chrono::seconds(10));
  EXPECT_LT(backends[0]->latency_ewma_us(), 9000);  // decayed from the shared timestamp
}

TEST(BalanceP2cEwma, OneUsableLeftAmongManyIsFound) {
  auto backends = make_backends(50);
  for (size_t i = 0; i < backends.size(); ++i) backends[i]->set_healthy(i == 37);
  P2cEwma p2c(backends, 5);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p2c.pick({}), backends[37].get());
}

}  // namespace
}  // namespace lb::balance
