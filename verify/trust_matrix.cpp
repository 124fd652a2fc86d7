#include "verify/trust_matrix.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <unordered_map>

#include "core/files.hpp"
#include "output_layout/trust_config.hpp"
#include "pki/certificate.hpp"
#include "plan/plan.hpp"
#include "verify/cross_cluster.hpp"

namespace meshca::verify {
namespace fs = std::filesystem;

namespace {

// "meshConfig.caCertificates[1].trustDomains" at line N of the values file.
[[noreturn]] void bad_trust_field(const fs::path& file, const YAML::Node& node, const std::string& field, const std::string& what) {
  const std::string line = node.IsDefined() && node.Mark().line >= 0 ? ":" + std::to_string(node.Mark().line + 1) : "";
  throw Error(ErrorKind::invalid_input, field + ": " + what, file.string() + line);
}

std::vector<std::string> trust_domain_list(const fs::path& file, const YAML::Node& node, const std::string& field) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) bad_trust_field(file, node, field, "is not a list of strings");
  for (const auto& item : node) {
    if (!item.IsScalar() || item.as<std::string>().empty()) bad_trust_field(file, item, field, "holds an entry that is not a trust domain");
    out.push_back(item.as<std::string>());
  }
  return out;
}

TrustedRootEntry entry_of(const X509* root, std::vector<std::string> trust_domains) {
  return {pki::duplicate(root), pki::sha256_fingerprint(root), pki::subject_string(root), std::move(trust_domains)};
}

bool covers(const TrustedRootEntry& e, const std::string& trust_domain) {
  return e.trust_domains.empty() || std::find(e.trust_domains.begin(), e.trust_domains.end(), trust_domain) != e.trust_domains.end();
}

std::string phase_text(int phase) { return "phase " + std::to_string(phase); }

}  // namespace

DeployedTrust read_deployed_trust(const fs::path& bundle_dir, const BundleReport& report, const std::string& trust_domain) {
  DeployedTrust out;
  out.source = kRootCertFile;
  std::vector<std::string> own{trust_domain};
  std::vector<TrustedRootEntry> extra;
  const fs::path values = bundle_dir / output_layout::kIstiodValuesFile;
  if (auto text = bundle_dir.empty() ? std::nullopt : read_file_if_exists(values)) {
    out.source += std::string(" and ") + output_layout::kIstiodValuesFile;
    YAML::Node doc;
    try {
      doc = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      throw Error(ErrorKind::invalid_input, "not YAML: " + e.msg, values.string() + ":" + std::to_string(e.mark.line + 1));
    }
    const YAML::Node mesh = doc.IsMap() ? doc["meshConfig"] : YAML::Node();
    if (!mesh.IsDefined() || !mesh.IsMap())
      bad_trust_field(values, doc, "meshConfig", "missing: the file meshca writes sets meshConfig.caCertificates");
    // A trust domain migration sets meshConfig.trustDomain: what the
    // receiver then runs with, whatever the caller assumed.
    if (const YAML::Node td = mesh["trustDomain"]; td.IsDefined()) {
      if (!td.IsScalar() || td.Scalar().empty()) bad_trust_field(values, td, "meshConfig.trustDomain", "is not a trust domain");
      own.front() = td.Scalar();
    }
    for (const auto& alias : trust_domain_list(values, mesh["trustDomainAliases"], "meshConfig.trustDomainAliases")) own.push_back(alias);
    const YAML::Node cas = mesh["caCertificates"];
    if (!cas.IsDefined() || !cas.IsSequence()) bad_trust_field(values, mesh, "meshConfig.caCertificates", "missing or not a list");
    for (std::size_t i = 0; i < cas.size(); ++i) {
      const std::string field = "meshConfig.caCertificates[" + std::to_string(i) + "]";
      const YAML::Node pem = cas[i].IsMap() ? cas[i]["pem"] : YAML::Node();
      if (!pem.IsDefined() || !pem.IsScalar())
        bad_trust_field(values, cas[i], field + ".pem", "missing: each entry carries one root as PEM");
      auto certs = pki::certificates_from_pem(pem.as<std::string>(), values.string() + ": " + field + ".pem");
      if (certs.size() != 1)
        bad_trust_field(values, pem, field + ".pem", "holds " + std::to_string(certs.size()) + " certificates, not one");
      extra.push_back(entry_of(certs.front().get(), trust_domain_list(values, cas[i]["trustDomains"], field + ".trustDomains")));
    }
  }
  if (report.trust) {
    for (const auto& root : report.trust->roots) out.entries.push_back(entry_of(root.get(), own));
  }
  for (auto& e : extra) out.entries.push_back(std::move(e));
  return out;
}

TrustExpectations plan_trust_expectations(const ceremony::Plan& plan, std::vector<PhasePairExpectation> phase_pairs) {
  TrustExpectations e;
  for (const auto& f : plan.federations) {
    for (const auto& mesh : f.meshes) e.federations_of_mesh[mesh].insert(f.name);
    for (const auto& root : f.external_roots)
      for (const auto& td : root.trust_domains) e.federations_of_domain[td].emplace(f.name, root.name);
  }
  e.phase_pairs = std::move(phase_pairs);
  return e;
}

namespace {

const PhasePairExpectation* phase_pair(const TrustExpectations& expect, const TrustParty& a, const TrustParty& b) {
  for (const auto& p : expect.phase_pairs)
    if ((p.a == a.phase && p.b == b.phase) || (p.a == b.phase && p.b == a.phase)) return &p;
  return nullptr;
}

// The federation `mesh` (of the plan) shares with trust domain `td` of another OUT.
std::string federation_with_domain(const TrustExpectations& expect, const std::string& mesh, const std::string& td) {
  auto members = expect.federations_of_mesh.find(mesh);
  auto vouched = expect.federations_of_domain.find(td);
  if (members == expect.federations_of_mesh.end() || vouched == expect.federations_of_domain.end()) return "";
  const auto shared = std::find_if(vouched->second.begin(), vouched->second.end(),
                                   [&](const auto& federation_root) { return members->second.count(federation_root.first) != 0; });
  if (shared == vouched->second.end()) return "";
  return shared->first + " (external root " + shared->second + ")";
}

}  // namespace

bool phases_checked(const TrustExpectations& expect, const TrustParty& a, const TrustParty& b) {
  return a.phase == b.phase || phase_pair(expect, a, b) != nullptr;
}

Expectation expected_trust(const TrustExpectations& expect, const TrustParty& a, const TrustParty& b) {
  if (a.phase != b.phase) {
    const auto* p = phase_pair(expect, a, b);
    if (p && !p->talk)
      return {Expected::refuse, phase_text(p->a) + " and " + phase_text(p->b) + " must refuse each other: the old root is retired"};
  }
  const std::string phases =
      a.phase == b.phase ? ""
                         : ", " + phase_text(std::min(a.phase, b.phase)) + " and " + phase_text(std::max(a.phase, b.phase)) + " coexist";
  if (a.in_plan == b.in_plan && a.mesh == b.mesh && (a.in_plan || a.trust_domain == b.trust_domain))
    return {Expected::talk, "one mesh " + a.mesh + phases};
  if (a.in_plan && b.in_plan) {
    auto fa = expect.federations_of_mesh.find(a.mesh);
    auto fb = expect.federations_of_mesh.find(b.mesh);
    if (fa != expect.federations_of_mesh.end() && fb != expect.federations_of_mesh.end()) {
      const auto shared = std::find_if(fa->second.begin(), fa->second.end(), [&](const auto& f) { return fb->second.count(f) != 0; });
      if (shared != fa->second.end()) return {Expected::talk, "federation " + *shared + phases};
    }
    return {Expected::refuse, "meshes " + a.mesh + " and " + b.mesh + " are neither one mesh nor federated"};
  }
  if (!a.in_plan && !b.in_plan) return {Expected::unjudged, "neither mesh is in the plan"};
  const TrustParty& ours = a.in_plan ? a : b;
  const TrustParty& theirs = a.in_plan ? b : a;
  const std::string f = federation_with_domain(expect, ours.mesh, theirs.trust_domain);
  if (!f.empty()) return {Expected::talk, "federation " + f};
  return {Expected::refuse, "mesh " + ours.mesh + " is not federated with trust domain " + theirs.trust_domain};
}

bool MatrixPair::ok() const {
  switch (expected.kind) {
    case Expected::talk:
      return a_accepts_b.accepted && b_accepts_a.accepted;
    case Expected::refuse:
      return !a_accepts_b.accepted && !b_accepts_a.accepted;
    case Expected::unjudged:
      return true;
  }
  return false;
}

std::size_t TrustMatrix::failed() const {
  return static_cast<std::size_t>(std::count_if(pairs.begin(), pairs.end(), [](const MatrixPair& p) { return !p.ok(); }));
}

TrustMatrix build_trust_matrix(std::vector<TrustParty> parties, std::vector<BundleReport> reports, std::vector<DeployedTrust> deployed,
                               const TrustExpectations& expect) {
  TrustMatrix m{std::move(parties), std::move(reports), std::move(deployed), {}, 0};
  const std::size_t n = m.parties.size();
  if (m.reports.size() != n || m.deployed.size() != n) throw Error(ErrorKind::internal, "trust matrix: one report and trust per party");
  // A receiver's roots for a trust domain, and all its roots, are a set
  // that many receivers share: named by their fingerprints, numbered once.
  std::map<std::vector<std::string>, std::size_t> set_ids;
  std::vector<std::vector<const X509*>> sets;
  auto root_set = [&](std::size_t receiver, const std::string* trust_domain) {
    std::vector<std::pair<std::string, const X509*>> roots;
    for (const auto& e : m.deployed[receiver].entries)
      if (!trust_domain || covers(e, *trust_domain)) roots.emplace_back(e.fingerprint, e.root.get());
    std::sort(roots.begin(), roots.end());
    roots.erase(std::unique(roots.begin(), roots.end(), [](const auto& x, const auto& y) { return x.first == y.first; }), roots.end());
    std::vector<std::string> key;
    key.reserve(roots.size());
    for (const auto& r : roots) key.push_back(r.first);
    auto [it, added] = set_ids.emplace(std::move(key), sets.size());
    if (added) {
      sets.emplace_back();
      for (const auto& r : roots) sets.back().push_back(r.second);
    }
    return it->second;
  };
  std::map<std::pair<std::size_t, std::string>, std::size_t> domain_set;  // (receiver, trust domain) -> set
  std::vector<std::size_t> all_set(n);
  for (std::size_t i = 0; i < n; ++i) all_set[i] = root_set(i, nullptr);
  std::unordered_map<std::size_t, bool> verdicts;  // key: set * n + peer
  auto verifies = [&](std::size_t set, std::size_t peer) {
    auto [it, added] = verdicts.emplace(set * n + peer, false);
    if (added && !sets[set].empty() && m.reports[peer].trust) {
      TrustMaterial under;
      for (const X509* r : sets[set]) under.roots.push_back(pki::duplicate(r));
      under.at = m.reports[peer].trust->at;
      it->second = accepts_workloads(under, *m.reports[peer].trust);
      ++m.verifications;
    }
    return it->second;
  };
  auto accept = [&](std::size_t receiver, std::size_t peer) {
    const std::string& td = m.parties[peer].trust_domain;
    auto [it, added] = domain_set.emplace(std::make_pair(receiver, td), 0);
    if (added) it->second = root_set(receiver, &td);
    Acceptance a;
    a.domain_trusted = !sets[it->second].empty();
    a.accepted = a.domain_trusted && verifies(it->second, peer);
    a.x509 = a.accepted || verifies(all_set[receiver], peer);
    return a;
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (!phases_checked(expect, m.parties[i], m.parties[j])) continue;
      MatrixPair p;
      p.a = i;
      p.b = j;
      p.a_accepts_b = accept(i, j);
      p.b_accepts_a = accept(j, i);
      p.expected = expected_trust(expect, m.parties[i], m.parties[j]);
      m.pairs.push_back(std::move(p));
    }
  }
  return m;
}

std::string_view expected_name(Expected kind) {
  switch (kind) {
    case Expected::talk:
      return "talk";
    case Expected::refuse:
      return "refuse";
    case Expected::unjudged:
      return "not judged";
  }
  return "";
}

std::string acceptance_reason(const TrustMatrix& m, std::size_t receiver, std::size_t peer, const Acceptance& v) {
  const auto& r = m.parties[receiver];
  const auto& p = m.parties[peer];
  const auto& pr = m.reports[peer];
  const std::string root = root_name(pr.chain_root_subject, pr.chain_root_fingerprint);
  if (v.accepted) return r.label + " accepts " + p.label + " (" + root + " trusted for " + p.trust_domain + ")";
  if (!pr.trust) return r.label + " refuses " + p.label + ": its certificates did not load";
  if (!v.domain_trusted) {
    return r.label + " refuses " + p.label + ": no root trusted for trust domain " + p.trust_domain + " in " + m.deployed[receiver].source +
           (v.x509 ? " (X.509 alone would accept it under " + root + "; Envoy's SPIFFE validator refuses the trust domain)" : "");
  }
  return r.label + " refuses " + p.label + ": its chain to " + root + " does not verify under the roots trusted for " + p.trust_domain;
}

std::pair<std::string, std::string> pair_reasons(const TrustMatrix& m, const MatrixPair& p) {
  std::pair<std::string, std::string> out;
  if (!p.ok() || !p.a_accepts_b.accepted) out.first = acceptance_reason(m, p.a, p.b, p.a_accepts_b);
  if (!p.ok() || !p.b_accepts_a.accepted) out.second = acceptance_reason(m, p.b, p.a, p.b_accepts_a);
  return out;
}

std::string describe_matrix_pair(const TrustMatrix& m, const MatrixPair& p) {
  const bool both = p.a_accepts_b.accepted && p.b_accepts_a.accepted;
  const bool none = !p.a_accepts_b.accepted && !p.b_accepts_a.accepted;
  const std::string& a = m.parties[p.a].label;
  const std::string& b = m.parties[p.b].label;
  std::string line = (p.ok() ? "" : "FAIL ") + a + (both ? " <-> " : none ? "  x  " : " <-/-> ") + b + ": ";
  line += both ? "talk" : none ? "refuse each other" : "one way only";
  line += "; the plan says " + std::string(expected_name(p.expected.kind)) + " (" + p.expected.why + ")";
  const auto [a_on_b, b_on_a] = pair_reasons(m, p);
  if (!a_on_b.empty()) line += "; " + a_on_b;
  if (!b_on_a.empty()) line += "; " + b_on_a;
  return line;
}

}  // namespace meshca::verify
