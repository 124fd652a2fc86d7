#include "plan/federation.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "pki/certificate.hpp"
#include "plan/field_readers.hpp"
#include "plan/plan_decode.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxRootFile = std::size_t{64} * 1024;

// `trust_domains: [...]` of an external root: a non-empty list of valid,
// distinct SPIFFE trust domains.
void decode_trust_domains(MapReader& m, ExternalRootSection& root) {
  root.trust_domains_path = m.field("trust_domains");
  const auto list = m.required("trust_domains");
  if (!list) return;
  if (!list->IsSequence() || list->size() == 0) {
    m.error("trust_domains", "must be a non-empty list of the SPIFFE trust domains this root vouches for");
    return;
  }
  Findings& f = m.findings();
  for (std::size_t i = 0; i < list->size(); ++i) {
    const YAML::Node item = (*list)[i];
    const SourceLocation at = location_of(f, item);
    const std::string field = index_path(root.trust_domains_path, i);
    const std::string problem = item.IsScalar() ? trust_domain_problem(item.Scalar()) : "must be a trust domain";
    if (!problem.empty()) {
      f.add(at, field, problem);
    } else if (std::any_of(root.trust_domains.begin(), root.trust_domains.end(),
                           [&](const auto& td) { return td.value == item.Scalar(); })) {
      f.add(at, field, "trust domain '" + item.Scalar() + "' is listed twice");
    } else {
      root.trust_domains.push_back({item.Scalar(), at});
    }
  }
}

ExternalRootSection decode_external_root(const YAML::Node& node, const std::string& path, Findings& f) {
  MapReader m(f, node, path, {"name", "file", "sha256", "trust_domains"});
  ExternalRootSection root{path, m.at(), {}, {}, {}, {}, {}};
  if (!m.valid()) return root;
  if (auto name = read_label(m, "name")) root.name = Located<std::string>{*name, m.at("name")};
  if (auto file = m.string("file", true)) root.file = Located<std::string>{*file, m.at("file")};
  if (auto pin = m.string("sha256", true)) {
    std::string normalized = normalized_sha256_fingerprint(*pin);
    if (normalized.empty()) {
      m.error("sha256",
              "must be the SHA-256 fingerprint of the root certificate's DER (64 hex digits, colons allowed), as `openssl x509 "
              "-noout -fingerprint -sha256` prints it");
    } else {
      root.sha256 = Located<std::string>{normalized, m.at("sha256")};
    }
  }
  decode_trust_domains(m, root);
  return root;
}

std::optional<FederationSection> decode_federation_entry(const YAML::Node& node, const std::string& path, Findings& f) {
  MapReader m(f, node, path, {"name", "meshes", "external_roots"});
  if (!m.valid()) return std::nullopt;
  FederationSection fed{path, m.at(), {}, {}, {}};
  if (auto name = read_label(m, "name")) fed.name = Located<std::string>{*name, m.at("name")};
  if (const auto meshes = m.required("meshes")) {
    if (!meshes->IsSequence() || meshes->size() == 0) {
      m.error("meshes", "must be a non-empty list of names of the plan's meshes");
    } else {
      for (std::size_t i = 0; i < meshes->size(); ++i) {
        const YAML::Node item = (*meshes)[i];
        if (!item.IsScalar() || !is_dns1123_label(item.Scalar())) {
          f.add(location_of(f, item), index_path(m.field("meshes"), i), "must be the name of one of the plan's meshes");
        } else {
          fed.meshes.push_back({item.Scalar(), location_of(f, item)});
        }
      }
    }
  }
  if (m.has("external_roots")) {
    const YAML::Node roots = m.get("external_roots");
    if (!roots.IsSequence() || roots.size() == 0) {
      m.error("external_roots", "must be a non-empty list of external roots");
    } else {
      for (std::size_t i = 0; i < roots.size(); ++i)
        fed.external_roots.push_back(decode_external_root(roots[i], index_path(m.field("external_roots"), i), f));
    }
  }
  return fed;
}

// The certificate of an external root, as meshca writes PEM, or "" after a
// finding: one CA certificate and nothing else, whose SHA-256 is the pin.
std::string read_external_root(const ExternalRootSection& s, const fs::path& base_dir, Findings& f) {
  const fs::path written = s.file->value;
  const fs::path file = (written.is_relative() ? base_dir / written : written).lexically_normal();
  const std::string field = join_path(s.path, "file");
  pki::X509Ptr cert;
  try {
    const std::string text = read_file(file, kMaxRootFile);
    std::size_t blocks = 0;
    for (auto at = text.find("-----BEGIN "); at != std::string::npos; at = text.find("-----BEGIN ", at + 1)) ++blocks;
    if (blocks > 1)
      throw Error(ErrorKind::invalid_input,
                  "holds " + std::to_string(blocks) + " PEM blocks; an external root file holds its one certificate", file.string());
    cert = pki::certificate_from_pem(text, file.string());
  } catch (const Error& e) {
    f.add(s.file->at, field, e.what());
    return {};
  }
  if (!pki::basic_constraints(cert.get()).ca) {
    f.add(s.file->at, field, file.string() + " is not a CA certificate (no basicConstraints CA:TRUE); name the root itself");
    return {};
  }
  if (const std::string found = pki::sha256_fingerprint(cert.get()); found != s.sha256->value) {
    f.add(s.sha256->at, join_path(s.path, "sha256"),
          file.string() + " holds the certificate " + found +
              ", not the pinned one; the file was replaced or the pin was copied wrong (pins are approved with the plan)");
    return {};
  }
  return pki::certificate_to_pem(cert.get());
}

// Who vouches for a trust domain: a root, and where the plan says so.
struct Claim {
  std::string root;   // "the plan's root" or an external root's SHA-256
  std::string owner;  // "meshes[0]" or "federation[0].external_roots[1] (partner)"
};

class FederationResolver {
 public:
  FederationResolver(const PlanDocument& doc, ResolvedPlan& resolved, const fs::path& base_dir, Findings& f)
      : doc_(doc), plan_(resolved.plan), base_dir_(base_dir), f_(f) {}

  void run() {
    for (const auto& mesh : doc_.meshes) {
      if (mesh.unique_name) mesh_names_.insert(mesh.unique_name->value);
      if (mesh.unique_trust_domain) claims_[mesh.unique_trust_domain->value] = {kPlanRoot, mesh.path};
    }
    std::map<std::string, std::string> names;  // federation name -> path
    for (const auto& fed : doc_.federation) {
      if (fed.name) {
        if (auto [it, fresh] = names.emplace(fed.name->value, fed.path); !fresh)
          f_.add(fed.name->at, join_path(fed.path, "name"),
                 "duplicate federation name '" + fed.name->value + "' (also " + it->second + ")");
      }
      plan_.federations.push_back(federation(fed));
    }
    if (f_.ok()) give_meshes_trust();
  }

 private:
  static constexpr const char* kPlanRoot = "the plan's root";

  FederationPlan federation(const FederationSection& s) {
    FederationPlan fed;
    fed.name = s.name ? s.name->value : "";
    for (std::size_t i = 0; i < s.meshes.size(); ++i) {
      const auto& mesh = s.meshes[i];
      const std::string field = index_path(join_path(s.path, "meshes"), i);
      if (!mesh_names_.count(mesh.value)) {
        f_.add(mesh.at, field,
               "names no mesh of the plan ('" + mesh.value + "'); the plan's meshes are " +
                   comma_list({mesh_names_.begin(), mesh_names_.end()}));
      } else if (std::find(fed.meshes.begin(), fed.meshes.end(), mesh.value) != fed.meshes.end()) {
        f_.add(mesh.at, field, "mesh '" + mesh.value + "' is named twice");
      } else {
        fed.meshes.push_back(mesh.value);
      }
    }
    std::set<std::string> root_names;
    for (const auto& root : s.external_roots) {
      if (root.name && !root_names.insert(root.name->value).second)
        f_.add(root.name->at, join_path(root.path, "name"), "duplicate external root name '" + root.name->value + "' in this federation");
      if (auto plan = external_root(root)) fed.external_roots.push_back(std::move(*plan));
    }
    if (!s.meshes.empty() && s.meshes.size() + s.external_roots.size() < 2) {
      f_.add(s.at, join_path(s.path, "meshes"), "a federation needs two parties or more (meshes and external roots); this one has one");
    }
    return fed;
  }

  std::optional<ExternalRootPlan> external_root(const ExternalRootSection& s) {
    if (!s.name || !s.file || !s.sha256 || s.trust_domains.empty()) return std::nullopt;
    ExternalRootPlan root{s.name->value, s.file->value, s.sha256->value, {}, {}};
    for (std::size_t i = 0; i < s.trust_domains.size(); ++i) {
      const auto& td = s.trust_domains[i];
      const Claim mine{s.sha256->value, s.path + " (" + s.name->value + ")"};
      auto [it, fresh] = claims_.emplace(td.value, mine);
      if (!fresh && it->second.root != mine.root) {
        f_.add(td.at, index_path(s.trust_domains_path, i),
               "trust domain '" + td.value + "' is already " + (it->second.root == kPlanRoot ? "the trust domain of " : "claimed by ") +
                   it->second.owner + ", under another root; a trust domain has one root");
      }
      root.trust_domains.push_back(td.value);
    }
    root.pem = read_external_root(s, base_dir_, f_);
    if (root.pem.empty()) return std::nullopt;
    return root;
  }

  // Every member mesh trusts the plan's root for the other member meshes,
  // and each external root of its federations for that root's domains.
  void give_meshes_trust() {
    for (auto& mesh : plan_.meshes) {
      output_layout::FederationTrust trust;
      trust.bundle_root_trust_domains.push_back(mesh.trust_domain);
      bool member = false;
      for (const auto& fed : plan_.federations) {
        if (std::find(fed.meshes.begin(), fed.meshes.end(), mesh.name) == fed.meshes.end()) continue;
        member = true;
        for (const auto& other : plan_.meshes) {
          auto& tds = trust.bundle_root_trust_domains;
          if (std::find(fed.meshes.begin(), fed.meshes.end(), other.name) != fed.meshes.end() &&
              std::find(tds.begin(), tds.end(), other.trust_domain) == tds.end())
            tds.push_back(other.trust_domain);
        }
        for (const auto& root : fed.external_roots) add_root(trust.extra_roots, root);
      }
      if (member) mesh.trust = std::move(trust);
    }
  }

  // An external root in two federations of a mesh is listed once, with
  // every trust domain it vouches for.
  static void add_root(std::vector<output_layout::TrustedRoot>& roots, const ExternalRootPlan& root) {
    auto same = std::find_if(roots.begin(), roots.end(), [&](const auto& r) { return r.pem == root.pem; });
    if (same == roots.end()) {
      roots.push_back({root.pem, root.trust_domains});
      return;
    }
    for (const auto& td : root.trust_domains)
      if (std::find(same->trust_domains.begin(), same->trust_domains.end(), td) == same->trust_domains.end())
        same->trust_domains.push_back(td);
  }

  const PlanDocument& doc_;
  Plan& plan_;
  const fs::path& base_dir_;
  Findings& f_;
  std::set<std::string> mesh_names_;
  std::map<std::string, Claim> claims_;  // trust domain -> its root
};

}  // namespace

std::vector<FederationSection> decode_federation(const YAML::Node& node, Findings& f) {
  std::vector<FederationSection> out;
  if (!node.IsSequence() || node.size() == 0) {
    f.add(location_of(f, node), "federation", "must be a non-empty list of federations");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (auto fed = decode_federation_entry(node[i], index_path("federation", i), f)) out.push_back(std::move(*fed));
  }
  return out;
}

void resolve_federation(const PlanDocument& doc, ResolvedPlan& resolved, const fs::path& base_dir, Findings& findings) {
  FederationResolver(doc, resolved, base_dir, findings).run();
}

}  // namespace meshca::ceremony
