// One entry of a listener's `routes:` (DESIGN.md "Routes, second round").
#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>

#include "lb/balance/hash_key.h"
#include "lb/config/sections.h"
#include "lb/http/header_list.h"

namespace lb::config::yaml {
namespace {

// Patterns come from the operator, but one still should not be able to
// make every request slow: RE2 runs in linear time, and these bound the
// size of what it runs.
constexpr size_t kMaxPatternBytes = 1024;
constexpr int kMaxProgramSize = 10'000;
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 64;

std::shared_ptr<const re2::RE2> compile_regex(const Field& f, std::string_view pattern) {
  if (pattern.empty()) {
    f.error("the regular expression must not be empty");
    return nullptr;
  }
  if (pattern.size() > kMaxPatternBytes) {
    f.error("the regular expression is longer than " + std::to_string(kMaxPatternBytes) + " bytes");
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error is reported below, with its place
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    f.error("invalid regular expression '" + std::string(pattern) + "': " + re->error());
    return nullptr;
  }
  if (re->ProgramSize() > kMaxProgramSize) {
    f.error("the regular expression is too complex (program size " + std::to_string(re->ProgramSize()) + ", at most " +
            std::to_string(kMaxProgramSize) + ")");
    return nullptr;
  }
  return re;
}

// Calls fn(key, value) for each entry of a mapping whose keys are data
// (header names), not fixed words; MapReader is for the latter.
void for_each_entry(const Field& map, const std::function<void(const std::string&, const Field&)>& fn) {
  if (map.node.IsNull()) return;
  if (!map.node.IsMap()) {
    map.error("must be a mapping");
    return;
  }
  std::vector<std::string> seen;
  for (const auto& kv : map.node) {
    if (!kv.first.IsScalar()) {
      map.diag->error(kv.first.Mark(), map.path, "keys must be plain words");
      continue;
    }
    const std::string& key = kv.first.Scalar();
    const Field value(kv.second, map.child_path(key), map.diag, kv.first.Mark());
    if (std::any_of(seen.begin(), seen.end(), [&](const std::string& s) { return http::iequals(s, key); })) {
      map.diag->error(kv.first.Mark(), value.path, "duplicate header name (names are case-insensitive)");
      continue;
    }
    seen.push_back(key);
    fn(key, value);
  }
}

bool check_header_name(const Field& where, const std::string& name) {
  if (is_token(name)) return true;
  where.error("'" + name + "' is not a valid header name");
  return false;
}

std::optional<std::string> as_field_value(const Field& f) {
  auto text = as_string(f);
  if (!text) return std::nullopt;
  if (http::is_valid_field_value(*text)) return text;
  f.error("must be a header value: no control characters, no leading or trailing space");
  return std::nullopt;
}

void read_host(const Field& f, Route& r) {
  if (!assign(std::optional<Field>(f), r.host, as_non_empty_string)) return;
  std::string_view h = r.host;
  const bool wildcard = h.starts_with("*.");
  if (wildcard) h.remove_prefix(2);
  if (h.empty() || h.size() > 253) return f.error("must be a host name of 1..253 characters");
  if (h.find('*') != std::string_view::npos) return f.error("'*' is allowed only as a leading \"*.\" wildcard");
  if (!h.starts_with('[') && h.find(':') != std::string_view::npos)
    return f.error("must not carry a port: routes match the host whatever the port");
  for (unsigned char c : h)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@') return f.error("'" + r.host + "' is not a host name");
}

void read_path(MapReader& m, Route& r) {
  std::optional<Field> chosen;
  auto one = [&](const char* key, std::string& out) {
    auto f = m.get(key);
    if (!f) return std::optional<Field>();
    if (chosen) {
      f->error("only one of path_prefix, path_exact, path_regex may be given");
      return std::optional<Field>();
    }
    chosen = f;
    return assign(f, out, as_string);
  };
  if (auto f = one("path_prefix", r.path_prefix); f && !r.path_prefix.empty() && !r.path_prefix.starts_with('/'))
    f->error("must start with '/'");
  if (auto f = one("path_exact", r.path_exact); f && !r.path_exact.starts_with('/')) f->error("must start with '/'");
  if (auto f = one("path_regex", r.path_regex)) r.path_re = compile_regex(*f, r.path_regex);
}

void read_methods(const Field& list, Route& r) {
  for_each_item(list, Empty::refused, [&](const Field& item) {
    auto m = as_non_empty_string(item);
    if (!m) return;
    if (!is_token(*m)) return item.error("'" + *m + "' is not a method name");
    if (std::any_of(m->begin(), m->end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      return item.error("methods are case-sensitive: write '" + [&] {
        std::string up = *m;
        std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return char(std::toupper(c)); });
        return up;
      }() + "'");
    r.methods.push_back(*m);
  });
}

void read_header_matches(const Field& map, Route& r) {
  for_each_entry(map, [&](const std::string& name, const Field& value) {
    if (!check_header_name(value, name)) return;
    auto text = as_field_value(value);
    if (!text) return;
    HeaderMatch h;
    h.name = name;
    if (*text == "*") {
      h.kind = HeaderMatch::Kind::present;
    } else if (text->starts_with('~')) {
      h.kind = HeaderMatch::Kind::regex;
      h.value = text->substr(1);
      h.regex = compile_regex(value, h.value);
      if (!h.regex) return;
    } else {
      h.value = *text;
    }
    r.headers.push_back(std::move(h));
  });
}

std::optional<Cidr> as_cidr(const Field& f) {
  auto text = as_non_empty_string(f);
  if (!text) return std::nullopt;
  std::string why;
  auto c = parse_cidr(*text, why);
  if (!c) {
    f.error(why);
    return std::nullopt;
  }
  c->text = *text;
  return c;
}

void read_edits(const Field& field, http::HeaderEdits& e, http::EditedMessage message) {
  MapReader m(field);
  auto checked = [&](const Field& where, const std::string& name) {
    if (!check_header_name(where, name)) return false;
    if (const char* why = http::reserved_field(name, message)) {
      where.error("'" + name + "' " + why);
      return false;
    }
    return true;
  };
  auto read_fields = [&](const char* key, std::vector<std::pair<std::string, std::string>>& out) {
    if (auto f = m.get(key))
      for_each_entry(*f, [&](const std::string& name, const Field& value) {
        if (!checked(value, name)) return;
        if (auto v = as_field_value(value)) out.emplace_back(name, *v);
      });
  };
  read_fields("set", e.set);
  read_fields("add", e.add);
  if (auto f = m.get("remove"))
    for_each_item(*f, Empty::allowed, [&](const Field& item) {
      auto name = as_non_empty_string(item);
      if (name && message == http::EditedMessage::request && http::iequals(*name, "host"))
        return item.error("a request needs a Host; set it to another value instead");
      if (name && checked(item, *name)) e.remove.push_back(*name);
    });
}

void read_split(const Field& list, Route& r, const FileScope& scope) {
  uint64_t total = 0;
  for_each_item(list, Empty::refused, [&](const Field& item) {
    WeightedPool w;
    MapReader m(item);
    auto pool = assign(m.require("pool"), w.pool, as_non_empty_string);
    if (pool && !scope.pool_names.contains(w.pool)) pool->error("unknown pool '" + w.pool + "'");
    assign(m.require("weight"), w.weight, integer_in(0, 1000));
    total += w.weight;
    r.pools.push_back(std::move(w));
  });
  if (!r.pools.empty() && total == 0) list.error("the weights must not all be 0");
}

void read_redirect(const Field& field, Redirect& redirect) {
  MapReader m(field);
  if (auto f = assign(m.require("to"), redirect.to, as_non_empty_string)) {
    auto parsed = http::RedirectTemplate::parse(redirect.to);
    if (auto* why = std::get_if<std::string>(&parsed)) f->error(*why);
    else redirect.target = std::get<http::RedirectTemplate>(std::move(parsed));
  }
  if (auto f = assign(m.get("status"), redirect.status, integer_in(301, 308))) {
    if (redirect.status != 301 && redirect.status != 302 && redirect.status != 303 && redirect.status != 307 &&
        redirect.status != 308)
      f->error("must be 301, 302, 303, 307 or 308");
  }
}

void read_respond(const Field& field, FixedAnswer& a) {
  MapReader m(field);
  assign(m.get("status"), a.status, integer_in(200, 599));
  if (auto f = assign(m.get("body"), a.body, as_string); f && a.body.size() > kMaxBodyBytes)
    f->error("must be at most " + std::to_string(kMaxBodyBytes) + " bytes");
  assign(m.get("content_type"), a.content_type, [](const Field& f) -> std::optional<std::string> {
    auto v = as_field_value(f);
    if (v && v->empty()) {
      f.error("must not be empty");
      return std::nullopt;
    }
    return v;
  });
}

void read_action(MapReader& m, Route& r, const FileScope& scope) {
  const char* keys[] = {"pool", "pools", "redirect", "respond"};
  std::optional<Field> fields[4];
  int chosen = -1;
  for (int i = 0; i < 4; ++i) {
    fields[i] = m.get(keys[i]);
    if (!fields[i]) continue;
    if (chosen >= 0) {
      fields[i]->error(std::string("a route takes one action; it already has '") + keys[chosen] + "'");
      continue;
    }
    chosen = i;
  }
  switch (chosen) {
    case 0:
      r.action = RouteAction::pool;
      if (auto f = assign(fields[0], r.pool, as_non_empty_string); f && !scope.pool_names.contains(r.pool))
        f->error("unknown pool '" + r.pool + "'");
      break;
    case 1:
      r.action = RouteAction::split;
      read_split(*fields[1], r, scope);
      break;
    case 2:
      r.action = RouteAction::redirect;
      read_redirect(*fields[2], r.redirect);
      break;
    case 3:
      r.action = RouteAction::respond;
      read_respond(*fields[3], r.respond);
      break;
    default:
      m.self().error("a route needs one of pool, pools, redirect, respond");
  }
}

}  // namespace

Route read_route(const Field& field, const FileScope& scope, UniqueNames& route_names) {
  Route r;
  r.line = field.at.line + 1;
  MapReader m(field);
  if (auto f = assign(m.get("name"), r.name, as_non_empty_string)) {
    const bool digits = std::all_of(r.name.begin(), r.name.end(), ::isdigit);
    if (r.name.size() > kMaxNameBytes || !is_token(r.name) || digits)
      f->error("must be 1.." + std::to_string(kMaxNameBytes) +
               " letters, digits or -_. (not only digits: unnamed routes are known by their index)");
    else
      route_names.add(r.name, *f);
  }
  if (auto f = m.get("host")) read_host(*f, r);
  read_path(m, r);
  if (auto f = m.get("methods")) read_methods(*f, r);
  if (auto f = m.get("headers")) read_header_matches(*f, r);
  if (auto f = m.get("client_cidr"))
    for_each_item(*f, Empty::refused, [&](const Field& item) {
      if (auto c = as_cidr(item)) r.client_cidr.push_back(std::move(*c));
    });

  read_action(m, r, scope);
  const bool forwards = r.action == RouteAction::pool || r.action == RouteAction::split;
  auto only_forwarding = [&](const std::optional<Field>& f) {
    if (f && !forwards) f->error("applies only to routes with pool or pools");
    return f && forwards ? f : std::nullopt;
  };
  if (auto f = m.get("split_by")) {
    if (r.action != RouteAction::split) {
      f->error("applies only to routes with pools");
    } else if (assign(f, r.split_by, as_non_empty_string) && r.split_by != "random") {
      const auto key = balance::parse_hash_key(r.split_by);
      if (!key || key->source == balance::HashKey::Source::uri)
        f->error("must be random, client_ip, header:NAME or cookie:NAME");
    }
  }
  for (const char* key : {"strip_prefix", "add_prefix"}) {
    std::string& out = key[0] == 's' ? r.path_rewrite.strip_prefix : r.path_rewrite.add_prefix;
    if (auto f = assign(only_forwarding(m.get(key)), out, as_non_empty_string))
      if (const char* why = http::invalid_prefix(out)) f->error(why);
  }
  if (auto f = only_forwarding(m.get("request_headers")))
    read_edits(*f, r.request_headers, http::EditedMessage::request);
  if (auto f = only_forwarding(m.get("response_headers")))
    read_edits(*f, r.response_headers, http::EditedMessage::response);
  if (auto f = only_forwarding(m.get("timeouts"))) {
    MapReader t(*f);
    Duration d{};
    if (assign(t.get("response"), d, as_positive_duration)) r.response_timeout = d;
  }
  return r;
}

}  // namespace lb::config::yaml
