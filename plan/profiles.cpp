#include "plan/profiles.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "plan/field_readers.hpp"
#include "plan/plan_decode.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {

pki::CertificateProfile root_profile(const RootPlan& root, UnixTime ceremony_time) {
  pki::CertificateProfile p;
  p.subject = root.subject;
  auto window = root.validity.resolve(ceremony_time);
  p.not_before = window.not_before;
  p.not_after = window.not_after;
  p.is_ca = true;
  p.path_len = root.path_len;
  p.key_usage = root.key_usage;
  return p;
}

pki::CertificateProfile intermediate_profile(const MeshPlan& mesh, const ClusterPlan& cluster, UnixTime ceremony_time) {
  pki::CertificateProfile p;
  p.subject = cluster.intermediate.subject;
  auto window = cluster.intermediate.validity.resolve(ceremony_time);
  p.not_before = window.not_before;
  p.not_after = window.not_after;
  p.is_ca = true;
  // The meshca profile: pathLen 0 and digitalSignature, keyCertSign,
  // cRLSign (digitalSignature as Istio's own tools/certs recipe sets it).
  p.path_len = cluster.intermediate.path_len;
  p.key_usage = cluster.intermediate.key_usage;
  p.dns_names = cluster.intermediate.dns_names;
  if (cluster.intermediate.name_constraints == NameConstraintsMode::trust_domain) {
    p.permitted_uri_hosts = {mesh.trust_domain};
  }
  return p;
}

}  // namespace meshca::ceremony

namespace meshca::ceremony {
namespace {

constexpr std::string_view kProfileKind = "CertificateProfile";

void decode_profile_intermediate(MapReader& m, ProfileSpec& p, UnixTime now) {
  p.intermediate = read_ca_extensions(m, 0);
  p.intermediate.dns_names = read_dns_names(m);
  if (auto key = m.required("key")) {
    MapReader k(m.findings(), *key, m.field("key"), {"algorithm"});
    if (auto alg = read_algorithm(k)) p.algorithm = *alg;
  }
  if (auto v = read_validity(m, true, now)) p.validity = *v;
  if (auto subject = m.required("subject")) {
    p.subject = read_subject(*subject, m.field("subject"), m.findings(), true);
    if (subject->IsMap() && std::none_of(p.subject.begin(), p.subject.end(), [](const auto& a) { return a.first == "CN"; })) {
      m.findings().add(location_of(m.findings(), *subject), m.field("subject.CN"), "missing required field");
    }
  }
}

void decode_profile(const YAML::Node& doc, ProfileSpec& p, Findings& f, UnixTime now) {
  if (doc.IsNull()) {
    f.add(location_of(f, doc), "", "the profile is empty");
    return;
  }
  MapReader top(f, doc, "", {"apiVersion", "kind", "metadata", "lint_warnings", "root", "intermediate"});
  if (!top.valid()) return;
  check_document_type(top, kProfileKind);
  if (auto node = top.required("metadata")) {
    MapReader m(f, *node, "metadata", {"name", "description"});
    if (auto name = read_label(m, "name")) p.name = *name;
    p.description = m.string("description", false).value_or("");
  }
  if (auto v = top.string("lint_warnings", true); v && *v != "fatal" && *v != "recorded") {
    top.error("lint_warnings", "'" + *v + "' is not a lint warnings policy; use fatal or recorded");
  } else if (v) {
    p.lint_warnings = *v == "fatal" ? LintWarnings::fatal : LintWarnings::recorded;
  }
  if (auto node = top.required("root")) {
    MapReader m(f, *node, "root", {"path_len", "key_usage"});
    if (m.valid()) p.root = read_ca_extensions(m, 1);
  }
  if (auto node = top.required("intermediate")) {
    MapReader m(f, *node, "intermediate", {"path_len", "key_usage", "dns_names", "key", "validity", "subject"});
    if (m.valid()) decode_profile_intermediate(m, p, now);
  }
}

}  // namespace

ProfileSpec parse_profile(std::string_view yaml_text, const std::string& source_name, UnixTime now) {
  Findings findings(source_name);
  ProfileSpec profile;
  decode_profile(load_yaml_document(yaml_text, "profile", findings), profile, findings, now);
  if (!findings.ok()) findings.fail("profile");
  return profile;
}

std::set<std::string> accepted_profile_fields(std::string_view yaml_text) {
  Findings findings("fields");
  try {
    ProfileSpec profile;
    decode_profile(load_yaml_document(yaml_text, "profile", findings), profile, findings, now_utc());
  } catch (const Error&) {
    // Invalid documents still show which fields the decoder accepts.
  }
  return findings.accepted();
}

ProfileSpec builtin_profile(std::string_view name, UnixTime now) {
  auto text = templates::profile_text(name);
  if (!text) throw Error(ErrorKind::invalid_input, "no built-in certificate profile '" + std::string(name) + "'");
  ProfileSpec profile = parse_profile(*text, "templates/profiles/" + std::string(name) + ".yaml", now);
  if (profile.name != name) {
    throw MultiError(ErrorKind::internal, "the built-in profile is broken",
                     {"templates/profiles/" + std::string(name) + ".yaml: metadata.name: must be '" + std::string(name) + "'"});
  }
  return profile;
}

}  // namespace meshca::ceremony
