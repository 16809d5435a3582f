#include "lb/log/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lb::log {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

TEST(AccessLogEscape, PlainTextIsUnchanged) {
  EXPECT_EQ(escaped("/index.html?q=1&r=2"), "/index.html?q=1&r=2");
  EXPECT_EQ(escaped("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
}

TEST(AccessLogEscape, QuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("a\"b"), "a\\\"b");
  EXPECT_EQ(escaped("a\\b"), "a\\\\b");
  EXPECT_EQ(escaped("\n\r\t"), "\\n\\r\\t");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f", 3)), "\\u0000\\u0001\\u001f");
  EXPECT_EQ(escaped("\x7f"), "\x7f");  // DEL is legal in a JSON string
}

TEST(AccessLogEscape, EscapedTextRoundTripsThroughAJsonParser) {
  std::string nasty("GET /\"}{\\x\n\r\t\x02\x1b[31m", 18);
  nasty.push_back('\0');
  const auto parsed = nlohmann::json::parse("\"" + escaped(nasty) + "\"");
  EXPECT_EQ(parsed.get<std::string>(), nasty);
}

// An access log writing to a fresh file in a private temporary directory.
class AccessLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lbd-access-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "access.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  std::filesystem::path dir_, path_;
};

AccessRecord sample_record() {
  AccessRecord r;
  r.client = "127.0.0.1";
  r.method = "GET";
  r.path = "/search?q=\"quoted\"\n\x01";
  r.status = 502;
  r.bytes_in = 120;
  r.bytes_out = 4567;
  r.duration_ms = 12.3456;
  r.pool = "app";
  r.backend = "app1";
  r.upstream_ms = 11.5;
  r.request_id = "1-2a";
  r.listener = "web";
  return r;
}

TEST_F(AccessLogFile, EachRequestIsOneParsableJsonLine) {
  {
    AccessLog log(AccessLogTarget::open(path_.string()));
    log.write(sample_record());
    AccessRecord no_upstream;
    no_upstream.client = "127.0.0.2";
    no_upstream.method = "POST";
    no_upstream.path = "/";
    no_upstream.status = 503;
    no_upstream.listener = "web";
    log.write(no_upstream);
  }  // destruction flushes

  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  const auto first = nlohmann::json::parse(got[0]);
  EXPECT_EQ(first["listener"], "web");
  EXPECT_EQ(first["client"], "127.0.0.1");
  EXPECT_EQ(first["method"], "GET");
  EXPECT_EQ(first["path"], "/search?q=\"quoted\"\n\x01");
  EXPECT_EQ(first["status"], 502);
  EXPECT_EQ(first["bytes_in"], 120);
  EXPECT_EQ(first["bytes_out"], 4567);
  EXPECT_NEAR(first["duration_ms"].get<double>(), 12.346, 1e-9);
  EXPECT_EQ(first["pool"], "app");
  EXPECT_EQ(first["backend"], "app1");
  EXPECT_NEAR(first["upstream_ms"].get<double>(), 11.5, 1e-9);
  EXPECT_EQ(first["request_id"], "1-2a");
  const std::string time = first["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2024-01-02T03:04:05.678Z
  EXPECT_EQ(time.back(), 'Z');

  const auto second = nlohmann::json::parse(got[1]);
  EXPECT_EQ(second["status"], 503);
  EXPECT_TRUE(second["upstream_ms"].is_null());
  EXPECT_EQ(second["pool"], "-");
  EXPECT_EQ(second["backend"], "-");
}

TEST_F(AccessLogFile, LinesAreBatchedUntilFlush) {
  AccessLog log(AccessLogTarget::open(path_.string()));
  log.write(sample_record());
  EXPECT_TRUE(lines().empty());
  log.flush();
  EXPECT_EQ(lines().size(), 1u);
}

TEST_F(AccessLogFile, LargeBatchesAreWrittenWithoutAnExplicitFlush) {
  AccessLog log(AccessLogTarget::open(path_.string()));
  size_t written = 0;
  while (lines().empty() && written < 10000) {
    log.write(sample_record());
    ++written;
  }
  EXPECT_GT(written, 1u);      // lines are batched...
  EXPECT_LT(written, 10000u);  // ...but a big batch goes out by itself
  const auto got = lines();
  EXPECT_EQ(got.size(), written);  // the whole batch, in whole lines
  for (const auto& line : got) EXPECT_NO_THROW({ const auto doc = nlohmann::json::parse(line); (void)doc; }) << line;
  log.write(sample_record());
  EXPECT_EQ(lines().size(), written);  // a new batch starts
}

TEST_F(AccessLogFile, AppendsToAnExistingFile) {
  { std::ofstream(path_) << "earlier line\n"; }
  {
    AccessLog log(AccessLogTarget::open(path_.string()));
    log.write(sample_record());
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "earlier line");
}

TEST_F(AccessLogFile, ReopenFollowsARotatedFile) {
  auto target = AccessLogTarget::open(path_.string());
  auto log = std::make_unique<AccessLog>(target);
  log->write(sample_record());
  std::filesystem::rename(path_, dir_ / "access.log.1");
  auto reopened = target->reopened();
  log.reset();  // a worker writes its batch to the old file, then switches
  log = std::make_unique<AccessLog>(reopened);
  log->write(sample_record());
  log->flush();
  EXPECT_EQ(lines().size(), 1u);
  std::ifstream rotated(dir_ / "access.log.1");
  std::string line;
  int count = 0;
  while (std::getline(rotated, line)) ++count;
  EXPECT_EQ(count, 1);
}

TEST_F(AccessLogFile, UnwritablePathThrows) {
  EXPECT_THROW(AccessLogTarget::open((dir_ / "missing-dir" / "access.log").string()), std::runtime_error);
}

}  // namespace
}  // namespace lb::log
