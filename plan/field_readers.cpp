#include "plan/field_readers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "plan/plan_reader.hpp"
#include "plan/readable_text.hpp"

namespace meshca::ceremony {
namespace {

std::optional<UnixTime> read_time(MapReader& m, const std::string& key) {
  auto text = m.string(key, false);
  if (!text) return std::nullopt;
  std::string error;
  auto t = parse_rfc3339(*text, error);
  if (!t) m.error(key, error);
  return t;
}

// The validity fields as written, or nullopt after a finding.
std::optional<ValiditySpec> read_validity_fields(MapReader& m, bool& any) {
  ValiditySpec v;
  if (auto text = m.string("validity", false)) {
    std::string error;
    v.duration = parse_duration(*text, error);
    if (!v.duration) {
      m.error("validity", error);
      return std::nullopt;
    }
    any = true;
  }
  if (m.has("not_before")) {
    v.not_before = read_time(m, "not_before");
    if (!v.not_before) return std::nullopt;  // already reported
    any = true;
  }
  if (m.has("not_after")) {
    v.not_after = read_time(m, "not_after");
    if (m.has("validity")) {
      m.error("not_after", "give either validity or not_after, not both");
      return std::nullopt;
    }
    if (!v.not_after) return std::nullopt;  // already reported
    any = true;
  }
  return v;
}

std::string attribute_problem(const std::string& attr, const std::string& value, bool templates) {
  if (attr == "C" &&
      (value.size() != 2 || !std::isupper(static_cast<unsigned char>(value[0])) || !std::isupper(static_cast<unsigned char>(value[1])))) {
    return "'" + value + "' is not a two-letter ISO 3166 country code (e.g. US)";
  }
  if (character_count(value) > 64 && !templates) return "longer than the 64 characters X.509 allows (RFC 5280 upper bound)";
  if (auto bad = first_unreadable(value, false)) return unreadable_problem(*bad);
  if (!templates && value.find('{') != std::string::npos) {
    return "placeholders such as {mesh} are only allowed in intermediate subjects";
  }
  return {};
}

}  // namespace

std::optional<pki::KeyAlgorithm> read_algorithm(MapReader& key) {
  auto name = key.string("algorithm", true);
  if (!name) return std::nullopt;
  if (auto alg = pki::parse_key_algorithm(*name)) return alg;
  std::string message = "unknown algorithm '" + *name + "'; use " + pki::key_algorithm_choices();
  if (name->starts_with("rsa-")) {
    int bits = 0;
    std::from_chars(name->data() + 4, name->data() + name->size(), bits);
    if (bits > 0 && bits < 2048) message = "RSA keys shorter than 2048 bits are not accepted; use rsa-2048 or larger";
  }
  key.error("algorithm", message);
  return std::nullopt;
}

std::optional<ValiditySpec> read_validity(MapReader& m, bool required, UnixTime now) {
  bool any = false;
  auto read = read_validity_fields(m, any);
  if (!read) return std::nullopt;
  const ValiditySpec& v = *read;
  Findings& f = m.findings();
  if (!any) {
    if (required) f.add(m.at(), m.field("validity"), "missing required field (a duration such as 20y, or not_after)");
    return std::nullopt;
  }
  if (!v.duration && !v.not_after) {
    f.add(m.at(), m.field("validity"), "not_before alone does not say when the certificate ends; add validity or not_after");
    return std::nullopt;
  }
  if (v.not_before && v.not_after && *v.not_after <= *v.not_before) {
    m.error("not_after", "must be later than not_before");
    return std::nullopt;
  }
  if (v.not_after && *v.not_after <= now) {
    m.error("not_after", "is in the past");
    return std::nullopt;
  }
  if (!v.not_after && add_duration(v.not_before.value_or(now), *v.duration) <= now) {
    m.error("validity",
            "ends in the past (" + format_rfc3339(add_duration(v.not_before.value_or(now), *v.duration)) + ", counted from not_before)");
    return std::nullopt;
  }
  return v;
}

SubjectTemplates read_subject(const YAML::Node& node, const std::string& path, Findings& findings, bool templates) {
  SubjectTemplates attrs;
  MapReader m(findings, node, path, pki::DistinguishedName::known_attributes());
  if (!m.valid()) return attrs;
  for (const auto& attr : pki::DistinguishedName::known_attributes()) {
    auto value = m.string(attr, false);
    if (!value) continue;
    std::string problem = attribute_problem(attr, *value, templates);
    SubjectTemplate parsed{*value, {*value}};
    if (problem.empty() && templates) parsed = SubjectTemplate::parse(attr, *value, problem);
    if (!problem.empty()) {
      m.error(attr, problem);
      continue;
    }
    attrs.emplace_back(attr, std::move(parsed));
  }
  return attrs;
}

CaExtensionsSpec read_ca_extensions(MapReader& m, int min_path_len) {
  CaExtensionsSpec ext;
  if (auto v = m.required("path_len")) {
    if (v->IsScalar() && v->Scalar() == "unlimited") {
      ext.path_len = std::nullopt;
    } else {
      ext.path_len = m.integer("path_len", min_path_len, kMaxPathLen);
      if (!ext.path_len) ext.path_len = min_path_len;  // reported; keep a value
    }
  }
  auto list = m.required("key_usage");
  if (!list) return ext;
  static const std::vector<std::string> known{"digitalSignature", "keyCertSign", "cRLSign", "nonRepudiation", "keyEncipherment"};
  if (!list->IsSequence() || list->size() == 0) {
    m.error("key_usage", "must be a non-empty list of " + comma_list(known));
    return ext;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const YAML::Node item = (*list)[i];
    const std::string path = index_path(m.field("key_usage"), i);
    if (!item.IsScalar() || std::find(known.begin(), known.end(), item.Scalar()) == known.end()) {
      m.findings().add(location_of(m.findings(), item), path, "unknown key usage; a meshca CA certificate can carry " + comma_list(known));
    } else if (!seen.insert(item.Scalar()).second) {
      m.findings().add(location_of(m.findings(), item), path, "duplicate key usage");
    }
  }
  ext.key_usage = {.digital_signature = seen.count("digitalSignature") > 0,
                   .key_cert_sign = seen.count("keyCertSign") > 0,
                   .crl_sign = seen.count("cRLSign") > 0,
                   .non_repudiation = seen.count("nonRepudiation") > 0,
                   .key_encipherment = seen.count("keyEncipherment") > 0};
  if (!ext.key_usage.key_cert_sign && !seen.empty()) {
    m.error("key_usage", "must include keyCertSign: a CA certificate signs certificates");
  }
  return ext;
}

std::vector<std::string> read_dns_names(MapReader& m) {
  std::vector<std::string> names;
  if (!m.has("dns_names")) return names;
  const YAML::Node list = m.get("dns_names");
  if (!list.IsSequence()) {
    m.error("dns_names", "must be a list of DNS names");
    return names;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    bool ok = item.IsScalar() && !item.Scalar().empty();
    for (std::size_t start = 0; ok && start <= item.Scalar().size();) {
      auto end = item.Scalar().find('.', start);
      if (end == std::string::npos) end = item.Scalar().size();
      ok = is_dns1123_label(item.Scalar().substr(start, end - start));
      start = end + 1;
    }
    if (!ok) {
      m.findings().add(location_of(m.findings(), item), index_path(m.field("dns_names"), i), "must be a DNS name of DNS-1123 labels");
    } else {
      names.push_back(item.Scalar());
    }
  }
  return names;
}

std::optional<std::string> read_label(MapReader& m, const std::string& key) {
  auto name = m.string(key, true);
  if (name && !is_dns1123_label(*name)) m.error(key, "'" + *name + "' " + kDnsLabelRule);
  return name;
}

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::string trust_domain_problem(std::string_view s) {
  const std::string quoted = "'" + std::string(s) + "'";
  if (s.starts_with("spiffe://")) return quoted + " must be the bare trust domain, without spiffe://";
  if (s.empty() || s.size() > 255) return quoted + " must be 1 to 255 characters";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) {
      return escape_unreadable(quoted, false) + " contains " + describe_character_at(s, i) +
             "; a SPIFFE trust domain holds only lowercase letters, digits, '.', '-' and '_' (no scheme, port or path)";
    }
  }
  if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) {
    return quoted + " has an empty DNS label (leading, trailing or doubled '.')";
  }
  return {};
}

}  // namespace meshca::ceremony
