#include "lb/proxy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace lb::proxy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kAlice("\x7f\x00\x00\x01", 4);  // 127.0.0.1
const std::string kBob("\x7f\x00\x00\x02", 4);    // 127.0.0.2

// A start far enough from the limiter's epoch that "now" is never before it.
TimePoint start() { return Clock::now() + seconds(1); }

int admitted_of(RateLimiter& rl, const std::string& client, TimePoint at, int requests) {
  int n = 0;
  for (int i = 0; i < requests; ++i) n += rl.admit(client, at).admitted;
  return n;
}

TEST(RateLimiter, AdmitsBurstPlusOneAtOnceThenRefusesWithTheWait) {
  RateLimiter rl(10, 4);  // 100 ms a request
  const TimePoint t0 = start();
  EXPECT_EQ(admitted_of(rl, kAlice, t0, 5), 5);
  const auto v = rl.admit(kAlice, t0);
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.retry_after, milliseconds(100));
  EXPECT_FALSE(rl.admit(kAlice, t0 + milliseconds(99)).admitted);
  EXPECT_TRUE(rl.admit(kAlice, t0 + milliseconds(100)).admitted);
  EXPECT_FALSE(rl.admit(kAlice, t0 + milliseconds(100)).admitted);
}

TEST(RateLimiter, BurstZeroAdmitsOneRequestPerInterval) {
  RateLimiter rl(2, 0);  // 500 ms a request
  const TimePoint t0 = start();
  EXPECT_TRUE(rl.admit(kAlice, t0).admitted);
  const auto v = rl.admit(kAlice, t0 + milliseconds(100));
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.retry_after, milliseconds(400));
  EXPECT_TRUE(rl.admit(kAlice, t0 + milliseconds(500)).admitted);
}

TEST(RateLimiter, SustainedTrafficIsHeldToRps) {
  RateLimiter rl(5, 3);
  const TimePoint t0 = start();
  int admitted = 0;
  for (int ms = 0; ms < 10'000; ms += 10) admitted += rl.admit(kAlice, t0 + milliseconds(ms)).admitted;
  // 10 s at 5/s after a burst of 3 extra; a request every 10 ms always finds
  // the next slot within 10 ms of it opening.
  EXPECT_EQ(admitted, 50 + 3);
}

TEST(RateLimiter, RefusedRequestsDoNotPushTheScheduleBack) {
  RateLimiter rl(10, 0);
  const TimePoint t0 = start();
  EXPECT_TRUE(rl.admit(kAlice, t0).admitted);
  for (int ms = 1; ms < 100; ++ms) EXPECT_FALSE(rl.admit(kAlice, t0 + milliseconds(ms)).admitted);
  EXPECT_TRUE(rl.admit(kAlice, t0 + milliseconds(100)).admitted);
}

TEST(RateLimiter, AnIdleClientGetsItsWholeBurstBack) {
  RateLimiter rl(10, 2);
  const TimePoint t0 = start();
  EXPECT_EQ(admitted_of(rl, kAlice, t0, 10), 3);
  EXPECT_EQ(admitted_of(rl, kAlice, t0 + seconds(5), 10), 3);
}

TEST(RateLimiter, ClientsAreLimitedSeparately) {
  RateLimiter rl(1, 0);
  const TimePoint t0 = start();
  EXPECT_TRUE(rl.admit(kAlice, t0).admitted);
  EXPECT_FALSE(rl.admit(kAlice, t0).admitted);
  EXPECT_TRUE(rl.admit(kBob, t0).admitted);
  EXPECT_FALSE(rl.admit(kBob, t0).admitted);
  const std::string v6_loopback = std::string(15, '\0') + '\x01';
  EXPECT_TRUE(rl.admit(v6_loopback, t0).admitted);
}

TEST(RateLimiter, FractionalRateWaitsSeconds) {
  RateLimiter rl(0.5, 0);
  const TimePoint t0 = start();
  EXPECT_TRUE(rl.admit(kAlice, t0).admitted);
  EXPECT_EQ(rl.admit(kAlice, t0).retry_after, seconds(2));
}

TEST(RateLimiter, AFullTableAdmitsNewClientsRatherThanRefuseThem) {
  RateLimiter rl(1, 0, 1);  // one set: four clients ahead of schedule fill it
  const TimePoint t0 = start();
  for (uint8_t i = 1; i <= 40; ++i) {
    const std::string client{"\x0a\x00\x00", 3};
    EXPECT_TRUE(rl.admit(client + char(i), t0).admitted) << "client 10.0.0." << int(i);
  }
}

TEST(RateLimiter, IdleClientsLeaveRoomForNewOnes) {
  RateLimiter rl(1, 0, 1);
  const TimePoint t0 = start();
  for (uint8_t i = 1; i <= 40; ++i) EXPECT_TRUE(rl.admit(std::string(4, char(i)), t0 + seconds(i)).admitted);
  // Alice arrives when the table is full of idle clients and is still held
  // to her rate: her cell is not taken from her by the next idle client.
  const TimePoint t1 = t0 + seconds(100);
  EXPECT_TRUE(rl.admit(kAlice, t1).admitted);
  EXPECT_TRUE(rl.admit(std::string(4, 'x'), t1 + milliseconds(100)).admitted);
  EXPECT_FALSE(rl.admit(kAlice, t1 + milliseconds(500)).admitted);
}

TEST(RateLimiter, WorkersSharingAClientAdmitExactlyTheBurst) {
  RateLimiter rl(1, 99);
  const TimePoint t0 = start();
  std::atomic<int> admitted{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] { admitted += admitted_of(rl, kAlice, t0, 1000); });
  for (auto& t : workers) t.join();
  EXPECT_EQ(admitted.load(), 100);
}

}  // namespace
}  // namespace lb::proxy
