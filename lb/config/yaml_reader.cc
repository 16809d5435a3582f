#include "lb/config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>

#include "lb/config/address.h"
#include "lb/config/units.h"

namespace lb::config::yaml {

void Diagnostics::error(const YAML::Mark& at, std::string key_path, std::string message) {
  // yaml-cpp counts from 0 and uses -1 for "no position"; reports count from 1.
  const bool placed = at.line >= 0;
  errors_.push_back(ConfigError{file_, placed ? at.line + 1 : 0, placed ? at.column + 1 : 0, std::move(key_path),
                                std::move(message)});
}

void Diagnostics::warning(const YAML::Mark& at, std::string key_path, std::string message) {
  const bool placed = at.line >= 0;
  warnings_.push_back(ConfigError{file_, placed ? at.line + 1 : 0, placed ? at.column + 1 : 0, std::move(key_path),
                                  std::move(message)});
}

std::vector<ConfigError> Diagnostics::take_sorted() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return std::move(errors_);
}

Field::Field(YAML::Node node_, std::string path_, Diagnostics* diag_)
    : node(std::move(node_)), path(std::move(path_)), diag(diag_), at(node.Mark()) {}

// yaml-cpp places an empty value where the next token starts, often on the
// next line; the key is where the operator will look.
Field::Field(YAML::Node node_, std::string path_, Diagnostics* diag_, const YAML::Mark& key)
    : Field(std::move(node_), std::move(path_), diag_) {
  if (node.IsNull()) at = key;
}

std::string Field::child_path(std::string_view key) const {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Field::item_path(size_t index) const { return path + "[" + std::to_string(index) + "]"; }

MapReader::MapReader(const Field& map) : self_(map), is_map_(map.node.IsMap() || map.node.IsNull()) {
  if (!is_map_) map.error(map.path.empty() ? "the top level must be a mapping" : "must be a mapping");
  if (!map.node.IsMap()) return;
  for (const auto& kv : map.node) {
    if (!kv.first.IsScalar()) {
      map.diag->error(kv.first.Mark(), map.path, "keys must be plain words");
      continue;
    }
    const std::string& key = kv.first.Scalar();
    const bool seen = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
    if (seen) {
      map.diag->error(kv.first.Mark(), map.child_path(key), "duplicate key");
      continue;
    }
    entries_.push_back(Entry{key, kv.first, kv.second});
  }
}

MapReader::~MapReader() {
  for (const Entry& e : entries_) {
    if (e.asked) continue;
    // yaml-cpp 0.7 reads YAML merge keys as an ordinary key.
    const char* why = e.key == "<<" ? "merge keys are not supported" : "unknown key";
    self_.diag->error(e.key_node.Mark(), self_.child_path(e.key), why);
  }
}

std::optional<Field> MapReader::get(std::string_view key) {
  for (Entry& e : entries_) {
    if (e.key != key) continue;
    e.asked = true;
    return Field(e.value, self_.child_path(key), self_.diag, e.key_node.Mark());
  }
  return std::nullopt;
}

std::optional<Field> MapReader::require(std::string_view key) {
  auto field = get(key);
  if (!field && is_map_) self_.diag->error(self_.at, self_.child_path(key), "is required");
  return field;
}

void for_each_item(const Field& list, Empty empty, const std::function<void(const Field&)>& fn) {
  if (!list.node.IsNull() && !list.node.IsSequence()) {
    list.error("must be a list");
    return;
  }
  if (list.node.size() == 0 && empty == Empty::refused) {
    list.error("must not be empty");
    return;
  }
  for (size_t i = 0; i < list.node.size(); ++i) fn(Field(list.node[i], list.item_path(i), list.diag));
}

std::optional<std::string> as_string(const Field& f) {
  if (f.node.IsNull()) return std::string();
  if (!f.node.IsScalar()) {
    f.error("must be a single value, not a " + std::string(f.node.IsMap() ? "mapping" : "list"));
    return std::nullopt;
  }
  return f.node.Scalar();
}

std::optional<std::string> as_non_empty_string(const Field& f) {
  auto text = as_string(f);
  if (text && text->empty()) {
    f.error("must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> as_bool(const Field& f) {
  bool value = false;
  if (f.node.IsScalar() && YAML::convert<bool>::decode(f.node, value)) return value;
  f.error("must be true or false");
  return std::nullopt;
}

std::optional<double> as_number(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value)) {
    f.error("must be a number");
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> as_integer(const Field& f, int64_t min, int64_t max) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  const bool parsed = !text->empty() && ec == std::errc{} && end == text->data() + text->size();
  if (parsed && value >= min && value <= max) return value;
  const bool open_ended = max == std::numeric_limits<int64_t>::max();
  f.error("must be " + std::to_string(min) + (open_ended ? " or more" : ".." + std::to_string(max)));
  return std::nullopt;
}

std::optional<Duration> as_duration(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  auto value = parse_duration(*text);
  if (!value) f.error("invalid duration '" + *text + "' (use ms, s, m or h, e.g. 250ms, 1.5s, 5m)");
  return value;
}

std::optional<Duration> as_positive_duration(const Field& f) {
  auto value = as_duration(f);
  if (value && value->count() == 0) {
    f.error("must be greater than 0");
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> as_size(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  auto value = parse_size(*text);
  if (!value) f.error("invalid size '" + *text + "' (use B, KiB, MiB or GiB, e.g. 32KiB; a bare number is bytes)");
  return value;
}

std::optional<uint64_t> as_positive_size(const Field& f) {
  auto value = as_size(f);
  if (value && *value == 0) {
    f.error("must be greater than 0");
    return std::nullopt;
  }
  return value;
}

std::optional<Address> as_address(const Field& f) {
  auto text = as_non_empty_string(f);
  if (!text) return std::nullopt;
  std::string why;
  auto address = parse_address(*text, why);
  if (!address) f.error("invalid address '" + *text + "': " + why);
  return address;
}

bool is_token(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

std::optional<std::string> as_token(const Field& f) {
  auto text = as_non_empty_string(f);
  if (!text) return std::nullopt;
  if (is_token(*text)) return text;
  f.error("'" + *text + "' is not a valid header or cookie name");
  return std::nullopt;
}

void UniqueNames::add(const std::string& name, const Field& where) {
  auto [it, inserted] = first_line_.emplace(name, where.at.line + 1);
  if (!inserted) where.error("duplicate " + what_ + " '" + name + "' (first at line " + std::to_string(it->second) + ")");
}

}  // namespace lb::config::yaml
