#include "lb/core/timer_wheel.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace lb {
namespace {

struct Fired {
  std::vector<int>* log;
  int id;
};

void record(void* p) {
  auto* f = static_cast<Fired*>(p);
  f->log->push_back(f->id);
}

class TimerWheelTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    wheel_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }
  void run_until_quiet() {
    // The wheel stops ticking when nothing is pending, so the loop ends.
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  uv_loop_t loop_{};
  std::unique_ptr<TimerWheel> wheel_;
};

// A connection's first request head is due when the deadline set at its
// accept would fire: what is left of it is handed on (ClientConnection).
TEST_F(TimerWheelTest, RemainingIsTheTimeLeftUntilTheDeadline) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(5));
  std::vector<int> log;
  Fired a{&log, 1};
  DeadlineTimer t;
  t.init(*wheel_, &a, record);
  EXPECT_EQ(t.remaining(), Duration(0)) << "not pending";
  t.expire_in(Duration(2000));
  EXPECT_EQ(t.remaining(), Duration(2000));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  uv_update_time(&loop_);
  EXPECT_LE(t.remaining(), Duration(1970));
  EXPECT_GT(t.remaining(), Duration(1000));
  t.cancel();
  EXPECT_EQ(t.remaining(), Duration(0)) << "cancelled";
  wheel_->close();
}

TEST_F(TimerWheelTest, FiresInDeadlineOrderAndStopsTicking) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(5));
  std::vector<int> log;
  Fired a{&log, 1}, b{&log, 2}, c{&log, 3};
  DeadlineTimer ta, tb, tc;
  ta.init(*wheel_, &a, record);
  tb.init(*wheel_, &b, record);
  tc.init(*wheel_, &c, record);
  tc.expire_in(Duration(60));
  ta.expire_in(Duration(10));
  tb.expire_in(Duration(30));
  const uint64_t start = uv_now(&loop_);
  run_until_quiet();
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(uv_now(&loop_) - start, 60u);
  EXPECT_EQ(wheel_->pending(), 0u);
  wheel_->close();
}

TEST_F(TimerWheelTest, MovedAndCancelledTimers) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(5));
  std::vector<int> log;
  Fired a{&log, 1}, b{&log, 2};
  DeadlineTimer ta, tb;
  ta.init(*wheel_, &a, record);
  tb.init(*wheel_, &b, record);
  ta.expire_in(Duration(10));
  tb.expire_in(Duration(20));
  ta.expire_in(Duration(40));  // moved past b
  tb.cancel();
  EXPECT_FALSE(tb.pending());
  run_until_quiet();
  EXPECT_EQ(log, (std::vector<int>{1}));
  wheel_->close();
}

TEST_F(TimerWheelTest, DeadlinesBeyondOneTurnWaitForTheirTime) {
  // 512 slots of 1 ms: a 700 ms deadline shares a slot with a 188 ms one.
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(1));
  std::vector<int> log;
  Fired near{&log, 1}, far{&log, 2};
  DeadlineTimer tn, tf;
  tn.init(*wheel_, &near, record);
  tf.init(*wheel_, &far, record);
  tf.expire_in(Duration(700));
  tn.expire_in(Duration(188));
  const uint64_t start = uv_now(&loop_);
  run_until_quiet();
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  EXPECT_GE(uv_now(&loop_) - start, 700u);
  wheel_->close();
}

// An idle worker waits on second-scale deadlines: it must sleep until the
// slot that holds one, not wake every tick (100 times a second at 10 ms).
TEST_F(TimerWheelTest, SleepsUntilTheNextSlotThatHoldsATimer) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(10));
  std::vector<int> log;
  std::vector<uint64_t> fired_at;
  struct Stamped {
    Fired fired;
    std::vector<uint64_t>* at;
    uv_loop_t* loop;
  };
  auto stamp = [](void* p) {
    auto* s = static_cast<Stamped*>(p);
    record(&s->fired);
    s->at->push_back(uv_now(s->loop));
  };
  Stamped late{{&log, 1}, &fired_at, &loop_}, early{{&log, 2}, &fired_at, &loop_};
  DeadlineTimer tl, te;
  tl.init(*wheel_, &late, stamp);
  te.init(*wheel_, &early, stamp);
  // Counts the loop's turns: each is one wake-up of the worker.
  uv_prepare_t turns;
  uv_prepare_init(&loop_, &turns);
  int wakeups = 0;
  turns.data = &wakeups;
  uv_prepare_start(&turns, [](uv_prepare_t* h) { ++*static_cast<int*>(h->data); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turns));

  const uint64_t start = uv_now(&loop_);
  tl.expire_in(Duration(400));
  te.expire_in(Duration(150));  // earlier than the wheel meant to wake
  run_until_quiet();
  EXPECT_EQ(log, (std::vector<int>{2, 1}));
  ASSERT_EQ(fired_at.size(), 2u);
  EXPECT_GE(fired_at[0] - start, 150u);
  EXPECT_LT(fired_at[0] - start, 400u) << "the earlier deadline waited for the later one";
  EXPECT_GE(fired_at[1] - start, 400u);
  // Two deadlines, two or three turns each (wake, fire after the poll);
  // ticking every 10 ms for 400 ms would take 40.
  EXPECT_LE(wakeups, 8);
  uv_close(reinterpret_cast<uv_handle_t*>(&turns), nullptr);
  run_until_quiet();  // the close completes while `turns` is still in scope
  wheel_->close();
}

// A loop ends when no handle is active: the wheel must not keep it running
// for a deadline that was cancelled (a closed connection's).
TEST_F(TimerWheelTest, ACancelledDeadlineDoesNotHoldTheLoop) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(10));
  std::vector<int> log;
  Fired a{&log, 1}, b{&log, 2};
  DeadlineTimer ta, tb;
  ta.init(*wheel_, &a, record);
  tb.init(*wheel_, &b, record);
  ta.expire_in(Duration(2000));
  tb.expire_in(Duration(3000));
  ta.cancel();
  tb.cancel();
  const auto start = std::chrono::steady_clock::now();
  run_until_quiet();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000))
      << "the loop waited for a cancelled deadline";
  EXPECT_TRUE(log.empty());
  wheel_->close();
}

TEST_F(TimerWheelTest, CallbackMayRearmItself) {
  wheel_ = std::make_unique<TimerWheel>(&loop_, Duration(2));
  struct Repeat {
    DeadlineTimer timer;
    int count = 0;
  } r;
  r.timer.init(*wheel_, &r, [](void* p) {
    auto* self = static_cast<Repeat*>(p);
    if (++self->count < 3) self->timer.expire_in(Duration(4));
  });
  r.timer.expire_in(Duration(4));
  run_until_quiet();
  EXPECT_EQ(r.count, 3);
  wheel_->close();
}

}  // namespace
}  // namespace lb

namespace lb {
namespace {

// A due timer's callback may cancel or move another timer due in the same
// tick (a client timing out closes its upstream connection): that one must
// not fire, and the wheel's count must stay right.
TEST(TimerWheel, CallbackCancellingAnotherDueTimerStopsIt) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    TimerWheel wheel(&loop, Duration(5));
    struct Pair {
      DeadlineTimer first, second, third;
      std::vector<int> log;
    } p;
    p.first.init(wheel, &p, [](void* v) {
      auto* self = static_cast<Pair*>(v);
      self->log.push_back(1);
      self->second.cancel();
      self->third.expire_in(Duration(20));
    });
    p.second.init(wheel, &p, [](void* v) { static_cast<Pair*>(v)->log.push_back(2); });
    p.third.init(wheel, &p, [](void* v) { static_cast<Pair*>(v)->log.push_back(3); });
    p.second.expire_in(Duration(10));
    p.third.expire_in(Duration(10));
    p.first.expire_in(Duration(10));  // same slot; may run first or last
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(p.log.front(), 1) << "timers of one slot fire in link order, newest first";
    EXPECT_EQ(std::count(p.log.begin(), p.log.end(), 2), 0);
    EXPECT_EQ(std::count(p.log.begin(), p.log.end(), 3), 1);
    EXPECT_EQ(wheel.pending(), 0u);
    wheel.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace lb

namespace lb {
namespace {

// A deadline that rounds to the tick the wheel processed last must fire at
// the next tick, not one turn later (512 slots x 1 ms here). With a 1 ms
// resolution every loop time is a tick boundary, so both cases are exact:
// a zero delay armed while the wheel is idle, and one armed from inside a
// callback of the tick being processed.
TEST(TimerWheel, DeadlineOnTheTickJustProcessedFiresAtTheNextTick) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    TimerWheel wheel(&loop, Duration(1));
    struct Chain {
      uv_loop_t* loop;
      DeadlineTimer first, second, third;
      uint64_t first_at = 0, second_at = 0, third_at = 0;
    } c{&loop};
    c.first.init(wheel, &c, [](void* v) {
      auto* self = static_cast<Chain*>(v);
      self->first_at = uv_now(self->loop);
      self->second.expire_in(Duration(0));  // lands on the tick being processed
    });
    c.second.init(wheel, &c, [](void* v) {
      auto* self = static_cast<Chain*>(v);
      self->second_at = uv_now(self->loop);
      self->third.expire_in(Duration(3));
    });
    c.third.init(wheel, &c, [](void* v) {
      auto* self = static_cast<Chain*>(v);
      self->third_at = uv_now(self->loop);
    });
    uv_update_time(&loop);
    const uint64_t start = uv_now(&loop);
    c.first.expire_in(Duration(0));  // idle wheel: lands on the tick it starts from
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_NE(c.third_at, 0u) << "the chain did not finish";
    EXPECT_LT(c.first_at - start, 100u) << "a zero delay on an idle wheel waited a turn";
    EXPECT_LT(c.second_at - c.first_at, 100u) << "a zero delay from a callback waited a turn";
    EXPECT_GE(c.third_at - c.second_at, 3u);
    EXPECT_LT(c.third_at - c.second_at, 100u);
    EXPECT_EQ(wheel.pending(), 0u);
    wheel.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace lb

namespace lb {
namespace {

// A loop held up (a starved CPU, a paused VM) finds both an expired deadline
// and the I/O that beat it. The I/O is seen first and cancels its deadline;
// a deadline with no I/O still fires. Here the loop stalls 100 ms in a check
// callback, right after a byte was written to the watched socket, while a
// 20 ms deadline runs.
TEST(TimerWheel, AfterAStallIoIsSeenBeforeTheDeadlineItBeat) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  {
    TimerWheel wheel(&loop, Duration(5));
    struct State {
      DeadlineTimer answered;  // its I/O arrives during the stall
      DeadlineTimer silent;    // nothing arrives for it
      std::vector<std::string> log;
      int writer_fd;
      uv_poll_t poll;
      uv_check_t stall;
    } s;
    s.writer_fd = fds[1];
    s.answered.init(wheel, &s, [](void* v) { static_cast<State*>(v)->log.push_back("answered timed out"); });
    s.silent.init(wheel, &s, [](void* v) { static_cast<State*>(v)->log.push_back("silent timed out"); });
    ASSERT_EQ(uv_poll_init(&loop, &s.poll, fds[0]), 0);
    s.poll.data = &s;
    uv_poll_start(&s.poll, UV_READABLE, [](uv_poll_t* h, int, int) {
      auto* self = static_cast<State*>(h->data);
      self->log.push_back("read");
      self->answered.cancel();
      uv_poll_stop(h);
    });
    ASSERT_EQ(uv_check_init(&loop, &s.stall), 0);
    s.stall.data = &s;
    uv_check_start(&s.stall, [](uv_check_t* h) {
      auto* self = static_cast<State*>(h->data);
      uv_check_stop(h);
      ASSERT_EQ(::write(self->writer_fd, "x", 1), 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the stall
    });
    s.answered.expire_in(Duration(20));
    s.silent.expire_in(Duration(20));
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(s.log, (std::vector<std::string>{"read", "silent timed out"}));
    EXPECT_FALSE(s.answered.pending());
    EXPECT_EQ(wheel.pending(), 0u);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.poll), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.stall), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    wheel.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// A timer destroyed while it is due (its owner freed by the callback of
// another timer due in the same tick) leaves the due list with it: it
// never fires and nothing reads its memory (ASan would tell).
TEST(TimerWheel, DestroyingADueTimerUnlinksIt) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  {
    TimerWheel wheel(&loop, Duration(2));
    struct Pair {
      DeadlineTimer killer;
      std::unique_ptr<DeadlineTimer> doomed = std::make_unique<DeadlineTimer>();
      std::vector<int> log;
    } p;
    p.killer.init(wheel, &p, [](void* v) {
      auto* self = static_cast<Pair*>(v);
      self->log.push_back(1);
      self->doomed.reset();
    });
    p.doomed->init(wheel, &p, [](void* v) { static_cast<Pair*>(v)->log.push_back(2); });
    p.doomed->expire_in(Duration(4));
    p.killer.expire_in(Duration(4));  // same slot, linked last: fires first
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(p.log, (std::vector<int>{1}));
    EXPECT_EQ(wheel.pending(), 0u);
    wheel.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace lb
