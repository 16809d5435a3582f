#pragma once
// Consistent hashing on a Maglev table (maglev_table.h) built once in the
// constructor, i.e. once per reload, never per request. A key lands on its
// slot's backend; when that backend is unusable, tried, or (with bounded
// loads) full, the walk continues through the following slots, which name
// the other backends in weight proportion, so a down backend's keys spread
// over the rest and return when it recovers while every other key stays.
//
// bounded_load F > 1 is "consistent hashing with bounded loads" (Mirrokni,
// Thorup, Zadimoghaddam; as in Envoy's hash_balance_factor): a backend takes
// the request only if its in-flight count, this request included, stays
// within ceil(F x its weighted share of all in-flight requests + 1). Such a
// backend always exists among the usable ones, so the bound never refuses a
// request on its own.
//
// Requests without a key (ctx.hash empty) rotate.
#include "lb/balance/maglev_table.h"
#include "lb/balance/round_robin.h"
#include "lb/balance/strategy.h"

namespace lb::balance {

class ConsistentHash final : public Strategy {
 public:
  // bounded_load: 0 = off, else > 1.
  ConsistentHash(BackendList backends, double bounded_load, uint32_t table_size = MaglevTable::kDefaultSize);
  Backend* pick(const PickContext& ctx) override;

 private:
  struct PoolLoad {
    double in_flight = 0;  // over usable backends, this request included
    double weight = 0;     // sum of usable backends' weights
  };
  PoolLoad measure_load(TimePoint now) const;
  bool has_room(size_t index, const PoolLoad& load) const;

  BackendList backends_;
  MaglevTable table_;
  double bounded_load_;
  size_t max_walk_;  // table slots to try before one pass over the list
  RoundRobin no_key_;
};

}  // namespace lb::balance
