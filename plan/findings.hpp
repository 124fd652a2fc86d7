// Findings of plan reading: each "file:line:column: field.path: what is
// wrong", collected across the three stages (decode, resolve, validate) and
// reported all at once, in the order of the lines they point at.
//
// A finding with no location (line 0) is about the whole document and comes
// first. Findings at the same place keep the order they were found in, so
// the stages and their rules decide the order of ties.
#pragma once

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.hpp"

namespace meshca::ceremony {

class Findings {
 public:
  explicit Findings(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // `line` and `column` are 1-based; 0 means "the whole document".
  SourceLocation location(int line, int column) const { return {file_, line, column}; }

  void add(const SourceLocation& at, const std::string& path, const std::string& message);
  bool ok() const { return findings_.empty(); }

  // Every finding's text, in line order (whole-document findings first).
  std::vector<std::string> sorted() const;

  // True when a finding's field path has a component equal to one of
  // `fields` ("validity" matches root.validity and defaults.intermediate.
  // validity): a cross-field rule that depends on those fields has nothing
  // sound to compare and stays silent, while independent rules still run.
  bool any_in(std::initializer_list<std::string_view> fields) const;

  // MultiError(invalid_input) "the <what> has N errors" with every finding.
  [[noreturn]] void fail(std::string_view what) const;

  // The fields a mapping accepts ("meshes[].clusters[].name"), recorded by
  // the decoder so the documentation can be checked against it.
  void accept(const std::string& path, const std::vector<std::string>& keys);
  const std::set<std::string>& accepted() const { return accepted_; }

 private:
  struct Finding {
    SourceLocation at;
    std::vector<std::string> components;  // of the field path, indexes dropped
    std::string text;
  };
  std::string file_;
  std::vector<Finding> findings_;
  std::set<std::string> accepted_;
};

}  // namespace meshca::ceremony
