#pragma once
// What the fuzz targets share: a check that stays on in every build type
// (assert() vanishes under NDEBUG), and read cuts the input chooses itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// A broken invariant is a finding: print it and abort, so libFuzzer keeps
// the input as a crash file.
#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace lb::fuzz {

// Piece lengths (each >= 1, summing to `size`) that split an input the way
// socket reads might. The last two bytes pick the pattern, so a mutation
// there explores other cuts; the bytes themselves are still fed as data, so
// seed files stay plain HTTP. Pattern 0 is byte by byte.
inline std::vector<size_t> read_cuts(const uint8_t* data, size_t size) {
  std::vector<size_t> pieces;
  if (size == 0) return pieces;
  uint32_t state = 0x9e3779b9u;
  if (size >= 2) state ^= uint32_t(data[size - 1]) << 8 | data[size - 2];
  static constexpr size_t kLongest[] = {1, 2, 3, 7, 16, 61, 256, 1500};
  const size_t longest = kLongest[state % (sizeof kLongest / sizeof kLongest[0])];
  size_t left = size;
  while (left > 0) {
    state ^= state << 13;  // xorshift32: cheap and the same on every run
    state ^= state >> 17;
    state ^= state << 5;
    size_t n = 1 + state % longest;
    if (n > left) n = left;
    pieces.push_back(n);
    left -= n;
  }
  return pieces;
}

}  // namespace lb::fuzz
