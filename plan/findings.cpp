#include "plan/findings.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace meshca::ceremony {
namespace {

// "meshes[0].clusters[1].name" -> meshes, clusters, name.
std::vector<std::string> path_components(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (!in_index && c != '.') part.push_back(c);
    if (c == ']') in_index = false;
    if (c == '.' || c == '[') {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    }
  }
  if (!part.empty()) parts.push_back(part);
  return parts;
}

}  // namespace

void Findings::add(const SourceLocation& at, const std::string& path, const std::string& message) {
  std::string where = file_;
  if (at.line > 0) where += ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  findings_.push_back({at, path_components(path), where + ": " + (path.empty() ? "" : path + ": ") + message});
}

std::vector<std::string> Findings::sorted() const {
  std::vector<Finding> in_order = findings_;
  std::stable_sort(in_order.begin(), in_order.end(), [](const Finding& a, const Finding& b) {
    return std::pair(a.at.line, a.at.column) < std::pair(b.at.line, b.at.column);
  });
  std::vector<std::string> text;
  text.reserve(in_order.size());
  for (const auto& f : in_order) text.push_back(f.text);
  return text;
}

bool Findings::any_in(std::initializer_list<std::string_view> fields) const {
  return std::any_of(findings_.begin(), findings_.end(), [&fields](const Finding& f) {
    return std::any_of(fields.begin(), fields.end(), [&f](std::string_view field) {
      return std::find(f.components.begin(), f.components.end(), field) != f.components.end();
    });
  });
}

void Findings::fail(std::string_view what) const {
  const auto errors = sorted();
  std::string summary = "the " + std::string(what) + " has " + std::to_string(errors.size()) + " error" + (errors.size() == 1 ? "" : "s");
  throw MultiError(ErrorKind::invalid_input, summary, errors);
}

void Findings::accept(const std::string& path, const std::vector<std::string>& keys) {
  std::string normalized;
  for (std::size_t i = 0; i < path.size(); ++i) {
    normalized.push_back(path[i]);
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  if (!normalized.empty()) normalized += '.';
  for (const auto& key : keys) accepted_.insert(normalized + key);
}

}  // namespace meshca::ceremony
