// The YAML layer of plan decoding: loading one document safely, and reading
// mappings strictly. Shared by plans and certificate profiles.
//
// load_yaml_document() refuses what YAML or yaml-cpp cannot be trusted
// with (malformed UTF-8 and control characters, a second document, nesting
// deeper than the parser allows, tabs in indentation) with a finding that
// says what is wrong. MapReader reads one mapping with strict key checking:
// every key known and present once, each value of the expected type; every
// problem is a finding at the node where it is written.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/findings.hpp"

namespace meshca::ceremony {

// The document of `text`; on failure the findings so far and the reason are
// thrown as MultiError ("the <what> has 1 error").
YAML::Node load_yaml_document(std::string_view text, std::string_view what, Findings& findings);

// Where `node` is written (line 0 for a node that is not in the document).
SourceLocation location_of(const Findings& findings, const YAML::Node& node);

std::string join_path(const std::string& parent, const std::string& key);
std::string index_path(const std::string& parent, std::size_t i);
std::string comma_list(const std::vector<std::string>& items);  // "a, b, c"

class MapReader {
 public:
  MapReader(Findings& findings, const YAML::Node& node, std::string path, std::vector<std::string> known);

  bool valid() const { return valid_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  Findings& findings() const { return f_; }
  std::string field(const std::string& key) const { return join_path(path_, key); }
  // Present with a value (not empty).
  bool has(const std::string& key) const { return values_.count(key) && !values_.at(key).IsNull(); }
  // Present at all (perhaps empty).
  bool present(const std::string& key) const { return values_.count(key) != 0; }
  YAML::Node get(const std::string& key) const { return values_.count(key) ? values_.at(key) : YAML::Node(); }
  SourceLocation at() const { return location_of(f_, node_); }
  SourceLocation at(const std::string& key) const { return location_of(f_, get(key)); }
  void error(const std::string& key, const std::string& message) const { f_.add(at(key), field(key), message); }

  // A present, non-null value or a finding "missing required field".
  std::optional<YAML::Node> required(const std::string& key);
  // A non-empty, readable string (only `description` may hold line breaks).
  std::optional<std::string> string(const std::string& key, bool required_field);
  std::optional<int> integer(const std::string& key, int min, int max);
  std::optional<bool> boolean(const std::string& key);

 private:
  Findings& f_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = true;
  std::map<std::string, YAML::Node> values_;
};

}  // namespace meshca::ceremony
