// The subject template grammar of intermediates: literal text with
// {mesh}, {cluster}, {trust_domain} and {organization} placeholders.
//
// A template is parsed once, when the plan or profile is decoded (an unknown
// or unclosed placeholder is a finding there); resolving a cluster's
// subject only substitutes the parsed parts.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace meshca::ceremony {

struct SubjectTemplate {
  struct Placeholder {
    std::string name;  // "mesh", "cluster", "trust_domain" or "organization"
    bool operator==(const Placeholder&) const = default;
  };
  using Part = std::variant<std::string, Placeholder>;

  std::string text;  // as written
  std::vector<Part> parts;
  bool operator==(const SubjectTemplate&) const = default;

  // The template of `text`, or the problem of its first bad placeholder
  // ("unknown placeholder '{x}' in subject CN; use ...") in `problem`.
  static SubjectTemplate parse(const std::string& attr, const std::string& text, std::string& problem);

  // The text with every placeholder replaced by its value in `values`.
  std::string expand(const std::map<std::string, std::string>& values) const;
};

// A subject as attributes in the order they were written.
using SubjectTemplates = std::vector<std::pair<std::string, SubjectTemplate>>;

}  // namespace meshca::ceremony
