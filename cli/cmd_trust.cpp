// meshca trust check
#include <iostream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "ceremony/rotation_checks.hpp"
#include "cli/terminal.hpp"
#include "core/files.hpp"
#include "core/time.hpp"
#include "plan/adopted_ca.hpp"
#include "plan/plan_decode.hpp"
#include "plan/plan_reader.hpp"
#include "plan/readable_text.hpp"
#include "plan/rotation_trust.hpp"
#include "verify/cross_cluster.hpp"
#include "verify/trust_matrix.hpp"

namespace meshca::cli {
namespace {

namespace fs = std::filesystem;
namespace vf = meshca::verify;
using nlohmann::json;

constexpr const char* kTrustUsage =
    "usage: meshca trust <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  check PLAN OUT [OUT2...]  which clusters accept each other's workloads, against what the plan says";

constexpr const char* kCheckUsage =
    "usage: meshca trust check PLAN OUT [OUT2...] [--json] [--html FILE]\n"
    "\n"
    "For every pair of clusters of PLAN in OUT (and of the meshes of other meshca OUTs, read with their\n"
    "plan.yaml), whether a sidecar of one accepts a workload of the other, the way Istio does with\n"
    "meshConfig.caCertificates and Envoy's SPIFFE validator: the peer's chain must verify to a root the\n"
    "receiver trusts for the peer's trust domain (root-cert.pem for its own trust domain and aliases, each\n"
    "trust/istiod-values.yaml caCertificates entry for its trustDomains). Compared with the plan: clusters\n"
    "of one mesh and of federated meshes must talk, any other two must refuse each other. When OUT is the\n"
    "plan's rotation output (OUT/phase-1..3), every cluster of every phase is checked against every\n"
    "cluster of its own phase and of the phases that coexist with it (phase 0 is rotation.current_output\n"
    "or the adopted CA of rotation.current_ca); phases 0 and 3 must refuse each other unless both roots\n"
    "chain to one corporate anchor. In a trust domain migration (rotation.current_ca.trust_domain) the\n"
    "workloads of phases 0 and 1 carry the adopted trust domain.\n"
    "Up to 12 clusters every pair gets a line; above, the pairs as planned are counted per reason and\n"
    "every pair that differs is listed (--json lists every pair). Exit 1 when any pair differs.\n"
    "\n"
    "example: meshca trust check plan.yaml out/ --html trust.html";

// Up to this many parties every pair gets a line (as meshca verify does).
constexpr std::size_t kListEveryTrustPairUpTo = 12;

struct Inputs {
  std::vector<vf::TrustParty> parties;
  std::vector<vf::BundleReport> reports;
  std::vector<vf::DeployedTrust> deployed;
  std::vector<std::string> problems;  // bundles missing or unreadable
  // Phase 0 of a rotation from an adopted CA (rotation.current_ca).
  std::optional<ceremony::AdoptedCa> adopted;
};

bool directory_exists(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The bundle of `party` in `dir`, checked by the verify engine; a bundle
// that is missing or whose certificates do not load is a problem.
void add_party(Inputs& in, vf::TrustParty party, const fs::path& dir, UnixTime at) {
  if (party.phase == 0 && in.adopted) {
    // The adopted CA as its clusters run it: its certificates, no bundle.
    vf::BundleReport report = ceremony::adopted_phase_report(*in.adopted, at);
    report.label = party.label;
    in.deployed.push_back(vf::read_deployed_trust({}, report, party.trust_domain));
    in.deployed.back().source = "the adopted CA's root (rotation.current_ca)";
    in.reports.push_back(std::move(report));
    in.parties.push_back(std::move(party));
    return;
  }
  if (!directory_exists(dir)) {
    in.problems.push_back(dir.string() + ": missing: the plan names cluster " + party.mesh + "/" + party.cluster);
    return;
  }
  auto sources = vf::load_bundle_sources(dir);
  auto report = vf::check_bundle(sources.front(), {.at = at, .trust_domain = party.trust_domain});
  if (!report.trust) {
    std::string why;
    for (const auto& f : report.findings)
      if (f.severity == pki::Severity::fail) why += (why.empty() ? "" : "; ") + f.check + ": " + f.message;
    in.problems.push_back(dir.string() + ": the certificates did not load (" + why + ")");
    return;
  }
  report.label = party.label;
  in.deployed.push_back(vf::read_deployed_trust(dir, report, party.trust_domain));
  in.reports.push_back(std::move(report));
  in.parties.push_back(std::move(party));
}

std::string cluster_name(const std::string& mesh, const std::string& cluster) { return mesh + "/" + cluster; }

// The meshes of another meshca OUT, as its plan.yaml names them (decoded
// only: its key and file references are the other ceremony's business).
void add_other_output(Inputs& in, const fs::path& out, UnixTime at) {
  const fs::path plan_file = out / "plan.yaml";
  const std::string text = read_file(plan_file);
  ceremony::Findings findings(plan_file.string());
  const auto doc = ceremony::decode_plan(text, findings, at);
  if (!findings.ok()) findings.fail("plan of " + out.string());
  for (const auto& mesh : doc.meshes) {
    for (const auto& c : mesh.clusters) {
      vf::TrustParty p{.label = out.string() + ": " + cluster_name(mesh.name, c.name),
                       .mesh = mesh.name,
                       .cluster = c.name,
                       .trust_domain = mesh.trust_domain,
                       .in_plan = false};
      add_party(in, std::move(p), out / mesh.name / c.name, at);
    }
  }
}

// What the rotation promises, in the rotation's own words.
std::vector<vf::PhasePairExpectation> rotation_phase_pairs(const ceremony::Plan& plan) {
  const auto& r = *plan.rotation;
  // An adopted CA's root is its own anchor (the plan's root section is then
  // a copy of the new root's).
  const bool shared_anchor = !r.current_ca && plan.root.issuer == ceremony::RootIssuer::external &&
                             r.new_root.issuer == ceremony::RootIssuer::external && plan.root.anchor_sha256 == r.new_root.anchor_sha256;
  std::vector<vf::PhasePairExpectation> out;
  for (const auto& p : ceremony::checked_phase_pairs({.cross_signed = r.cross_sign, .shared_anchor = shared_anchor}))
    out.push_back({p.a, p.b, p.expected});
  return out;
}

// What a report lists: every pair up to kListEveryTrustPairUpTo clusters;
// above, every pair that differs from the plan, and the pairs as planned
// counted per verdict and reason (a pair as planned never fails).
struct Listing {
  std::vector<const vf::MatrixPair*> listed;
  std::map<std::string, std::size_t> counted;
};

Listing listing(const vf::TrustMatrix& m) {
  const bool every_pair = m.parties.size() <= kListEveryTrustPairUpTo;
  Listing l;
  for (const auto& p : m.pairs) {
    if (every_pair || !p.ok()) {
      l.listed.push_back(&p);
    } else {
      const bool both = p.a_accepts_b.accepted && p.b_accepts_a.accepted;
      ++l.counted[std::string(both ? "talk" : "refuse each other") + " as the plan says (" + p.expected.why + ")"];
    }
  }
  return l;
}

std::string counted_text(const std::string& what, std::size_t count) {
  return std::to_string(count) + " pair" + (count == 1 ? "" : "s") + " " + what + ": not listed one by one (--json lists every pair)";
}

std::string summary_text(const vf::TrustMatrix& m) {
  const std::size_t failed = m.failed();
  return std::to_string(m.parties.size()) + " cluster bundles, " + std::to_string(m.pairs.size()) + " pair" +
         (m.pairs.size() == 1 ? "" : "s") + " checked (" + std::to_string(m.verifications) + " path verification" +
         (m.verifications == 1 ? "" : "s") + "): " +
         (failed == 0 ? std::string("all as the plan says")
                      : std::to_string(failed) + " pair" + (failed == 1 ? " differs" : "s differ") + " from the plan");
}

// Every pair, one compact object a line, written as it is made: a fleet of
// 1,000 clusters has half a million pairs, too many for one JSON document
// in memory.
void print_matrix_json(std::ostream& out, const vf::TrustMatrix& m, const std::string& plan, UnixTime at) {
  json j;
  j["plan"] = plan;
  j["at"] = format_rfc3339(at);
  j["ok"] = m.failed() == 0;
  j["pairs_checked"] = m.pairs.size();
  j["pairs_failed"] = m.failed();
  j["path_verifications"] = m.verifications;
  j["clusters"] = json::array();
  for (std::size_t i = 0; i < m.parties.size(); ++i) {
    const auto& p = m.parties[i];
    json roots = json::array();
    for (const auto& e : m.deployed[i].entries)
      roots.push_back({{"subject", e.subject}, {"fingerprint", e.fingerprint}, {"trust_domains", e.trust_domains}});
    j["clusters"].push_back({{"label", p.label},
                             {"mesh", p.mesh},
                             {"cluster", p.cluster},
                             {"trust_domain", p.trust_domain},
                             {"in_plan", p.in_plan},
                             {"phase", p.phase < 0 ? json(nullptr) : json(p.phase)},
                             {"trusts_from", m.deployed[i].source},
                             {"trusted_roots", roots}});
  }
  std::string head = j.dump(2);
  head.resize(head.rfind('}'));  // the object stays open for "pairs"
  while (!head.empty() && head.back() == '\n') head.pop_back();
  out << head << ",\n  \"pairs\": [";
  const char* sep = "\n    ";
  for (const auto& p : m.pairs) {
    json row = {{"a", m.parties[p.a].label},
                {"b", m.parties[p.b].label},
                {"expected", std::string(vf::expected_name(p.expected.kind))},
                {"why", p.expected.why},
                {"a_accepts_b", p.a_accepts_b.accepted},
                {"b_accepts_a", p.b_accepts_a.accepted},
                {"a_accepts_b_x509", p.a_accepts_b.x509},
                {"b_accepts_a_x509", p.b_accepts_a.x509},
                {"ok", p.ok()}};
    const auto [a_on_b, b_on_a] = vf::pair_reasons(m, p);
    if (!a_on_b.empty()) row["a_on_b"] = a_on_b;
    if (!b_on_a.empty()) row["b_on_a"] = b_on_a;
    out << sep << row.dump();
    sep = ",\n    ";
  }
  out << "\n  ]\n}\n";
}

void print_matrix(std::ostream& out, const vf::TrustMatrix& m) {
  out << "== trust matrix\n";
  if (m.parties.size() <= kListEveryTrustPairUpTo) {
    for (std::size_t i = 0; i < m.parties.size(); ++i)
      out << m.parties[i].label << ": trust domain " << m.parties[i].trust_domain << "; trusts the roots of " << m.deployed[i].source
          << "\n";
  }
  const Listing l = listing(m);
  for (const auto* p : l.listed) out << vf::describe_matrix_pair(m, *p) << "\n";
  for (const auto& [what, count] : l.counted) out << counted_text(what, count) << "\n";
  out << "\n" << summary_text(m) << "\n";
}

// The same listing as a self-contained page: one row per listed pair.
std::string matrix_html(const vf::TrustMatrix& m, const std::string& plan) {
  using ceremony::html_escape;
  auto cell = [](bool accepted) { return std::string(accepted ? "<td class=yes>accepts</td>" : "<td class=no>refuses</td>"); };
  const Listing l = listing(m);
  std::string rows;
  for (const auto* p : l.listed) {
    const auto [a_on_b, b_on_a] = vf::pair_reasons(m, *p);
    rows += std::string("<tr class=") + (p->ok() ? "ok" : "fail") + "><td>" + html_escape(m.parties[p->a].label) + "</td><td>" +
            html_escape(m.parties[p->b].label) + "</td><td>" + html_escape(vf::expected_name(p->expected.kind)) + "<br><small>" +
            html_escape(p->expected.why) + "</small></td>" + cell(p->a_accepts_b.accepted) + cell(p->b_accepts_a.accepted) +
            "<td class=r>" + (p->ok() ? "as planned" : "<b>FAIL</b>") + "</td><td><small>" + html_escape(a_on_b) +
            (a_on_b.empty() ? "" : "<br>") + html_escape(b_on_a) + "</small></td></tr>\n";
  }
  std::string counted;
  for (const auto& [what, count] : l.counted) counted += "<li>" + html_escape(counted_text(what, count)) + "</li>\n";
  return "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>meshca trust check: " + html_escape(plan) +
         "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
         "td,th{border:1px solid #999;padding:.3em .5em;vertical-align:top;overflow-wrap:anywhere}th{background:#eee}"
         ".yes{background:#dfd}.no{background:#fdd}.r{white-space:nowrap}tr.fail td{outline:2px solid #c00}</style></head>\n"
         "<body><h1>Trust matrix</h1>\n<p id=summary>" +
         html_escape(plan + ": " + summary_text(m)) + ".</p>\n" + (counted.empty() ? "" : "<ul>\n" + counted + "</ul>\n") +
         "<table><thead><tr><th>A</th><th>B</th><th>the plan says</th><th>A on B</th><th>B on A</th><th>result</th>"
         "<th>why</th></tr></thead>\n<tbody>\n" +
         rows + "</tbody></table></body></html>\n";
}

int trust_check(const Args& args, Terminal& term) {
  po::options_description options("meshca trust check");
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan")(
      "out", po::value<std::vector<std::string>>()->required(), "the plan's OUT (or rotation output), then other meshca OUTs")(
      "json", "print the matrix as JSON")("html", po::value<std::string>(), "also write the matrix as an HTML table to this file");
  po::positional_options_description positionals;
  positionals.add("plan", 1).add("out", -1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, kCheckUsage)) return 0;
  const UnixTime at = now_utc();
  const std::string plan_path = vm["plan"].as<std::string>();
  const auto plan = ceremony::load_plan(plan_path, at);
  const auto outs = vm["out"].as<std::vector<std::string>>();
  const fs::path out = outs.front();
  if (!directory_exists(out)) throw Error(ErrorKind::invalid_input, "not a directory: the plan's OUT", out.string());

  Inputs in;
  std::vector<vf::PhasePairExpectation> phase_pairs;
  const bool rotation = plan.rotation && directory_exists(out / "phase-1");
  if (rotation && outs.size() > 1) throw Error(ErrorKind::usage, "other OUTs are checked against a plan's OUT, not its rotation output");
  std::vector<std::pair<int, fs::path>> phases{{-1, out}};
  if (rotation) {
    const fs::path current = plan.rotation->current_output;
    phases = {{0, current.is_relative() ? plan.base_dir / current : current}};
    if (plan.rotation->current_ca) in.adopted = ceremony::read_pinned_adopted_ca(*plan.rotation->current_ca, plan.base_dir, at);
    for (int k = 1; k < ceremony::kPhaseCount; ++k) phases.emplace_back(k, out / ("phase-" + std::to_string(k)));
    phase_pairs = rotation_phase_pairs(plan);
  }
  for (const auto& [phase, dir] : phases) {
    for (const auto& mesh : plan.meshes) {
      for (const auto& c : mesh.clusters) {
        const std::string name = cluster_name(mesh.name, c.name);
        vf::TrustParty p{.label = phase < 0 ? name : "phase " + std::to_string(phase) + " " + name,
                         .mesh = mesh.name,
                         .cluster = c.name,
                         .trust_domain = phase < 0 ? mesh.trust_domain : ceremony::rotation_workload_trust_domain(plan, mesh, phase),
                         .in_plan = true,
                         .phase = phase};
        add_party(in, std::move(p), dir / mesh.name / c.name, at);
      }
    }
  }
  for (std::size_t k = 1; k < outs.size(); ++k) add_other_output(in, outs[k], at);
  if (!in.problems.empty()) {
    throw MultiError(ErrorKind::invalid_input,
                     std::to_string(in.problems.size()) + " cluster bundle" + (in.problems.size() == 1 ? "" : "s") +
                         " the plan names cannot be judged (is OUT the plan's output?)",
                     in.problems);
  }
  const auto matrix = vf::build_trust_matrix(std::move(in.parties), std::move(in.reports), std::move(in.deployed),
                                             vf::plan_trust_expectations(plan, std::move(phase_pairs)));
  if (vm.count("html")) write_file_atomic(vm["html"].as<std::string>(), matrix_html(matrix, plan_path), kPublicFileMode, Replace::allowed);
  if (vm.count("json")) {
    print_matrix_json(term.out, matrix, plan_path, at);
  } else {
    print_matrix(term.out, matrix);
  }
  return matrix.failed() == 0 ? 0 : static_cast<int>(ExitCode::check_failed);
}

}  // namespace

int run_trust(const Args& args, Terminal& term) { return dispatch_subcommand("trust", kTrustUsage, {{"check", trust_check}}, args, term); }

}  // namespace meshca::cli
