#include "plan/subject_template.hpp"

#include <set>

namespace meshca::ceremony {

SubjectTemplate SubjectTemplate::parse(const std::string& attr, const std::string& text, std::string& problem) {
  static const std::set<std::string> known{"mesh", "cluster", "trust_domain", "organization"};
  SubjectTemplate t{text, {}};
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      literal.push_back(text[i]);
      continue;
    }
    const auto close = text.find('}', i);
    std::string name = text.substr(i + 1, close == std::string::npos ? std::string::npos : close - i - 1);
    if (close == std::string::npos || !known.count(name)) {
      problem = "unknown placeholder '{" + name;
      problem += "}' in subject " + attr;
      problem += "; use {mesh}, {cluster}, {trust_domain} or {organization}";
      return t;
    }
    if (!literal.empty()) t.parts.emplace_back(std::move(literal));
    literal.clear();
    t.parts.emplace_back(Placeholder{std::move(name)});
    i = close;
  }
  if (!literal.empty()) t.parts.emplace_back(std::move(literal));
  return t;
}

std::string SubjectTemplate::expand(const std::map<std::string, std::string>& values) const {
  std::string out;
  for (const auto& part : parts) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      out += *literal;
    } else {
      out += values.at(std::get<Placeholder>(part).name);
    }
  }
  return out;
}

}  // namespace meshca::ceremony
