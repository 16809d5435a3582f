#include "lb/control/service_notifier.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace lb::control {
namespace {

// A datagram socket standing in for systemd, named by NOTIFY_SOCKET while
// the test runs (and WATCHDOG_USEC when given).
class FakeSystemd {
 public:
  explicit FakeSystemd(const char* watchdog_usec = nullptr) {
    path_ = "/tmp/lbd-notify-test-" + std::to_string(::getpid());
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    path_.copy(sa.sun_path, sizeof sa.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    if (watchdog_usec) ::setenv("WATCHDOG_USEC", watchdog_usec, 1);
  }
  ~FakeSystemd() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::vector<std::string> received() {
    std::vector<std::string> out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) out.emplace_back(buf, size_t(n));
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceNotifier, StatesAndOneLineStatus) {
  FakeSystemd systemd;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ServiceNotifier n(&loop);
    n.ready("serving web");
    n.reloading("reloading\nlbd.yaml");
    n.status("reloading lbd.yaml");  // unchanged: not sent again
    n.status("serving again");
    n.stopping("stopping");
    auto got = systemd.received();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], "READY=1\nSTATUS=serving web");
    EXPECT_EQ(got[1].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got[1];
    EXPECT_NE(got[1].find("\nSTATUS=reloading lbd.yaml"), std::string::npos) << got[1];
    EXPECT_EQ(got[2], "STATUS=serving again");
    EXPECT_EQ(got[3], "STOPPING=1\nSTATUS=stopping");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(ServiceNotifier, WatchdogPingsOnlyWhileAlive) {
  FakeSystemd systemd("30000");  // 30 ms: ticks every 10 ms
  uv_loop_t loop;
  uv_loop_init(&loop);
  int ticks = 0;
  {
    ServiceNotifier n(&loop);
    n.start([&](std::string* status) {
      ++ticks;
      *status = "tick";
      if (ticks == 6) n.close();
      return ticks <= 3;  // then a worker stops answering
    });
    EXPECT_EQ(n.watchdog_usec(), 30000u);
    uv_run(&loop, UV_RUN_DEFAULT);  // returns once the timer is closed
  }
  EXPECT_EQ(ticks, 6);
  int pings = 0;
  for (const auto& m : systemd.received()) pings += m == "WATCHDOG=1";
  EXPECT_EQ(pings, 3);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// The receiver never reads: its queue fills after a few datagrams
// (net.unix.max_dgram_qlen). Sending must go on at once, losing messages,
// never blocking the control thread (it once hung lbd at stop).
TEST(ServiceNotifier, AReceiverThatStopsReadingNeverBlocksTheSender) {
  FakeSystemd systemd;
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ServiceNotifier n(&loop);
    for (int i = 0; i < 200; ++i) n.status("status " + std::to_string(i));
    n.stopping("stopping");
  }
  const auto got = systemd.received();
  EXPECT_GE(got.size(), 1u);
  EXPECT_LT(got.size(), 201u);  // some were lost, and the loop above still ended
  EXPECT_EQ(got.front(), "STATUS=status 0");
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(ServiceNotifier, NoTimerWithoutSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  uv_loop_t loop;
  uv_loop_init(&loop);
  ServiceNotifier n(&loop);
  n.start([](std::string*) { return true; });
  n.ready("serving");  // a no-op, not an error
  EXPECT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 0);  // nothing keeps the loop alive
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace lb::control
