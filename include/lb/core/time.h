#pragma once
// Durations and clocks used everywhere in lbd. Milliseconds are the unit of
// config and of libuv timers, so that is the one Duration there is.
#include <chrono>
#include <cstdint>

namespace lb {

using Duration = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

inline uint64_t to_uv_ms(Duration d) { return d.count() < 0 ? 0 : static_cast<uint64_t>(d.count()); }

}  // namespace lb
