#include "lb/admin/status_page.h"
#include "lb/control/snapshot_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lb::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::BackendConfig backend(std::string name, uint16_t port, uint32_t weight = 1) {
  const std::string text = "127.0.0.1:" + std::to_string(port);
  return {std::move(name), {"127.0.0.1", port, text}, weight};
}

std::shared_ptr<const proxy::Snapshot> snapshot() {
  config::Config c;
  config::PoolConfig app;
  app.name = "app";
  app.strategy = config::Strategy::least_connections;
  app.backends = {backend("app1", 9001, 3), backend("app2", 9002), backend("<b>app3</b>", 9003)};
  c.pools = {app};
  config::ListenerConfig web;
  web.name = "web";
  web.listen = {"127.0.0.1", 8080, "127.0.0.1:8080"};
  web.routes.resize(1);
  web.routes[0].pool = "app";
  c.listeners = {web};
  return control::build_snapshot(std::make_shared<const config::Config>(std::move(c)), nullptr);
}

TEST(StatusPage, ModelHasEveryBackendWithStateAndCounters) {
  const auto snap = snapshot();
  const TimePoint now = Clock::now();
  auto& app1 = *snap->pools[0].backends[0];
  auto& app2 = *snap->pools[0].backends[1];
  for (int i = 0; i < 9; ++i) app1.stats().count_response(0, 200);
  app1.stats().count_failure(0);
  app1.stats().observe_response_time(0, std::chrono::microseconds(4000));
  app2.set_healthy(false);
  snap->pools[0].stats->count_retry(0);

  const StatusModel m = collect_status(*snap, metrics::ReloadStats{}, now);
  ASSERT_EQ(m.pools.size(), 1u);
  const StatusPoolRow& p = m.pools[0];
  EXPECT_EQ(p.name, "app");
  EXPECT_EQ(p.strategy, "least_connections");
  EXPECT_EQ(p.retries, 1u);
  ASSERT_EQ(p.backends.size(), 3u);
  EXPECT_EQ(p.up_count(), 2u);
  EXPECT_EQ(p.backends[0].name, "app1");
  EXPECT_EQ(p.backends[0].address, "127.0.0.1:9001");
  EXPECT_EQ(p.backends[0].weight, 3u);
  EXPECT_EQ(p.backends[0].requests, 10u);
  EXPECT_EQ(p.backends[0].errors, 1u);
  EXPECT_EQ(p.backends[0].timed, 1u);
  EXPECT_DOUBLE_EQ(p.backends[0].mean_seconds, 0.004);
  EXPECT_EQ(p.backends[0].reason, "");
  EXPECT_EQ(p.backends[1].state, metrics::BackendState::down);
  ASSERT_EQ(m.listeners.size(), 1u);
  EXPECT_EQ(m.listeners[0].listen, "127.0.0.1:8080");
  EXPECT_EQ(m.generation, 1u);
}

TEST(StatusPage, ListenerShowsHttp2StreamsAndConnectionsCutByALimit) {
  const auto snap = snapshot();
  proxy::ListenerState& st = *snap->listeners[0].state;
  st.h2_streams_active = 3;
  for (int i = 0; i < 7; ++i) st.stats.count_h2_stream(0);
  st.h2_goaway[size_t(http2::GoawayReason::rapid_reset)] = 2;
  st.h2_goaway[size_t(http2::GoawayReason::graceful)] = 5;  // a stop or reload: not a cut
  const StatusModel m = collect_status(*snap, metrics::ReloadStats{}, Clock::now());
  ASSERT_EQ(m.listeners.size(), 1u);
  EXPECT_EQ(m.listeners[0].h2_streams_active, 3);
  EXPECT_EQ(m.listeners[0].h2_streams_total, 7u);
  EXPECT_EQ(m.listeners[0].h2_goaways, 2u);
  EXPECT_EQ(m.listeners[0].h2_goaway_reasons, "rapid_reset: 2");
  const std::string html = render_status_page(m);
  EXPECT_THAT(html, HasSubstr("<td title=\"open now / opened\">3 / 7</td>"));
  EXPECT_THAT(html, HasSubstr("<td title=\"rapid_reset: 2\" class=\"err\">2</td>"));
}

TEST(StatusPage, HtmlIsSelfContainedRefreshingAndEscaped) {
  const auto snap = snapshot();
  snap->pools[0].backends[1]->set_admin_state(balance::AdminState::maint);
  metrics::ReloadStats reloads;
  reloads.record(false);
  const std::string html = render_status_page(collect_status(*snap, reloads, Clock::now()));
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"5\">"));
  EXPECT_THAT(html, HasSubstr("data-backend=\"app1\" data-state=\"up\""));
  EXPECT_THAT(html, HasSubstr("data-backend=\"app2\" data-state=\"maint\""));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;app3&lt;/b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>app3</b>")));
  EXPECT_THAT(html, HasSubstr("2/3 up"));
  EXPECT_THAT(html, HasSubstr("last reload FAILED"));
  // No external assets: nothing is fetched from anywhere.
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
}

TEST(StatusPage, RequestRatesBetweenRenders) {
  const auto snap = snapshot();
  StatusRates rates;
  const TimePoint t0 = Clock::now();
  auto& app1 = *snap->pools[0].backends[0];
  snap->listeners[0].state->stats.count_request(0, 200, std::chrono::microseconds(100));
  const StatusModel first = collect_status(*snap, metrics::ReloadStats{}, t0, &rates);
  EXPECT_EQ(first.pools[0].backends[0].rate, std::nullopt);
  EXPECT_EQ(first.listeners[0].rate, std::nullopt);
  EXPECT_THAT(render_status_page(first), HasSubstr("<td>&ndash;</td>"));

  for (int i = 0; i < 20; ++i) {
    app1.stats().count_response(0, 200);
    snap->listeners[0].state->stats.count_request(0, 200, std::chrono::microseconds(100));
  }
  const StatusModel second = collect_status(*snap, metrics::ReloadStats{}, t0 + std::chrono::seconds(4), &rates);
  EXPECT_EQ(second.pools[0].backends[0].rate, 5.0);
  EXPECT_EQ(second.pools[0].backends[1].rate, 0.0);
  EXPECT_EQ(second.listeners[0].rate, 5.0);
  EXPECT_THAT(render_status_page(second), HasSubstr("<td>5.0</td>"));
}

}  // namespace
}  // namespace lb::admin
