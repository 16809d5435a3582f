#include "lb/http/section_meter.h"

#include <gtest/gtest.h>

#include <string>

namespace lb::http {
namespace {

TEST(HttpSectionMeter, CountsFromWhereTheSectionOpens) {
  SectionMeter m(10);
  const std::string buf(100, 'x');
  m.begin_call(buf.data());
  m.open(buf.data() + 50);
  EXPECT_TRUE(m.reach(buf.data() + 60));
  EXPECT_FALSE(m.reach(buf.data() + 61));
}

TEST(HttpSectionMeter, AnOpenSectionKeepsWholeCalls) {
  SectionMeter m(100);
  const std::string a(60, 'x'), b(60, 'y');
  m.begin_call(a.data());
  m.open(a.data());
  EXPECT_TRUE(m.end_call(a.data() + a.size()));
  m.begin_call(b.data());
  EXPECT_TRUE(m.reach(b.data() + 40));
  EXPECT_FALSE(m.end_call(b.data() + b.size()));  // 120 > 100
}

TEST(HttpSectionMeter, ClosedSectionStopsCountingButKeepsItsBytes) {
  SectionMeter m(100);
  const std::string a(200, 'x');
  m.reset(30);
  m.begin_call(a.data());
  m.open(a.data());
  m.reach(a.data() + 20);
  m.close();
  EXPECT_EQ(m.used(), 50u);
  EXPECT_TRUE(m.end_call(a.data() + a.size()));  // body bytes after it are not counted
  m.begin_call(a.data());
  m.open(a.data() + 100);
  EXPECT_TRUE(m.reach(a.data() + 150));
  EXPECT_FALSE(m.reach(a.data() + 151));
}

}  // namespace
}  // namespace lb::http
