#include "plan/plan_decode.hpp"

#include <algorithm>

#include "pki/csr.hpp"
#include "plan/field_readers.hpp"
#include "plan/plan_reader.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::string_view kKind = "CeremonyPlan";

// `profile: NAME` in `m` (the plan or a mesh): a built-in profile.
ProfileChoice decode_profile_choice(MapReader& m) {
  ProfileChoice choice{m.has("profile"), std::nullopt, m.field("profile"), m.at()};
  if (auto chosen = m.string("profile", false)) {
    if (templates::profile_text(*chosen)) {
      choice.name = *chosen;
    } else {
      std::string known;
      for (const auto& n : templates::profile_names()) known += (known.empty() ? "" : ", ") + n;
      m.error("profile", "unknown profile '" + *chosen + "'; built-in profiles: " + known);
    }
  }
  return choice;
}

void decode_name_constraints(MapReader& m, IntermediateSection& s) {
  auto nc = m.string("name_constraints", false);
  if (!nc) return;
  s.name_constraints_given = true;
  if (*nc == "trust_domain") {
    s.name_constraints = NameConstraintsMode::trust_domain;
  } else if (*nc == "none") {
    s.name_constraints = NameConstraintsMode::none;
  } else {
    m.error("name_constraints", "'" + *nc + "' is not a name constraints mode; use trust_domain or none");
  }
}

// `csr: {path, spki_sha256}`: the cluster's own key, pinned. The file is
// read later (plan/pinned_keys.hpp); here only its form is checked.
void decode_csr(MapReader& m, IntermediateSection& s, bool cluster_level) {
  if (!m.has("csr")) return;
  if (!cluster_level) {
    m.error("csr", "pins one cluster's key; write it in that cluster's intermediate section");
    return;
  }
  MapReader csr(m.findings(), m.get("csr"), m.field("csr"), {"path", "spki_sha256"});
  if (!csr.valid()) return;
  auto path = csr.string("path", true);
  auto pin_text = csr.string("spki_sha256", true);
  std::optional<std::string> pin;
  if (pin_text) {
    pin = pki::normalize_spki_pin(*pin_text);
    if (!pin) {
      csr.error("spki_sha256",
                "must be the SHA-256 of the key's SubjectPublicKeyInfo, 64 hex digits (meshca csr create prints it; or "
                "`openssl req -in CSR -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`)");
    }
  }
  if (path && path->empty()) csr.error("path", "must name the CSR file");
  if (!path || path->empty() || !pin) return;
  s.pinned_key = PinnedKey{*path, *pin, csr.at("path"), csr.at("spki_sha256"), {}};
}

// An `intermediate` section (plan defaults, mesh or cluster).
IntermediateSection decode_intermediate(const YAML::Node& node, const std::string& path, Findings& f, UnixTime now, bool cluster_level) {
  MapReader m(f, node, path, {"key", "validity", "not_before", "not_after", "subject", "name_constraints", "csr"});
  IntermediateSection s{path, {}, {}, {}, false, {}, {}};
  if (!m.valid()) return s;
  if (m.has("key")) {
    MapReader key(f, m.get("key"), m.field("key"), {"algorithm"});
    if (auto alg = read_algorithm(key)) s.algorithm = {*alg, key.at("algorithm")};
  }
  if (auto v = read_validity(m, false, now)) {
    // Where the value is written: the operator edits that line.
    s.validity = {*v, m.has("validity") ? m.at("validity") : m.has("not_after") ? m.at("not_after") : m.at()};
  }
  if (m.has("subject")) s.subject = read_subject(m.get("subject"), m.field("subject"), f, true);
  decode_name_constraints(m, s);
  decode_csr(m, s, cluster_level);
  return s;
}

std::optional<IntermediateSection> decode_intermediate_of(MapReader& m, Findings& f, UnixTime now, bool cluster_level = false) {
  if (!m.has("intermediate")) return std::nullopt;
  return decode_intermediate(m.get("intermediate"), m.field("intermediate"), f, now, cluster_level);
}

std::optional<ClusterSection> decode_cluster(const YAML::Node& node, const std::string& path, Findings& f, UnixTime now) {
  MapReader m(f, node, path, {"name", "intermediate"});
  if (!m.valid()) return std::nullopt;
  ClusterSection cluster{path, m.at(), {}, {}, {}};
  if (auto name = m.string("name", true)) {
    cluster.name = *name;
    if (!is_dns1123_label(*name)) {
      m.error("name", "'" + *name + "' " + kDnsLabelRule);
    } else {
      cluster.unique_name = Located<std::string>{*name, m.at("name")};
    }
  }
  cluster.intermediate = decode_intermediate_of(m, f, now, true);
  return cluster;
}

void decode_mesh_names(MapReader& m, MeshSection& mesh) {
  if (auto name = m.string("name", true)) {
    mesh.name = *name;
    if (!is_dns1123_label(*name)) {
      m.error("name", "'" + *name + "' " + kDnsLabelRule);
    } else if (*name == "root" || *name == "retired") {
      m.error("name", "'" + *name + "' is reserved (OUT/root/ holds the root certificate, OUT/retired/ replaced bundles)");
    } else {
      mesh.unique_name = Located<std::string>{*name, m.at("name")};
    }
  }
  if (auto td = m.string("trust_domain", true)) {
    mesh.trust_domain = *td;
    if (std::string problem = trust_domain_problem(*td); !problem.empty()) {
      m.error("trust_domain", problem);
    } else {
      mesh.unique_trust_domain = Located<std::string>{*td, m.at("trust_domain")};
    }
  }
}

std::optional<MeshSection> decode_mesh(const YAML::Node& node, const std::string& path, Findings& f, UnixTime now) {
  MapReader m(f, node, path, {"name", "trust_domain", "profile", "outputs", "intermediate", "clusters"});
  if (!m.valid()) return std::nullopt;
  MeshSection mesh{path, m.at(), {}, {}, {}, {}, {}, {}, {}, {}};
  if (m.has("outputs")) mesh.outputs = decode_outputs(m.get("outputs"), m.field("outputs"), f);
  if (m.has("profile")) mesh.profile = decode_profile_choice(m);
  mesh.intermediate = decode_intermediate_of(m, f, now);
  decode_mesh_names(m, mesh);
  auto clusters = m.required("clusters");
  if (!clusters) return mesh;
  if (!clusters->IsSequence() || clusters->size() == 0) {
    m.error("clusters", "must be a non-empty list of clusters");
    return mesh;
  }
  for (std::size_t j = 0; j < clusters->size(); ++j) {
    if (auto c = decode_cluster((*clusters)[j], index_path(m.field("clusters"), j), f, now)) mesh.clusters.push_back(std::move(*c));
  }
  return mesh;
}

void decode_meshes(const YAML::Node& node, PlanDocument& doc, Findings& f, UnixTime now) {
  if (!node.IsSequence() || node.size() == 0) {
    f.add(location_of(f, node), "meshes", "must be a non-empty list of meshes");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (auto mesh = decode_mesh(node[i], index_path("meshes", i), f, now)) doc.meshes.push_back(std::move(*mesh));
  }
}

void decode_metadata(const YAML::Node& node, PlanDocument& doc, Findings& f) {
  MapReader m(f, node, "metadata", {"name", "description"});
  if (auto name = read_label(m, "name")) doc.name = *name;
  doc.description = m.string("description", false).value_or("");
}

}  // namespace

void check_document_type(MapReader& top, std::string_view kind) {
  if (auto v = top.string("apiVersion", true); v && *v != kApiVersion) {
    top.error("apiVersion", "unsupported version '" + *v + "'; this meshca reads " + std::string(kApiVersion));
  }
  if (auto v = top.string("kind", true); v && *v != kind) top.error("kind", "must be " + std::string(kind));
}

PlanDocument decode_plan(std::string_view text, Findings& f, UnixTime now) {
  const YAML::Node yaml = load_yaml_document(text, "plan", f);
  PlanDocument doc;
  doc.root.path = "root";
  if (yaml.IsNull()) {
    f.add(location_of(f, yaml), "", "the plan is empty; start from `meshca plan init`");
    return doc;
  }
  MapReader top(f, yaml, "",
                {"apiVersion", "kind", "metadata", "organization", "profile", "root", "defaults", "meshes", "outputs", "rotation",
                 "revocation", "federation"});
  if (!top.valid()) return doc;
  check_document_type(top, kKind);
  if (auto m = top.required("metadata")) decode_metadata(*m, doc, f);
  doc.organization = top.string("organization", false).value_or("");
  doc.profile = decode_profile_choice(top);
  if (top.has("defaults")) {
    MapReader d(f, top.get("defaults"), "defaults", {"intermediate"});
    doc.defaults = decode_intermediate_of(d, f, now);
  }
  if (top.has("rotation")) doc.rotation = decode_rotation(top.get("rotation"), f, now);
  // A plan that adopts the CA a mesh runs has one root of its own, the new
  // one: it stands for the plan's root in every rule (plan/plan.hpp).
  if (doc.rotation && doc.rotation->current_ca) {
    if (top.present("root")) {
      top.error("root",
                "a plan that adopts the CA the mesh runs (rotation.current_ca) has no root section: its root is "
                "rotation.new_root");
    } else if (doc.rotation->new_root) {
      doc.root = *doc.rotation->new_root;
    }
  } else if (auto r = top.required("root")) {
    doc.root = decode_root(*r, "root", f, now);
  }
  if (top.has("outputs")) doc.outputs = decode_outputs(top.get("outputs"), "outputs", f);
  if (auto m = top.required("meshes")) decode_meshes(*m, doc, f, now);
  if (top.has("revocation")) doc.revocation = decode_revocation(top.get("revocation"), f, now);
  if (top.has("federation")) doc.federation = decode_federation(top.get("federation"), f);
  return doc;
}

}  // namespace meshca::ceremony
