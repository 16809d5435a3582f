#pragma once
// The random draws of the two-choices strategies (p2c_ewma, least_load):
// two or more per request, so they must cost a few cycles, not the ~20 ns
// of std::mt19937_64 behind std::uniform_int_distribution (issue 17's pick
// profile). Nothing here is secret: a client that could predict the draws
// could only predict which of two backends it is compared between.
//
// splitmix64 (Steele, Lea and Flood; the seeder of xoshiro): one add and
// three multiply-xorshift steps, period 2^64, passes BigCrush. `below(n)`
// scales the 64-bit draw into [0, n) by a 128-bit multiply (Lemire). That
// skips the rejection step, so some values are favoured by at most
// n / 2^64: 5e-17 at a thousand backends, far below any count lbd keeps.
#include <cstddef>
#include <cstdint>

namespace lb::balance {

class SmallRandom {
 public:
  explicit SmallRandom(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n > 0.
  size_t below(size_t n) { return size_t((unsigned __int128)next() * n >> 64); }

 private:
  uint64_t state_;
};

}  // namespace lb::balance
