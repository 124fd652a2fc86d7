#include "plan/yaml_reader.hpp"

#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/yaml_documents.hpp"
#include "plan/readable_text.hpp"

namespace meshca::ceremony {
namespace {

// The 0-based line and column of the first byte that is not well-formed
// UTF-8 (overlongs, surrogates and code points past U+10FFFF included) or is
// a control character YAML does not allow, or nullopt. YAML requires UTF-8,
// and the digest's canonical JSON does too.
std::optional<std::pair<int, int>> first_invalid_utf8(std::string_view text) {
  int line = 0, column = 0;
  for (std::size_t i = 0; i < text.size();) {
    Utf8Char c = decode_utf8(text, i);
    // YAML's printable set excludes C0 controls other than tab, CR and LF
    // (yaml-cpp 0.7 loops forever on a NUL inside a document).
    bool control = (c.code_point < 0x20 && c.code_point != '\t' && c.code_point != '\n' && c.code_point != '\r') || c.code_point == 0x7f;
    if (!c.ok || control) return std::pair{line, column};
    if (c.code_point == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
    i += c.length;
  }
  return std::nullopt;
}

// The first tab in the leading whitespace of a line up to the one the
// parser stopped at: YAML forbids tabs there, and the parser's own message
// ("illegal block entry", "illegal map value", ...) does not say so.
std::optional<std::pair<int, int>> indenting_tab(std::string_view text, const YAML::Mark& stop) {
  int line = 0;
  for (std::size_t start = 0; start <= text.size();) {
    if (!stop.is_null() && line > stop.line) break;
    const auto end = std::min(text.find('\n', start), text.size());
    for (std::size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '-'); ++i) {
      if (text[i] == '\t') return std::pair{line, static_cast<int>(i - start)};
    }
    start = end + 1;
    ++line;
  }
  return std::nullopt;
}

SourceLocation mark_location(const Findings& findings, const YAML::Mark& mark) {
  return mark.is_null() ? findings.location(0, 0) : findings.location(mark.line + 1, mark.column + 1);
}

std::string type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "undefined";
  }
}

}  // namespace

SourceLocation location_of(const Findings& findings, const YAML::Node& node) { return mark_location(findings, node.Mark()); }

YAML::Node load_yaml_document(std::string_view text, std::string_view what, Findings& f) {
  const std::string thing(what);
  if (auto bad = first_invalid_utf8(text)) {
    f.add(f.location(bad->first + 1, bad->second + 1), "",
          "the " + thing + " is not valid UTF-8 text (a malformed byte or a control character)");
    f.fail(what);
  }
  // A second document would be invisible to the ceremony and the digest
  // alike, yet readable by an auditor: refuse it. (Not YAML::LoadAll: it
  // can loop forever on malformed input, see core/yaml_documents.)
  auto docs = split_yaml_documents(text);
  if (docs.size() > 1) {
    f.add(f.location(docs[1].first_line + 1, 1), "", "a second YAML document ('---'); a " + thing + " is exactly one document");
    f.fail(what);
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp words this "bad file"; say what is actually wrong.
    f.add(mark_location(f, e.mark), "",
          "the " + thing + " nests collections deeper than the YAML parser allows (" + std::to_string(e.depth()) +
              " levels); a plan needs fewer than ten");
  } catch (const YAML::Exception& e) {
    if (auto tab = indenting_tab(text, e.mark)) {
      f.add(f.location(tab->first + 1, tab->second + 1), "",
            "a tab character in the indentation (YAML indents with spaces only; yaml-cpp says: " + e.msg + ")");
    } else {
      f.add(mark_location(f, e.mark), "", "YAML syntax error: " + e.msg);
    }
  }
  f.fail(what);
}

std::string join_path(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

std::string index_path(const std::string& parent, std::size_t i) { return parent + "[" + std::to_string(i) + "]"; }

std::string comma_list(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

MapReader::MapReader(Findings& findings, const YAML::Node& node, std::string path, std::vector<std::string> known)
    : f_(findings), node_(node), path_(std::move(path)) {
  f_.accept(path_, known);
  if (!node.IsMap()) {
    f_.add(at(), path_, "must be a mapping, found " + type_name(node));
    valid_ = false;
    return;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const SourceLocation key_at = location_of(f_, it->first);
    if (!it->first.IsScalar()) {
      f_.add(key_at, path_, "keys must be plain strings");
      continue;
    }
    std::string key = it->first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      f_.add(key_at, join_path(path_, escape_unreadable(key, false)), "unknown field; expected one of: " + comma_list(known));
    } else if (!seen.insert(key).second) {
      f_.add(key_at, join_path(path_, key), "duplicate key");
    } else {
      values_.emplace(key, it->second);
    }
  }
}

std::optional<YAML::Node> MapReader::required(const std::string& key) {
  if (has(key)) return values_.at(key);
  if (valid_) f_.add(at(), field(key), "missing required field");
  return std::nullopt;
}

std::optional<std::string> MapReader::string(const std::string& key, bool required_field) {
  if (!has(key)) {
    if (required_field && valid_) f_.add(at(), field(key), "missing required field");
    return std::nullopt;
  }
  const YAML::Node& v = values_.at(key);
  if (!v.IsScalar()) {
    error(key, "must be a string, found " + type_name(v));
    return std::nullopt;
  }
  if (v.Scalar().empty()) {
    error(key, "must not be empty");
    return std::nullopt;
  }
  // Every string an operator or auditor reads: names, subjects, trust
  // domains, labels. Only a description may hold line breaks and tabs.
  if (auto bad = first_unreadable(v.Scalar(), key == "description")) {
    error(key, unreadable_problem(*bad));
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<int> MapReader::integer(const std::string& key, int min, int max) {
  if (!has(key)) return std::nullopt;
  const YAML::Node& v = values_.at(key);
  int value = 0;
  const std::string& s = v.IsScalar() ? v.Scalar() : std::string();
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (!v.IsScalar() || v.Tag() == "!" || ec != std::errc() || ptr != s.data() + s.size()) {
    error(key, "must be a whole number");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> MapReader::boolean(const std::string& key) {
  if (!has(key)) return std::nullopt;
  const YAML::Node& v = values_.at(key);
  if (v.IsScalar() && v.Tag() != "!" && (v.Scalar() == "true" || v.Scalar() == "false")) return v.Scalar() == "true";
  error(key, "must be true or false");
  return std::nullopt;
}

}  // namespace meshca::ceremony
