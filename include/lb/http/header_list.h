#pragma once
// The header fields of one HTTP message, stored flat: every name and value
// lives in one string that keeps its capacity across messages, so parsing a
// request allocates nothing once a connection has warmed up. llhttp may hand
// a name or value over in pieces (split reads); append_* stitches them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http/ows.h"

namespace lb::http {

// ASCII case-insensitive equality, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// The fields lbd acts on, recognised once when a field is parsed so the
// rest of the request path compares small integers, not strings.
enum class FieldId : uint8_t {
  other,
  host,
  content_length,
  transfer_encoding,
  connection,
  keep_alive,
  proxy_connection,
  te,
  trailer,
  upgrade,
  x_forwarded_for,
  x_real_ip,
  x_forwarded_proto,
  x_request_id,
  expect,
  cookie,
};
FieldId classify_field(std::string_view name);

class HeaderList {
 public:
  void begin_field() { entries_.push_back({uint32_t(buf_.size()), 0, 0, 0, FieldId::other}); }

  // The llhttp callback sequence, as both parsers receive it: name pieces,
  // name complete, value pieces, value complete.
  void on_name_piece(std::string_view piece) {
    if (!in_name_) {
      begin_field();
      in_name_ = true;
    }
    append_name(piece);
  }
  void on_name_complete() {
    if (!in_name_) begin_field();  // an empty name: kept so validation sees it
    in_name_ = false;
    begin_value();
  }
  void append_name(std::string_view part) {
    buf_.append(part);
    entries_.back().name_len += uint32_t(part.size());
  }
  void begin_value() { entries_.back().value_off = uint32_t(buf_.size()); }
  void append_value(std::string_view part) {
    buf_.append(part);
    entries_.back().value_len += uint32_t(part.size());
  }
  // Drops trailing spaces/tabs llhttp leaves on the value just completed,
  // and recognises the field's name.
  void end_value();

  size_t size() const { return entries_.size(); }
  std::string_view name(size_t i) const { return {buf_.data() + entries_[i].name_off, entries_[i].name_len}; }
  std::string_view value(size_t i) const { return {buf_.data() + entries_[i].value_off, entries_[i].value_len}; }
  FieldId id(size_t i) const { return entries_[i].id; }

  // First value of `name` (case-insensitive), if any.
  std::optional<std::string_view> find(std::string_view name) const;
  size_t count(std::string_view name) const;
  std::optional<std::string_view> find(FieldId id) const;

  // A field lbd adds itself (Set-Cookie of a sticky pool), after the others.
  void add(std::string_view name, std::string_view value) {
    begin_field();
    append_name(name);
    begin_value();
    append_value(value);
    end_value();
  }

  // Drops every field named `name` (case-insensitive); their bytes stay
  // in the buffer until clear(). Returns how many were dropped.
  size_t remove(std::string_view name);

  void clear() {
    buf_.clear();
    entries_.clear();
    in_name_ = false;
  }
  // clear(), and gives the buffers' memory back (clear() keeps it for the
  // next message); returns the bytes given back.
  size_t release_memory() {
    // A short string's bytes are inside the object (no heap): not counted.
    const size_t heap = buf_.capacity() > std::string().capacity() ? buf_.capacity() : 0;
    const size_t bytes = heap + entries_.capacity() * sizeof(Entry);
    std::string().swap(buf_);
    std::vector<Entry>().swap(entries_);
    in_name_ = false;
    return bytes;
  }


 private:
  struct Entry {
    uint32_t name_off, name_len, value_off, value_len;
    FieldId id = FieldId::other;
  };
  std::string buf_;
  std::vector<Entry> entries_;
  bool in_name_ = false;
};

// Calls fn(token) for each comma-separated token of a header value, trimmed.
template <typename Fn>
void for_each_token(std::string_view value, Fn&& fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    const std::string_view tok = trim_ows(value.substr(0, comma));
    if (!tok.empty()) fn(tok);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace lb::http
