#include "lb/config/loader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lb/config/address.h"
#include "lb/config/sections.h"

namespace lb::config {
namespace {

using namespace yaml;

std::optional<unsigned> as_workers(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  if (*text == "auto") return 0u;
  unsigned n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (!text->empty() && ec == std::errc{} && end == text->data() + text->size() && n >= 1 && n <= kMaxWorkers) return n;
  f.error("must be 'auto' or 1.." + std::to_string(kMaxWorkers));
  return std::nullopt;
}

AdminConfig read_admin(const Field& field, FileScope& scope) {
  AdminConfig a;
  MapReader m(field);
  if (auto f = assign(m.get("listen"), a.listen, as_address)) scope.listen_addresses.add(a.listen.text, *f);
  assign(m.get("token_file"), a.token_file, as_string);
  // Off loopback the admin API can drain backends: never leave it open.
  if (!is_loopback(a.listen) && a.token_file.empty())
    field.diag->error(field.at, m.self().child_path("token_file"),
                      "is required when admin.listen is not a loopback address");
  return a;
}

LogConfig read_log(const Field& field) {
  LogConfig l;
  MapReader m(field);
  assign(m.get("level"), l.level,
         one_of<LogLevel>({{"trace", LogLevel::trace},
                           {"debug", LogLevel::debug},
                           {"info", LogLevel::info},
                           {"warn", LogLevel::warn},
                           {"error", LogLevel::error}}));
  assign(m.get("access_log"), l.access_log, as_non_empty_string);  // stdout | off | a path
  return l;
}

Config read_config(const Field& root) {
  Config c;
  FileScope scope;
  MapReader m(root);
  assign(m.get("workers"), c.workers, as_workers);
  assign(m.get("shutdown_timeout"), c.shutdown_timeout, as_positive_duration);
  if (auto f = m.get("admin")) c.admin = read_admin(*f, scope);
  if (auto f = m.get("log")) c.log = read_log(*f);
  if (auto f = m.get("resolver")) c.resolver = read_resolver(*f);
  // Pools first, so routes can be checked against every pool in the file.
  if (auto f = m.require("pools"))
    for_each_item(*f, Empty::refused, [&](const Field& item) { c.pools.push_back(read_pool(item, scope)); });
  if (auto f = m.require("listeners"))
    for_each_item(*f, Empty::refused, [&](const Field& item) { c.listeners.push_back(read_listener(item, scope)); });
  return c;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  return out + message;
}

LoadResult load_string(const std::string& yaml_text, const std::string& file_name) {
  Diagnostics diag(file_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    diag.error(e.mark, "", "invalid YAML: " + e.msg);
    return LoadResult{std::nullopt, diag.take_sorted(), {}};
  }
  Config config = read_config(Field(root, "", &diag));
  config.source_file = file_name;
  LoadResult result{std::nullopt, diag.take_sorted(), diag.take_warnings()};
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

unsigned resolve_workers(unsigned workers, unsigned hardware_threads) {
  if (workers > 0) return std::min(workers, kMaxWorkers);  // the loader refused more
  return std::clamp(hardware_threads, 1u, kMaxWorkers);
}

LoadResult load_file(const std::string& path) {
  auto unreadable = [&](const std::string& why) {
    return LoadResult{std::nullopt, {ConfigError{path, 0, 0, "", "cannot read: " + why}}, {}};
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable(std::strerror(EISDIR));
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(errno != 0 ? std::strerror(errno) : "cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unreadable(std::strerror(EIO));
  return load_string(text.str(), path);
}

}  // namespace lb::config
