#include "lb/metrics/per_worker.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "lb/metrics/local_counter.h"

namespace lb::metrics {
namespace {

struct alignas(64) Slot {
  LocalCounter n;
};

TEST(PerWorker, SlotsAreCreatedOnFirstUseOnePerWorker) {
  PerWorker<Slot> slots;
  int visited = 0;
  slots.for_each([&](const Slot&) { ++visited; });
  EXPECT_EQ(visited, 0);

  slots.local(0).n.add(2);
  slots.local(kMaxWorkers - 1).n.add(5);
  slots.local(0).n.add(1);
  EXPECT_EQ(&slots.local(0), &slots.local(0));
  EXPECT_NE(&slots.local(0), &slots.local(kMaxWorkers - 1));

  uint64_t sum = 0;
  slots.for_each([&](const Slot& s) {
    ++visited;
    sum += s.n.value();
  });
  EXPECT_EQ(visited, 2);
  EXPECT_EQ(sum, 8u);
}

TEST(PerWorker, WorkersNeverShareACacheLine) {
  PerWorker<Slot> slots;
  const auto a = reinterpret_cast<uintptr_t>(&slots.local(0));
  const auto b = reinterpret_cast<uintptr_t>(&slots.local(1));
  EXPECT_EQ(a % 64, 0u);
  EXPECT_EQ(b % 64, 0u);
}

TEST(LocalCounter, AddsFromItsOneWriter) {
  LocalCounter c;
  EXPECT_EQ(c.value(), 0u);
  c.add();
  c.add(41);
  EXPECT_EQ(c.value(), 42u);
}

}  // namespace
}  // namespace lb::metrics
