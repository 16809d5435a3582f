#pragma once
// Private to the config loader: walks yaml-cpp nodes while remembering the
// key path and file position of every value, so that each problem can be
// reported as FILE:LINE:COL: key.path: message, and all of them in one pass
// (a reader reports and carries on; it never throws).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/config/loader.h"
#include "lb/core/time.h"

namespace lb::config::yaml {

// Collects the errors of one file.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Mark& at, std::string key_path, std::string message);
  // Something that loads but is likely a mistake (`lbd --check` prints it).
  void warning(const YAML::Mark& at, std::string key_path, std::string message);
  // Sorted by position, so the report reads top to bottom like the file.
  std::vector<ConfigError> take_sorted();
  std::vector<ConfigError> take_warnings() { return std::move(warnings_); }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
};

// One value of the file together with its key path and where to report.
struct Field {
  YAML::Node node;
  std::string path;  // "" for the document root
  Diagnostics* diag;
  YAML::Mark at;  // the value, or its key when the value is empty

  Field(YAML::Node node, std::string path, Diagnostics* diag);
  Field(YAML::Node node, std::string path, Diagnostics* diag, const YAML::Mark& key);

  void error(std::string message) const { diag->error(at, path, std::move(message)); }
  std::string child_path(std::string_view key) const;
  std::string item_path(size_t index) const;
};

// Reads one mapping. Keys are looked up by the section readers; any key
// nobody asked for is reported as unknown when the reader goes out of scope.
// A null value (a key with nothing after the colon) reads as an empty mapping.
class MapReader {
 public:
  explicit MapReader(const Field& map);
  ~MapReader();
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  std::optional<Field> get(std::string_view key);      // nullopt when absent
  std::optional<Field> require(std::string_view key);  // reports "is required" when absent
  const Field& self() const { return self_; }

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool asked = false;
  };
  Field self_;
  bool is_map_;  // false after "must be a mapping": its keys are not looked for
  std::vector<Entry> entries_;
};

// Calls `fn` for each element of a list (null reads as an empty list).
enum class Empty { allowed, refused };
void for_each_item(const Field& list, Empty empty, const std::function<void(const Field&)>& fn);

// Converters: the value, or nullopt after reporting why it is unusable.
std::optional<std::string> as_string(const Field& f);  // null reads as ""
std::optional<std::string> as_non_empty_string(const Field& f);
std::optional<bool> as_bool(const Field& f);
std::optional<double> as_number(const Field& f);
std::optional<Duration> as_duration(const Field& f);           // >= 0
std::optional<Duration> as_positive_duration(const Field& f);  // > 0
std::optional<uint64_t> as_size(const Field& f);               // >= 0
std::optional<uint64_t> as_positive_size(const Field& f);      // > 0
std::optional<Address> as_address(const Field& f);
std::optional<std::string> as_token(const Field& f);  // an HTTP header or cookie name
bool is_token(std::string_view text);                 // RFC 9110 token characters only

// Integers in [min, max]; the error reads "must be MIN..MAX" (or "MIN or more"
// when max is the largest int64_t).
std::optional<int64_t> as_integer(const Field& f, int64_t min, int64_t max);
inline auto integer_in(int64_t min, int64_t max) {
  return [min, max](const Field& f) { return as_integer(f, min, max); };
}

// One of a fixed set of words, mapped to a value; anything else is reported
// together with the valid words.
template <class T>
auto one_of(std::initializer_list<std::pair<std::string_view, T>> choices) {
  std::vector<std::pair<std::string, T>> table(choices.begin(), choices.end());
  return [table = std::move(table)](const Field& f) -> std::optional<T> {
    std::string valid;
    auto text = as_string(f);
    if (!text) return std::nullopt;
    for (const auto& [word, value] : table) {
      if (word == *text) return value;
      valid += (valid.empty() ? "" : ", ") + word;
    }
    f.error("unknown value '" + *text + "' (valid: " + valid + ")");
    return std::nullopt;
  };
}

// Stores the converted value of `field` into `out` when the field is present
// and valid; returns the field then, for checks that need its position.
template <class T, class Convert>
std::optional<Field> assign(const std::optional<Field>& field, T& out, Convert&& convert) {
  if (!field) return std::nullopt;
  auto value = convert(*field);
  if (!value) return std::nullopt;
  out = static_cast<T>(*value);
  return field;
}

// Names that must be unique within a scope (listeners, pools, backends of a
// pool, listen addresses); reports every repeat with where the first was.
class UniqueNames {
 public:
  explicit UniqueNames(std::string what) : what_(std::move(what)) {}
  void add(const std::string& name, const Field& where);
  bool contains(const std::string& name) const { return first_line_.contains(name); }

 private:
  std::string what_;
  std::map<std::string, int> first_line_;
};

}  // namespace lb::config::yaml
