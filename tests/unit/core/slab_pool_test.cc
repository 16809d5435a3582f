#include "lb/core/slab_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace lb {
namespace {

// The size of a ClientConnection's waiting part, give or take.
constexpr size_t kObject = 536;

TEST(SlabPoolTest, HandsOutDistinctAlignedSlotsThatHoldTheirBytes) {
  SlabPool pool(kObject, 8);
  std::vector<char*> objects;
  for (size_t i = 0; i < 3 * pool.objects_per_slab(); ++i) {
    auto* p = static_cast<char*>(pool.allocate());
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    std::memset(p, int(i & 0xff), kObject);
    objects.push_back(p);
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    for (size_t j = 0; j < kObject; ++j) ASSERT_EQ(uint8_t(objects[i][j]), uint8_t(i & 0xff)) << i;
  }
  std::set<char*> distinct(objects.begin(), objects.end());
  EXPECT_EQ(distinct.size(), objects.size());
  EXPECT_EQ(pool.slabs(), 3u);
  EXPECT_EQ(pool.objects(), objects.size());
  for (char* p : objects) SlabPool::release(p);
  EXPECT_EQ(pool.objects(), 0u);
}

TEST(SlabPoolTest, FillsASlabBeforeMappingAnother) {
  SlabPool pool(kObject, 8);
  std::vector<void*> objects;
  for (size_t i = 0; i < pool.objects_per_slab(); ++i) objects.push_back(pool.allocate());
  EXPECT_EQ(pool.slabs(), 1u);
  objects.push_back(pool.allocate());
  EXPECT_EQ(pool.slabs(), 2u);
  for (void* p : objects) SlabPool::release(p);
}

TEST(SlabPoolTest, AFreedSlotIsReusedBeforeAFreshOne) {
  SlabPool pool(kObject, 8);
  void* a = pool.allocate();
  void* b = pool.allocate();
  SlabPool::release(a);
  EXPECT_EQ(pool.allocate(), a);
  SlabPool::release(a);
  SlabPool::release(b);
}

// What a burst does: many objects, most of them freed after. The slabs
// they emptied are given back; one spare stays for the next connection.
TEST(SlabPoolTest, EmptiedSlabsAreUnmappedButOneSpare) {
  SlabPool pool(kObject, 8);
  const size_t per_slab = pool.objects_per_slab();
  std::vector<void*> objects;
  for (size_t i = 0; i < 10 * per_slab; ++i) objects.push_back(pool.allocate());
  EXPECT_EQ(pool.slabs(), 10u);
  // Keep the first slab's objects (the long-lived ones), free the rest.
  for (size_t i = per_slab; i < objects.size(); ++i) SlabPool::release(objects[i]);
  EXPECT_EQ(pool.slabs(), 2u) << "the full slab and one empty spare";
  for (size_t i = 0; i < per_slab; ++i) SlabPool::release(objects[i]);
  EXPECT_EQ(pool.slabs(), 1u) << "only the spare";
  // The spare is used again, not a new mapping.
  void* again = pool.allocate();
  EXPECT_EQ(pool.slabs(), 1u);
  SlabPool::release(again);
}

// A worker's connections are freed into its own pools, whatever thread
// frees them (its teardown runs on the main thread, after the join).
TEST(SlabPoolTest, AnObjectGoesBackToThePoolThatAllocatedIt) {
  SlabPool clients(kObject, 8);
  SlabPool upstreams(1216, 8);
  void* c = clients.allocate();
  void* u = upstreams.allocate();
  SlabPool::release(u);
  EXPECT_EQ(upstreams.objects(), 0u);
  EXPECT_EQ(clients.objects(), 1u);
  SlabPool::release(c);
  EXPECT_EQ(clients.objects(), 0u);
  SlabPool::release(nullptr);
}

// A slab is found from an object's address by masking: that holds only if
// every slab starts on a kSlabBytes boundary.
TEST(SlabPoolTest, ObjectsOfOneSlabShareItsAlignedBlock) {
  SlabPool pool(kObject, 16);
  std::vector<void*> objects;
  for (size_t i = 0; i < 2 * pool.objects_per_slab(); ++i) objects.push_back(pool.allocate());
  std::set<uintptr_t> blocks;
  for (void* p : objects) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    blocks.insert(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(SlabPool::kSlabBytes - 1));
  }
  EXPECT_EQ(blocks.size(), 2u);
  for (void* p : objects) SlabPool::release(p);
}

}  // namespace
}  // namespace lb
