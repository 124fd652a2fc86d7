#include "plan/plan_view.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "plan/expiry.hpp"
#include "plan/plan_digest.hpp"
#include "plan/profiles.hpp"
#include "plan/readable_text.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kMinIntermediateDays = 90;
constexpr int kMaxRootYears = 25;

std::string signature_algorithm(pki::KeyAlgorithm signer) {
  switch (signer) {
    case pki::KeyAlgorithm::ecdsa_p256: return "ecdsa-with-SHA256";
    case pki::KeyAlgorithm::ecdsa_p384: return "ecdsa-with-SHA384";
    default: return "sha256WithRSAEncryption";
  }
}

std::string key_location(const hsm::RootKeyRef& key) {
  std::string where = hsm::describe_key_reference(key);
  if (key.kind == hsm::KeyStoreKind::file) return where + " (passphrase from " + key.file.passphrase.to_string() + ")";
  return where + " (PIN from " + key.pkcs11.pin.to_string() + "); generated inside the token if absent, never extractable";
}

std::string key_usage_text(const pki::KeyUsageBits& ku) {
  std::string s = "critical";
  if (ku.digital_signature) s += ", digitalSignature";
  if (ku.non_repudiation) s += ", nonRepudiation";
  if (ku.key_encipherment) s += ", keyEncipherment";
  if (ku.key_cert_sign) s += ", keyCertSign";
  if (ku.crl_sign) s += ", cRLSign";
  return s;
}

std::string basic_constraints_text(const std::optional<int>& path_len) {
  return path_len ? "critical, CA:TRUE, pathlen:" + std::to_string(*path_len) : "critical, CA:TRUE (no pathlen: unlimited)";
}

void add_common_fields(CertificateView& v, const pki::CertificateProfile& p, const std::string& validity) {
  v.fields.emplace_back("subject", p.subject.to_string());
  v.fields.emplace_back("validity", validity);
  v.fields.emplace_back("not before", format_rfc3339(p.not_before));
  v.fields.emplace_back("not after", format_rfc3339(p.not_after));
  v.fields.emplace_back("basic constraints", basic_constraints_text(p.path_len));
  v.fields.emplace_back("key usage", key_usage_text(p.key_usage));
  v.fields.emplace_back("name constraints",
                        p.permitted_uri_hosts.empty() ? "none" : "critical, permitted URI:" + p.permitted_uri_hosts.front());
}

// "CN, OU from profile linkerd (meshes[0].profile); C from defaults.intermediate"
ValueSource subject_source(const ValueSources& sources) {
  std::vector<std::pair<ValueSource, std::string>> groups;  // source -> attributes, in first-seen order
  for (const auto& entry : sources) {
    // Plain references, not a structured binding: clang 14 (the fuzz
    // build) cannot capture a binding in the lambda below.
    const std::string& field = entry.first;
    const ValueSource& source = entry.second;
    if (!field.starts_with("subject.")) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == source; });
    if (it == groups.end()) it = groups.insert(groups.end(), {source, ""});
    it->second += (it->second.empty() ? "" : ", ") + field.substr(8);
  }
  if (groups.size() == 1) return groups.front().first;
  ValueSource mixed{SourceLevel::builtin, ""};
  for (const auto& [source, attrs] : groups) {
    mixed.level = std::max(mixed.level, source.level);
    mixed.where += (mixed.where.empty() ? "" : "; ") + attrs + " from " + source.where;
  }
  return mixed;
}

void add_sources(CertificateView& v, const ValueSources& sources,
                 const std::vector<std::pair<std::string, std::string>>& view_field_of) {
  for (const auto& [view_field, plan_field] : view_field_of) {
    if (auto it = sources.find(plan_field); it != sources.end()) v.sources[view_field] = it->second;
  }
}

std::int64_t longest_intermediate_validity(const Plan& plan, UnixTime at) {
  std::int64_t longest = 0;
  for (const auto& mesh : plan.meshes) {
    for (const auto& c : mesh.clusters) {
      auto window = c.intermediate.validity.resolve(at);
      longest = std::max<std::int64_t>(longest, window.not_after - window.not_before);
    }
  }
  return longest;
}

// The root is due for rotation before an intermediate is due for renewal:
// the first renewals already fall into the rotation.
void warn_rotation_before_renewals(const PlanView& view, std::vector<PolicyWarning>& w) {
  std::string error;
  auto date = [&](const CertificateView& c, const char* field) {
    return parse_rfc3339(c.field(field).substr(0, 20), error).value_or(0);
  };
  const UnixTime rotate_by = date(view.certificates.front(), "rotate by");
  for (const auto& c : view.certificates) {
    if (c.role != "intermediate" || date(c, "renew by") <= rotate_by) continue;
    w.push_back({"root", "must be rotated by " + format_rfc3339(rotate_by) + ", before " + c.id +
                             " is even due for renewal (" + c.field("renew by").substr(0, 20) +
                             "): give the root a longer validity or the intermediates a shorter one"});
    return;
  }
}

void collect_warnings(const Plan& plan, const PlanView& view, std::vector<PolicyWarning>& w) {
  const auto& root = plan.root;
  if (root.key.algorithm == pki::KeyAlgorithm::rsa_2048) {
    w.push_back({"root", "RSA-2048 root key: NIST SP 800-57 rates 112-bit security acceptable only through 2030; prefer ecdsa-p384 or rsa-3072+"});
  }
  if (root.key.kind == hsm::KeyStoreKind::file) {
    w.push_back({"root", "the root key lives in an encrypted file, not in an HSM: its protection is the passphrase and the file's custody"});
  }
  const auto& root_view = view.certificates.front();
  UnixTime root_nb = 0, root_na = 0;
  std::string err;
  root_nb = parse_rfc3339(root_view.field("not before"), err).value_or(0);
  root_na = parse_rfc3339(root_view.field("not after"), err).value_or(0);
  if (root_na - root_nb > static_cast<std::int64_t>(kMaxRootYears) * 366 * kDay) {
    w.push_back({"root", "root validity is longer than " + std::to_string(kMaxRootYears) + " years; plan a rotation long before then"});
  }
  if (!root.path_len || *root.path_len > 1) {
    w.push_back({"root", "path_len " + path_len_text(root.path_len) +
                             " allows CAs below the per-cluster intermediates; meshca needs 1 (2 only leaves room for a "
                             "cross-signed successor root, see rotation.cross_sign)"});
  }
  warn_rotation_before_renewals(view, w);
  std::map<std::string, std::vector<std::string>> cluster_meshes;
  for (const auto& mesh : plan.meshes) {
    for (const auto& c : mesh.clusters) {
      std::string id = mesh.name + "/" + c.name;
      cluster_meshes[c.name].push_back(mesh.name);
      auto window = c.intermediate.validity.resolve(view.resolved_at);
      if (window.not_after - window.not_before < kMinIntermediateDays * kDay) {
        w.push_back({id, "intermediate validity is shorter than " + std::to_string(kMinIntermediateDays) + " days: frequent renewals, and istiod's workload certificates must not outlive it"});
      }
      if (c.intermediate.name_constraints == NameConstraintsMode::none) {
        w.push_back({id, "no name constraints: this intermediate could issue identities of any trust domain (set name_constraints: trust_domain)"});
      }
      if (c.intermediate.algorithm == pki::KeyAlgorithm::rsa_2048) {
        w.push_back({id, "RSA-2048 intermediate key; prefer ecdsa-p256"});
      }
    }
  }
  for (const auto& [cluster, meshes] : cluster_meshes) {
    if (meshes.size() < 2) continue;
    std::string list;
    for (const auto& m : meshes) list += (list.empty() ? "" : ", ") + m;
    w.push_back({"plan", "cluster name '" + cluster + "' is used in meshes " + list + ": check that each bundle goes to the right cluster"});
  }
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// ---- root rotation --------------------------------------------------------

std::optional<RotationView> rotation_view(const Plan& plan, UnixTime at) {
  if (!plan.rotation) return std::nullopt;
  const RotationPlan& r = *plan.rotation;
  RotationView view;
  view.fields.emplace_back("current output", r.current_output.string());
  view.fields.emplace_back("current root", plan.root.subject.to_string() + (r.current_root_sha256.empty()
                                                                                  ? " (not pinned)"
                                                                                  : " (SHA-256 " + r.current_root_sha256 + ")"));
  CertificateView new_root{"new-root", "root", "", "", {}, {}};
  new_root.fields.emplace_back("key", std::string(pki::key_algorithm_name(r.new_root.key.algorithm)));
  new_root.fields.emplace_back("key location", key_location(r.new_root.key));
  add_common_fields(new_root, root_profile(r.new_root, at), r.new_root.validity.to_string());
  for (const auto& [k, v] : new_root.fields) view.fields.emplace_back("new root " + k, v);
  view.fields.emplace_back("cross-signed new root",
                           r.cross_sign ? "yes: the current root's key also certifies the new root "
                                          "(root/cross-signed-root-cert.pem), sent in phase 2's cert-chain.pem for "
                                          "peers that trust only the current root"
                                        : "no");
  view.fields.emplace_back("output", "OUT/phase-1, OUT/phase-2, OUT/phase-3 (every cluster's bundle per phase), "
                                     "OUT/PHASES.md, OUT/root/");
  view.phases = rotation_phases(plan);
  return view;
}

void render_rotation_text(std::ostream& os, const RotationView& r) {
  os << "\nROOT ROTATION (meshca rotate phases PLAN --out DIR)\n";
  for (const auto& [k, val] : r.fields) os << "  " << k << std::string(k.size() < 26 ? 26 - k.size() : 1, ' ') << val << "\n";
  for (const auto& p : r.phases) {
    os << "  Phase " << p.number << ": " << p.title << " (" << rotation_phase_dir(p.number) << "/)\n"
       << "    root-cert.pem   " << p.root_cert << "\n"
       << "    cert-chain.pem  " << p.cert_chain << "\n"
       << "    ca-cert.pem     " << p.intermediate << "\n";
    for (std::size_t i = 0; i < p.steps.size(); ++i) os << "    " << i + 1 << ". " << p.steps[i] << "\n";
    os << "    next phase when: " << p.done_when << "\n";
  }
}

void render_rotation_markdown(std::ostream& os, const RotationView& r) {
  os << "\n## Root rotation\n\n`meshca rotate phases PLAN --out DIR` writes one directory per phase.\n\n"
     << "| field | value |\n| --- | --- |\n";
  for (const auto& [k, val] : r.fields) os << "| " << k << " | " << md_escape(val) << " |\n";
  for (const auto& p : r.phases) {
    os << "\n### Phase " << p.number << ": " << md_escape(p.title) << " (`" << rotation_phase_dir(p.number) << "/`)\n\n"
       << "- root-cert.pem: " << md_escape(p.root_cert) << "\n- cert-chain.pem: " << md_escape(p.cert_chain)
       << "\n- ca-cert.pem: " << md_escape(p.intermediate) << "\n\n";
    for (std::size_t i = 0; i < p.steps.size(); ++i) os << i + 1 << ". " << md_escape(p.steps[i]) << "\n";
    os << "\nNext phase when: " << md_escape(p.done_when) << "\n";
  }
}

nlohmann::json rotation_json(const RotationView& r) {
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& p : r.phases) {
    phases.push_back({{"number", p.number},
                      {"directory", rotation_phase_dir(p.number)},
                      {"title", p.title},
                      {"root_cert", p.root_cert},
                      {"cert_chain", p.cert_chain},
                      {"intermediate", p.intermediate},
                      {"steps", p.steps},
                      {"done_when", p.done_when}});
  }
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [k, val] : r.fields) fields[k] = val;
  return {{"fields", fields}, {"phases", phases}};
}

void render_rotation_html(std::ostream& os, const RotationView& r) {
  os << "<h2>Root rotation</h2>\n<table>\n";
  for (const auto& [k, val] : r.fields) os << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(val) << "</td></tr>\n";
  os << "</table>\n";
  for (const auto& p : r.phases) {
    os << "<h3>Phase " << p.number << ": " << html_escape(p.title) << " (<code>" << rotation_phase_dir(p.number)
       << "/</code>)</h3>\n<ul><li>root-cert.pem: " << html_escape(p.root_cert) << "</li><li>cert-chain.pem: "
       << html_escape(p.cert_chain) << "</li><li>ca-cert.pem: " << html_escape(p.intermediate) << "</li></ul>\n<ol>";
    for (const auto& step : p.steps) os << "<li>" << html_escape(step) << "</li>";
    os << "</ol>\n<p>Next phase when: " << html_escape(p.done_when) << ".</p>\n";
  }
}

std::string render_text(const PlanView& v) {
  std::ostringstream os;
  os << "Plan " << v.name << (v.description.empty() ? "" : ": " + v.description) << "\n"
     << "digest " << v.digest << "\n"
     << "times resolved as if the ceremony ran at " << format_rfc3339(v.resolved_at)
     << " (durations count from the ceremony's start)\n";
  for (const auto& [k, val] : v.settings) os << k << ": " << val << "\n";
  for (const auto& c : v.certificates) {
    os << "\n" << (c.role == "root" ? "ROOT CA" : "INTERMEDIATE CA " + c.id) << "\n";
    for (const auto& [k, val] : c.fields) {
      os << "  " << k << std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') << val;
      if (auto it = c.sources.find(k); it != c.sources.end()) os << "  [from " << it->second.where << "]";
      os << "\n";
    }
  }
  os << "\nHierarchy\n  " << v.certificates.front().field("subject") << "\n";
  for (std::size_t m = 0; m < v.meshes.size(); ++m) {
    bool last_mesh = m + 1 == v.meshes.size();
    os << "  " << (last_mesh ? "└── " : "├── ") << "mesh " << v.meshes[m].first << " (trust domain " << v.meshes[m].second << ")\n";
    std::vector<const CertificateView*> clusters;
    for (const auto& c : v.certificates)
      if (c.mesh == v.meshes[m].first) clusters.push_back(&c);
    for (std::size_t i = 0; i < clusters.size(); ++i) {
      os << "  " << (last_mesh ? "    " : "│   ") << (i + 1 == clusters.size() ? "└── " : "├── ") << clusters[i]->cluster
         << "  " << clusters[i]->field("subject") << "\n";
    }
  }
  os << "\nPolicy warnings (" << v.warnings.size() << ")\n";
  for (const auto& w : v.warnings) os << "  WARN " << w.subject << ": " << w.message << "\n";
  if (v.warnings.empty()) os << "  none\n";
  if (v.rotation) render_rotation_text(os, *v.rotation);
  return os.str();
}

std::string render_markdown(const PlanView& v) {
  std::ostringstream os;
  os << "# Ceremony plan `" << v.name << "`\n\n";
  if (!v.description.empty()) os << md_escape(v.description) << "\n\n";
  os << "- Plan digest: `" << v.digest << "`\n- Times resolved as if the ceremony ran at " << format_rfc3339(v.resolved_at) << "\n";
  for (const auto& [k, val] : v.settings) os << "- " << k << ": " << md_escape(val) << "\n";
  for (const auto& c : v.certificates) {
    os << "\n## " << (c.role == "root" ? "Root CA" : "Intermediate CA `" + c.id + "`")
       << "\n\n| field | value | from |\n| --- | --- | --- |\n";
    for (const auto& [k, val] : c.fields) {
      auto it = c.sources.find(k);
      os << "| " << k << " | " << md_escape(val) << " | " << (it == c.sources.end() ? "" : md_escape(it->second.where)) << " |\n";
    }
  }
  os << "\n## Policy warnings\n\n";
  for (const auto& w : v.warnings) os << "- **" << w.subject << "**: " << md_escape(w.message) << "\n";
  if (v.warnings.empty()) os << "None.\n";
  if (v.rotation) render_rotation_markdown(os, *v.rotation);
  return os.str();
}

nlohmann::json fields_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, val] : fields) j[k] = val;
  return j;
}

std::string render_json(const PlanView& v) {
  nlohmann::json j{{"name", v.name}, {"description", v.description}, {"digest", v.digest},
                   {"resolved_at", format_rfc3339(v.resolved_at)}, {"settings", fields_json(v.settings)}};
  j["meshes"] = nlohmann::json::array();
  for (const auto& [name, td] : v.meshes) j["meshes"].push_back({{"name", name}, {"trust_domain", td}});
  j["certificates"] = nlohmann::json::array();
  for (const auto& c : v.certificates) {
    nlohmann::json sources = nlohmann::json::object();
    for (const auto& [k, source] : c.sources) {
      sources[k] = {{"from", source.where}, {"level", source_level_name(source.level)}};
    }
    j["certificates"].push_back({{"id", c.id}, {"role", c.role}, {"mesh", c.mesh}, {"cluster", c.cluster},
                                 {"fields", fields_json(c.fields)}, {"sources", sources}});
  }
  j["warnings"] = nlohmann::json::array();
  for (const auto& w : v.warnings) j["warnings"].push_back({{"subject", w.subject}, {"message", w.message}});
  if (v.rotation) j["rotation"] = rotation_json(*v.rotation);
  return j.dump(2) + "\n";
}

std::string render_dot(const PlanView& v) {
  std::ostringstream os;
  os << "digraph \"" << dot_escape(v.name) << "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  const auto& root = v.certificates.front();
  os << "  root [label=\"" << dot_escape(root.field("subject")) << "\\n" << dot_escape(root.field("key")) << "\", style=bold];\n";
  for (const auto& [mesh, td] : v.meshes) {
    os << "  \"mesh:" << dot_escape(mesh) << "\" [label=\"mesh " << dot_escape(mesh) << "\\n" << dot_escape(td)
       << "\", shape=ellipse];\n  root -> \"mesh:" << dot_escape(mesh) << "\";\n";
  }
  for (const auto& c : v.certificates) {
    if (c.role == "root") continue;
    os << "  \"" << dot_escape(c.id) << "\" [label=\"" << dot_escape(c.cluster) << "\\n" << dot_escape(c.field("key"))
       << ", until " << dot_escape(c.field("not after").substr(0, 10)) << "\"];\n  \"mesh:" << dot_escape(c.mesh)
       << "\" -> \"" << dot_escape(c.id) << "\";\n";
  }
  os << "}\n";
  return os.str();
}

// A three-row tree (root, meshes, clusters) laid out on a grid.
std::string render_svg(const PlanView& v) {
  constexpr int kBoxW = 190, kBoxH = 46, kGap = 20, kRowH = 110, kMargin = 20;
  std::vector<const CertificateView*> clusters;
  for (const auto& c : v.certificates)
    if (c.role != "root") clusters.push_back(&c);
  int columns = std::max<int>(1, static_cast<int>(clusters.size()));
  int width = kMargin * 2 + columns * (kBoxW + kGap) - kGap;
  int height = kMargin * 2 + 2 * kRowH + kBoxH;
  std::ostringstream os;
  // A small fleet's tree shrinks to the page width; a large one keeps its
  // legible size and scrolls sideways inside its own box.
  constexpr int kMaxScaledColumns = 12;
  os << "<div style=\"overflow-x:auto\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\""
     << height << "\" viewBox=\"0 0 " << width << " " << height << "\""
     << (columns <= kMaxScaledColumns ? " style=\"max-width:100%;height:auto\"" : "")
     << " font-family=\"sans-serif\" font-size=\"11\">\n";
  auto box = [&](int x, int y, const std::string& line1, const std::string& line2, const char* fill) {
    os << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << kBoxW << "\" height=\"" << kBoxH << "\" rx=\"6\" fill=\"" << fill
       << "\" stroke=\"#333\"/>\n<text x=\"" << x + kBoxW / 2 << "\" y=\"" << y + 19 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
       << html_escape(truncate_characters(line1, 32)) << "</text>\n<text x=\"" << x + kBoxW / 2 << "\" y=\"" << y + 35
       << "\" text-anchor=\"middle\">" << html_escape(truncate_characters(line2, 36)) << "</text>\n";
  };
  auto line = [&](int x1, int y1, int x2, int y2) {
    os << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\" stroke=\"#666\"/>\n";
  };
  int root_x = width / 2 - kBoxW / 2;
  box(root_x, kMargin, "Root CA", v.certificates.front().field("key"), "#fde2b8");
  int col = 0;
  for (const auto& [mesh, td] : v.meshes) {
    int first = col;
    for (const auto* c : clusters) {
      if (c->mesh != mesh) continue;
      int x = kMargin + col * (kBoxW + kGap);
      box(x, kMargin + 2 * kRowH, c->cluster, c->field("key") + " until " + c->field("not after").substr(0, 10), "#d9ecff");
      ++col;
    }
    int mesh_x = kMargin + ((first + col - 1) * (kBoxW + kGap)) / 2;
    box(mesh_x, kMargin + kRowH, "mesh " + mesh, td, "#e3f5e1");
    line(root_x + kBoxW / 2, kMargin + kBoxH, mesh_x + kBoxW / 2, kMargin + kRowH);
    for (int i = first; i < col; ++i) {
      line(mesh_x + kBoxW / 2, kMargin + kRowH + kBoxH, kMargin + i * (kBoxW + kGap) + kBoxW / 2, kMargin + 2 * kRowH);
    }
  }
  os << "</svg></div>\n";
  return os.str();
}

std::string render_html(const PlanView& v) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>meshca plan " << html_escape(v.name)
     << "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f2f2f2}"
        "code{background:#f4f4f4;padding:1px 4px}.warn{color:#8a4b00}</style></head><body>\n";
  os << "<h1>Ceremony plan <code>" << html_escape(v.name) << "</code></h1>\n<p>" << html_escape(v.description) << "</p>\n";
  os << "<p>Plan digest: <code>" << v.digest << "</code><br/>Times resolved as if the ceremony ran at "
     << format_rfc3339(v.resolved_at) << ".</p>\n<ul>";
  for (const auto& [k, val] : v.settings) os << "<li>" << html_escape(k) << ": " << html_escape(val) << "</li>";
  os << "</ul>\n<h2>Hierarchy</h2>\n" << render_svg(v);
  os << "<h2>Policy warnings (" << v.warnings.size() << ")</h2>\n<ul>\n";
  for (const auto& w : v.warnings) os << "<li class=\"warn\"><b>" << html_escape(w.subject) << "</b>: " << html_escape(w.message) << "</li>\n";
  os << "</ul>\n";
  for (const auto& c : v.certificates) {
    os << "<h2>" << (c.role == "root" ? std::string("Root CA") : "Intermediate CA <code>" + html_escape(c.id) + "</code>")
       << "</h2>\n<table>\n";
    for (const auto& [k, val] : c.fields) {
      auto it = c.sources.find(k);
      os << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(val) << "</td><td class=\"from\">"
         << (it == c.sources.end() ? "" : "from " + html_escape(it->second.where)) << "</td></tr>\n";
    }
    os << "</table>\n";
  }
  if (v.rotation) render_rotation_html(os, *v.rotation);
  os << "</body></html>\n";
  return os.str();
}

}  // namespace

const std::string& CertificateView::field(const std::string& name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return kEmpty;
}

PlanView plan_view(const Plan& plan, UnixTime at) {
  PlanView view;
  view.name = plan.name;
  view.description = plan.description;
  view.organization = plan.organization;
  view.digest = plan_digest(plan.text, plan.source.string());
  view.resolved_at = at;
  std::string layouts;
  for (const auto& l : plan.outputs.layouts) layouts += (layouts.empty() ? "" : ", ") + l;
  view.settings = {{"organization", plan.organization}, {"output layouts", layouts}, {"secret namespace", plan.outputs.namespace_name}};

  CertificateView root{"root", "root", "", "", {}, {}};
  auto root_p = root_profile(plan.root, at);
  root.fields.emplace_back("key", std::string(pki::key_algorithm_name(plan.root.key.algorithm)));
  root.fields.emplace_back("key location", key_location(plan.root.key));
  add_common_fields(root, root_p, plan.root.validity.to_string());
  add_sources(root, plan.root.sources, {{"basic constraints", "path_len"}, {"key usage", "key_usage"}});
  root.fields.emplace_back("signature", signature_algorithm(plan.root.key.algorithm) + " (self-signed)");
  root.fields.emplace_back("output", "OUT/root/root-cert.pem; also root-cert.pem and the end of cert-chain.pem in every bundle");
  root.fields.emplace_back("rotate by", format_rfc3339(root_rotate_by(root_p.not_before, root_p.not_after,
                                                                      longest_intermediate_validity(plan, at))) +
                                            " (" + std::string(kRootRotationRule) + "), with meshca rotate phases");
  view.certificates.push_back(std::move(root));

  for (const auto& mesh : plan.meshes) {
    view.meshes.emplace_back(mesh.name, mesh.trust_domain);
    for (const auto& c : mesh.clusters) {
      CertificateView v{mesh.name + "/" + c.name, "intermediate", mesh.name, c.name, {}, {}};
      auto p = intermediate_profile(mesh, c, at);
      v.fields.emplace_back("key", std::string(pki::key_algorithm_name(c.intermediate.algorithm)));
      v.fields.emplace_back("key location", "generated in software during the ceremony; written only to OUT/" + v.id + "/ca-key.pem (0600)");
      add_common_fields(v, p, c.intermediate.validity.to_string());
      add_sources(v, c.intermediate.sources,
                  {{"key", "key.algorithm"}, {"validity", "validity"}, {"basic constraints", "path_len"},
                   {"key usage", "key_usage"}, {"name constraints", "name_constraints"}});
      v.sources["subject"] = subject_source(c.intermediate.sources);
      v.fields.emplace_back("trust domain", mesh.trust_domain);
      v.fields.emplace_back("issuer", plan.root.subject.to_string());
      v.fields.emplace_back("signature", signature_algorithm(plan.root.key.algorithm) + " by the root key");
      std::string out = "OUT/" + v.id + "/{ca-cert,ca-key,cert-chain,root-cert}.pem";
      if (plan.outputs.has_layout(kLayoutK8sSecret)) out += ", cacerts.yaml (Secret cacerts in " + plan.outputs.namespace_name + ")";
      v.fields.emplace_back("output", out);
      v.fields.emplace_back("renew by", format_rfc3339(intermediate_renew_by(p.not_before, p.not_after)) + " (" +
                                            std::string(kIntermediateRenewalRule) + "), with meshca ceremony run PLAN --out OUT --renew " +
                                            v.id);
      view.certificates.push_back(std::move(v));
    }
  }
  view.rotation = rotation_view(plan, at);
  collect_warnings(plan, view, view.warnings);
  return view;
}

std::optional<ViewFormat> parse_view_format(std::string_view name) {
  static const std::map<std::string, ViewFormat, std::less<>> kFormats{{"text", ViewFormat::text},
                                                                       {"markdown", ViewFormat::markdown},
                                                                       {"json", ViewFormat::json},
                                                                       {"html", ViewFormat::html},
                                                                       {"dot", ViewFormat::dot}};
  auto it = kFormats.find(name);
  if (it == kFormats.end()) return std::nullopt;
  return it->second;
}

// The parser refuses unreadable characters; a view escapes any that reach
// it all the same (a Plan built in code, a future field), in every format.
std::string render_plan_view(const PlanView& view, ViewFormat format) {
  switch (format) {
    case ViewFormat::text: return escape_unreadable(render_text(view), true);
    case ViewFormat::markdown: return escape_unreadable(render_markdown(view), true);
    case ViewFormat::json: return escape_unreadable_json(render_json(view));
    case ViewFormat::html: return escape_unreadable(render_html(view), true);
    case ViewFormat::dot: return escape_unreadable(render_dot(view), true, "\\\\");
  }
  return escape_unreadable(render_text(view), true);
}

std::vector<FieldChange> plan_diff(const PlanView& before, const PlanView& after) {
  std::vector<FieldChange> changes;
  auto compare_fields = [&](const std::string& id, const auto& a, const auto& b) {
    std::map<std::string, std::string> ma(a.begin(), a.end()), mb(b.begin(), b.end());
    std::set<std::string> keys;
    for (const auto& [k, v] : ma) keys.insert(k);
    for (const auto& [k, v] : mb) keys.insert(k);
    for (const auto& k : keys) {
      if (ma[k] != mb[k]) changes.push_back({id, k, ma[k], mb[k], "changed"});
    }
  };
  compare_fields("plan", before.settings, after.settings);
  using Fields = std::vector<std::pair<std::string, std::string>>;
  compare_fields("rotation", before.rotation ? before.rotation->fields : Fields{},
                 after.rotation ? after.rotation->fields : Fields{});
  std::map<std::string, const CertificateView*> old_certs, new_certs;
  for (const auto& c : before.certificates) old_certs[c.id] = &c;
  for (const auto& c : after.certificates) new_certs[c.id] = &c;
  for (const auto& [id, c] : old_certs) {
    if (!new_certs.count(id)) {
      changes.push_back({id, "", c->field("subject"), "", "removed"});
    } else {
      compare_fields(id, c->fields, new_certs[id]->fields);
    }
  }
  for (const auto& [id, c] : new_certs) {
    if (!old_certs.count(id)) changes.push_back({id, "", "", c->field("subject"), "added"});
  }
  return changes;
}

std::string render_diff_text(const std::vector<FieldChange>& changes) {
  std::ostringstream os;
  for (const auto& c : changes) {
    if (c.kind == "added") {
      os << "+ " << c.id << ": added (" << c.after << ")\n";
    } else if (c.kind == "removed") {
      os << "- " << c.id << ": removed (" << c.before << ")\n";
    } else {
      os << "~ " << c.id << ": " << c.field << ": " << (c.before.empty() ? "(none)" : c.before) << " -> "
         << (c.after.empty() ? "(none)" : c.after) << "\n";
    }
  }
  if (changes.empty()) os << "no semantic differences\n";
  return escape_unreadable(os.str(), true);
}

nlohmann::json diff_to_json(const std::vector<FieldChange>& changes) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : changes) {
    nlohmann::json item{{"id", c.id}, {"kind", c.kind}};
    if (!c.field.empty()) item["field"] = c.field;
    if (!c.before.empty()) item["before"] = c.before;
    if (!c.after.empty()) item["after"] = c.after;
    j.push_back(std::move(item));
  }
  return j;
}

}  // namespace meshca::ceremony
