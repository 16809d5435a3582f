#include "lb/proxy/waiting_room.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lb::proxy {
namespace {

// Stands in for an Exchange: takes a slot from a shared count of free
// slots (its own backend's when pinned) and records when it got in.
struct Slots {
  int free = 0;
  int free_pinned = 0;
  bool pinned_backend_gone = false;
  std::vector<std::string> admitted;
};

class FakeRequest final : public QueuedRequest {
 public:
  FakeRequest(std::string name, WaitingRoom& room, Slots& slots, bool pinned)
      : name_(std::move(name)), room_(room), slots_(slots), pinned_(pinned) {}

  Admit try_admit() override {
    if (pinned_ && slots_.pinned_backend_gone) {
      pinned_ = false;
      return Admit::unpinned;
    }
    int& free = pinned_ ? slots_.free_pinned : slots_.free;
    if (free == 0) return Admit::wait;
    --free;
    room_.leave(*this);
    slots_.admitted.push_back(name_);
    return Admit::admitted;
  }

 private:
  std::string name_;
  WaitingRoom& room_;
  Slots& slots_;
  bool pinned_;
};

struct WaitingRoomTest : ::testing::Test {
  uv_loop_t loop{};
  void SetUp() override { uv_loop_init(&loop); }
  void TearDown() override {
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
  }
};

TEST_F(WaitingRoomTest, UnpinnedWaitersGoInTicketOrderAcrossWorkers) {
  PoolQueue queue;
  Slots slots;
  {
    WaitingRoom w0(&loop, 0), w1(&loop, 1);
    FakeRequest r1("r1", w0, slots, false), r2("r2", w1, slots, false), r3("r3", w0, slots, false);
    w0.join(queue, queue.try_join(10), false, r1);
    w1.join(queue, queue.try_join(10), false, r2);
    w0.join(queue, queue.try_join(10), false, r3);
    EXPECT_EQ(queue.length(), 3u);

    slots.free = 1;
    w0.drain_all();  // r1 goes; r3 is younger than worker 1's r2: it waits
    slots.free = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"r1"}));
    w1.drain_all();
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"r1", "r2"}));
    slots.free = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"r1", "r2", "r3"}));
    EXPECT_EQ(queue.length(), 0u);
    EXPECT_TRUE(w0.empty() && w1.empty());
  }
}

TEST_F(WaitingRoomTest, APinnedWaiterDoesNotHoldUpOthersAndGoesWhenItsBackendFrees) {
  PoolQueue queue;
  Slots slots;
  {
    WaitingRoom w0(&loop, 0);
    FakeRequest pinned("pinned", w0, slots, true), other("other", w0, slots, false);
    w0.join(queue, queue.try_join(10), true, pinned);
    w0.join(queue, queue.try_join(10), false, other);
    slots.free = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"other"}));
    slots.free_pinned = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"other", "pinned"}));
  }
}

TEST_F(WaitingRoomTest, AWaiterWhoseBackendLeftKeepsItsPlaceAmongTheUnpinned) {
  PoolQueue queue;
  Slots slots;
  {
    WaitingRoom w0(&loop, 0);
    FakeRequest pinned("pinned", w0, slots, true), later("later", w0, slots, false);
    w0.join(queue, queue.try_join(10), true, pinned);  // the older ticket
    w0.join(queue, queue.try_join(10), false, later);
    slots.pinned_backend_gone = true;
    w0.drain_all();  // no free slot: both wait, pinned now among the unpinned
    EXPECT_TRUE(slots.admitted.empty());
    slots.free = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"pinned"}));
    slots.free = 1;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"pinned", "later"}));
  }
}

TEST_F(WaitingRoomTest, LeavingMidLineKeepsTheOrderOfTheRest) {
  PoolQueue queue;
  Slots slots;
  {
    WaitingRoom w0(&loop, 0);
    FakeRequest a("a", w0, slots, false), b("b", w0, slots, false), c("c", w0, slots, false);
    for (FakeRequest* r : {&a, &b, &c}) w0.join(queue, queue.try_join(10), false, *r);
    w0.leave(b);  // its client went away
    EXPECT_EQ(queue.length(), 2u);
    EXPECT_FALSE(b.queued());
    slots.free = 5;
    w0.drain_all();
    EXPECT_EQ(slots.admitted, (std::vector<std::string>{"a", "c"}));
  }
}

}  // namespace
}  // namespace lb::proxy
