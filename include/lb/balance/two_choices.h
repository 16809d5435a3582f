#pragma once
// "The power of two random choices" (Mitzenmacher), shared by p2c_ewma and
// least_load: two distinct candidates drawn at random, and the better of
// the two by the strategy's own rule. A few random draws find two
// candidates when most backends take part; when few are left (most out,
// tried or full), one pass picks two of them uniformly (reservoir
// sampling). Returns the index, or kNoIndex when no backend takes part.
#include <cstddef>

#include "lb/balance/candidate.h"

namespace lb::balance {

// takes_part(i) -> bool; random_below(n) -> uniform in [0, n); choose(a, b)
// -> a or b.
template <class TakesPart, class RandomBelow, class Choose>
size_t pick_two_choices(size_t n, TakesPart&& takes_part, RandomBelow&& random_below, Choose&& choose) {
  constexpr int kDraws = 4;
  if (n >= 2) {
    for (int draw = 0; draw < kDraws; ++draw) {
      const size_t a = random_below(n);
      size_t b = random_below(n - 1);
      if (b >= a) ++b;
      if (takes_part(a) && takes_part(b)) return choose(a, b);
    }
  }
  size_t chosen[2] = {kNoIndex, kNoIndex};
  size_t seen = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!takes_part(i)) continue;
    ++seen;
    const size_t slot = seen <= 2 ? seen - 1 : random_below(seen);
    if (slot < 2) chosen[slot] = i;
  }
  if (chosen[0] == kNoIndex || chosen[1] == kNoIndex) return chosen[0];
  return choose(chosen[0], chosen[1]);
}

}  // namespace lb::balance
