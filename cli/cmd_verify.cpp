// meshca verify | inspect | check-expiry
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ceremony/expiry_check.hpp"
#include "ceremony/expiry_metrics.hpp"
#include "cli/terminal.hpp"
#include "core/time.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"
#include "verify/bundle_discovery.hpp"
#include "verify/certificate_inventory.hpp"
#include "verify/verify_inputs.hpp"

namespace meshca::cli {
namespace {

namespace vf = meshca::verify;
using nlohmann::json;

// Parses a command whose arguments are the paths it reads (`option`,
// repeatable); false when --help was shown.
bool parse_paths_command(const Args& args, const po::options_description& options, const char* option, const char* usage, Terminal& term,
                         po::variables_map& vm) {
  po::positional_options_description positionals;
  positionals.add(option, -1);
  return parse_command_line(args, options, positionals, vm, term.out, usage);
}

UnixTime parse_at(const po::variables_map& vm) {
  if (!vm.count("at")) return now_utc();
  std::string error;
  auto t = parse_rfc3339(vm["at"].as<std::string>(), error);
  if (!t) throw Error(ErrorKind::usage, "--at: " + error + " (RFC 3339, e.g. 2027-01-01T00:00:00Z)");
  return *t;
}

// What the paths name (vf::discover_inputs: directories of bundles, an OUT,
// a root directory, Secret manifests, and for inspect and check-expiry PEM
// files); what was skipped is printed as a note.
std::vector<vf::BundleSource> load_inputs(const po::variables_map& vm, const char* option, vf::InputUse use, std::ostream& notes) {
  auto found = vf::discover_inputs(vm[option].as<std::vector<std::string>>(), use);
  for (const auto& note : found.notes) notes << "note: " << note << "\n";
  return std::move(found.sources);
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The paths the user named, for a message about all of them.
std::string named(const po::variables_map& vm, const char* option) { return join(vm[option].as<std::vector<std::string>>()); }

// The first few of many files ("a, b, c and 1997 more"): the root of an OUT
// is in every bundle.
std::string some_of(const std::vector<std::string>& files) {
  constexpr std::size_t kShown = 3;
  if (files.size() <= kShown + 1) return join(files);
  std::vector<std::string> first(files.begin(), files.begin() + kShown);
  return join(first) + " and " + std::to_string(files.size() - kShown) + " more";
}

json summary_json(const pki::CertificateSummary& s) {
  json j;
  j["subject"] = s.subject;
  j["issuer"] = s.issuer;
  j["serial"] = s.serial;
  j["key"] = s.key;
  j["signature_algorithm"] = s.signature_algorithm;
  j["not_before"] = format_rfc3339(s.not_before);
  j["not_after"] = format_rfc3339(s.not_after);
  j["days_left"] = s.days_left;
  j["ca"] = s.ca;
  j["path_len"] = s.path_len ? json(*s.path_len) : json(nullptr);
  j["self_signed"] = s.self_signed;
  j["key_usage"] = s.key_usage;
  j["extended_key_usage"] = s.extended_key_usage;
  j["subject_alt_names"] = s.subject_alt_names;
  j["name_constraints"] = s.name_constraints;
  j["subject_key_id"] = s.subject_key_id;
  j["authority_key_id"] = s.authority_key_id;
  j["sha256_fingerprint"] = s.sha256_fingerprint;
  return j;
}

// ---------------------------------------------------------------------------- verify

constexpr const char* kVerifyUsage =
    "usage: meshca verify DIR|OUT|SECRET.yaml... [--trust-domain TD] [--at TIME] [--json] [--problems-only]\n"
    "\n"
    "Checks each bundle the way istiod loads a plugged-in CA and a peer verifies its workloads:\n"
    "files and layout, strict PEM, the CA key, chain order and root, OpenSSL strict verification,\n"
    "CA lints, validity, pathLen and name constraints, ca-crl.pem, and a workload certificate issued\n"
    "like istiod does. Each finding is one line: PASS/WARN/FAIL, check, file, reason, fix.\n"
    "FAIL only for what istiod, Envoy, Go crypto/x509 or openssl -x509_strict refuse, or what breaks\n"
    "the bundle; what is only policy is WARN (the table of checks: docs/verification.md).\n"
    "An OUT or mesh directory means every bundle below it and the root directory (OUT/root: the root\n"
    "CA and root-crl.pem); retired/ is skipped. With several bundles, also reports which clusters\n"
    "trust each other (roots named with their SHA-256): bundles that claim one trust domain must\n"
    "accept each other's workloads both ways, or verify fails. Exit 1 when anything fails.\n"
    "\n"
    "example: meshca verify out/ --problems-only";

// Up to this many bundles every pair gets a line; above it, pairs that
// trust each other are summed up per shared root set and only the others
// are listed (a fleet of 1,000 clusters has half a million pairs).
constexpr std::size_t kListEveryPairUpTo = 12;

void print_cross_cluster(std::ostream& out, const std::vector<vf::BundleReport>& reports, const std::vector<vf::TrustPair>& pairs) {
  out << "== cross-cluster trust\n";
  for (const auto& r : reports)
    if (!r.trust && r.layout != vf::bundle_layout_name(vf::BundleLayout::root_ca))
      out << r.label << ": certificates did not load, left out\n";
  const bool every_pair = reports.size() <= kListEveryPairUpTo;
  // A pair in mutual trust never fails: above the limit, those are summed up.
  for (const auto& p : pairs)
    if (every_pair || !(p.a_accepts_b && p.b_accepts_a)) out << vf::describe_trust_pair(reports, p) << "\n";
  if (!every_pair) {
    for (const auto& [roots, count] : vf::mutual_trust_by_roots(pairs))
      out << count << " pair" << (count == 1 ? "" : "s") << " in mutual trust (shared root"
          << " " << roots << "): not listed one by one (--json lists every pair)\n";
  }
  out << "\n";
}

void print_finding(std::ostream& out, const vf::BundleFinding& f) {
  out << std::left << std::setw(5) << pki::severity_name(f.severity) << std::setw(20) << f.check << " " << f.file << ": " << f.message;
  if (!f.fix.empty()) out << " -- fix: " << f.fix;
  out << "\n";
}

json verify_json(const vf::VerifyOutcome& outcome, UnixTime at, bool problems_only) {
  json j;
  j["at"] = format_rfc3339(at);
  j["ok"] = !outcome.failed();
  j["bundles"] = json::array();
  for (const auto& r : outcome.reports) {
    json b;
    b["source"] = r.label;
    b["layout"] = r.layout;
    b["ok"] = !r.failed();
    b["counts"] = {{"pass", r.count(pki::Severity::pass)}, {"warn", r.count(pki::Severity::warn)}, {"fail", r.count(pki::Severity::fail)}};
    b["ca_subject"] = r.ca_subject;
    b["root_subject"] = r.chain_root_subject;
    b["root_fingerprint"] = r.chain_root_fingerprint;
    b["trust_domain"] = r.trust_domain;
    b["findings"] = json::array();
    for (const auto& f : r.findings) {
      if (problems_only && f.severity == pki::Severity::pass) continue;
      b["findings"].push_back({{"severity", std::string(pki::severity_name(f.severity))},
                               {"check", f.check},
                               {"file", f.file},
                               {"message", f.message},
                               {"fix", f.fix}});
    }
    j["bundles"].push_back(std::move(b));
  }
  j["cross_cluster"] = json::array();
  for (const auto& p : outcome.pairs) {
    j["cross_cluster"].push_back({{"a", outcome.reports[p.a].label},
                                  {"b", outcome.reports[p.b].label},
                                  {"a_accepts_b", p.a_accepts_b},
                                  {"b_accepts_a", p.b_accepts_a},
                                  {"mutual", p.a_accepts_b && p.b_accepts_a},
                                  {"must_talk", p.must_talk},
                                  {"ok", !p.failed()},
                                  {"shared_roots", p.shared->subjects},
                                  {"shared_root_fingerprints", p.shared->fingerprints}});
  }
  return j;
}

void print_verify(std::ostream& out, const vf::VerifyOutcome& outcome, UnixTime at, bool problems_only) {
  const auto& reports = outcome.reports;
  for (const auto& r : reports) {
    out << "== " << r.label << " (" << r.layout << ")\n";
    for (const auto& f : r.findings)
      if (!problems_only || f.severity != pki::Severity::pass) print_finding(out, f);
    if (!r.chain_root_fingerprint.empty())
      out << r.label << ": root " << vf::root_name(r.chain_root_subject, r.chain_root_fingerprint) << "\n";
    out << r.label << ": " << r.count(pki::Severity::pass) << " pass, " << r.count(pki::Severity::warn) << " warn, "
        << r.count(pki::Severity::fail) << " fail -> " << (r.failed() ? "FAIL" : "OK") << "\n\n";
  }
  if (reports.size() > 1) print_cross_cluster(out, reports, outcome.pairs);
  out << reports.size() << " bundle" << (reports.size() == 1 ? "" : "s") << " checked at " << format_rfc3339(at) << ": ";
  if (!outcome.failed()) {
    out << "all pass\n";
    return;
  }
  const std::size_t bad = outcome.failed_bundles, bad_pairs = outcome.failed_pairs;
  std::string what;
  if (bad != 0) what = std::to_string(bad) + " failed";
  if (bad_pairs != 0)
    what +=
        (what.empty() ? "" : "; ") + std::to_string(bad_pairs) + " pair" + (bad_pairs == 1 ? "" : "s") + " of one trust domain cannot talk";
  out << what << "\n";
}

int verify(const Args& args, Terminal& term) {
  po::options_description options("meshca verify");
  options.add_options()("help,h", "this help")("bundle", po::value<std::vector<std::string>>()->required(),
                                               "bundle directory or Secret manifest (repeatable)")(
      "trust-domain", po::value<std::string>(), "SPIFFE trust domain of the mesh (for the workload check)")(
      "at", po::value<std::string>(), "check validity at this RFC 3339 time instead of now")("json", "print the report as JSON")(
      "problems-only,q", "print only WARN and FAIL findings");
  po::variables_map vm;
  if (!parse_paths_command(args, options, "bundle", kVerifyUsage, term, vm)) return 0;
  vf::BundleCheckOptions opts;
  opts.at = parse_at(vm);
  if (vm.count("trust-domain")) opts.trust_domain = vm["trust-domain"].as<std::string>();
  const bool problems_only = vm.count("problems-only") != 0;

  const auto outcome = vf::verify_inputs(vm["bundle"].as<std::vector<std::string>>(), opts);
  for (const auto& note : outcome.notes) term.err << "note: " << note << "\n";
  if (vm.count("json")) {
    term.out << verify_json(outcome, opts.at, problems_only).dump(2) << "\n";
  } else {
    print_verify(term.out, outcome, opts.at, problems_only);
  }
  return outcome.failed() ? static_cast<int>(ExitCode::check_failed) : 0;
}

// ---------------------------------------------------------------------------- inspect

constexpr const char* kInspectUsage =
    "usage: meshca inspect FILE|DIR|OUT|SECRET.yaml... [--at TIME] [--json]\n"
    "\n"
    "Shows every certificate (subject, issuer, serial, key, validity and days left, CA/pathLen,\n"
    "keyUsage, EKU, SANs, name constraints, SKI/AKI, SHA-256 fingerprint), every CRL (issuer,\n"
    "thisUpdate, nextUpdate, how many it revokes) and the chain as a tree; a certificate found in several\n"
    "files is shown once. An OUT or mesh directory means every bundle below it and the root.\n"
    "\n"
    "example: meshca inspect out/prod/east";

void print_tree(std::ostream& out, const std::vector<pki::CertificateNode>& nodes, const vf::CertificateInventory& all,
                const std::string& prefix, bool top) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    bool last = i + 1 == nodes.size();
    const auto& seen = all.certs[nodes[i].index];
    std::string branch = top ? "" : (last ? "└─ " : "├─ ");
    out << "  " << prefix << branch << pki::subject_string(seen.cert.get()) << "  [" << join(seen.files) << "]\n";
    print_tree(out, nodes[i].children, all, top ? prefix : prefix + (last ? "   " : "│  "), false);
  }
}

json tree_json(const std::vector<pki::CertificateNode>& nodes, const vf::CertificateInventory& all) {
  json arr = json::array();
  for (const auto& n : nodes) {
    arr.push_back({{"subject", pki::subject_string(all.certs[n.index].cert.get())},
                   {"sha256_fingerprint", pki::sha256_fingerprint(all.certs[n.index].cert.get())},
                   {"children", tree_json(n.children, all)}});
  }
  return arr;
}

json inventory_json(const vf::CertificateInventory& all, const std::vector<std::string>& labels, UnixTime at) {
  json j;
  j["at"] = format_rfc3339(at);
  j["inputs"] = labels;
  j["certificates"] = json::array();
  for (const auto& c : all.certs) {
    json s = summary_json(pki::summarize(c.cert.get(), at));
    s["files"] = c.files;
    j["certificates"].push_back(std::move(s));
  }
  j["keys"] = json::array();
  for (const auto& [file, what] : all.keys) j["keys"].push_back({{"file", file}, {"key", what}});
  j["tree"] = tree_json(all.tree(), all);
  j["crls"] = json::array();
  for (const auto& c : all.crls) {
    auto next_update = pki::crl_next_update(c.crl.get());
    j["crls"].push_back({{"files", c.files},
                         {"issuer", pki::crl_issuer_string(c.crl.get())},
                         {"this_update", format_rfc3339(pki::crl_this_update(c.crl.get()))},
                         {"next_update", next_update ? json(format_rfc3339(*next_update)) : json(nullptr)},
                         {"revoked", pki::crl_revoked_count(c.crl.get())}});
  }
  j["notes"] = all.notes;
  return j;
}

void print_certificate(std::ostream& out, const pki::CertificateSummary& s) {
  auto row = [&](const char* name, const std::string& value) {
    if (!value.empty()) out << "  " << std::left << std::setw(18) << name << value << "\n";
  };
  row("subject", s.subject.empty() ? "(empty)" : s.subject);
  row("issuer", s.issuer);
  row("serial", s.serial);
  row("key", s.key);
  row("signature", s.signature_algorithm);
  std::string left = s.days_left < 0 ? "expired " + std::to_string(-s.days_left) + " days ago" : std::to_string(s.days_left) + " days left";
  row("validity", format_rfc3339(s.not_before) + " .. " + format_rfc3339(s.not_after) + " (" + left + ")");
  row("CA", s.ca ? "yes" + (s.path_len ? ", pathLen " + std::to_string(*s.path_len) : std::string(", no pathLen")) +
                       (s.self_signed ? ", self-signed root" : "")
                 : "no");
  row("key usage", join(s.key_usage));
  row("extended usage", join(s.extended_key_usage));
  row("SANs", join(s.subject_alt_names));
  row("name constraints", join(s.name_constraints));
  row("SKI", s.subject_key_id);
  row("AKI", s.authority_key_id);
  row("SHA-256", s.sha256_fingerprint);
}

void print_inventory(std::ostream& out, const vf::CertificateInventory& all, const std::vector<std::string>& labels, UnixTime at) {
  for (const auto& l : labels) out << "# " << l << "\n";
  for (std::size_t i = 0; i < all.certs.size(); ++i) {
    out << "\n[" << i + 1 << "] " << join(all.certs[i].files) << "\n";
    print_certificate(out, pki::summarize(all.certs[i].cert.get(), at));
  }
  for (const auto& [file, what] : all.keys) out << "\nkey " << file << ": " << what << "\n";
  for (const auto& c : all.crls) {
    auto next_update = pki::crl_next_update(c.crl.get());
    out << "\nCRL " << join(c.files) << ": issuer " << pki::crl_issuer_string(c.crl.get()) << ", thisUpdate "
        << format_rfc3339(pki::crl_this_update(c.crl.get())) << ", nextUpdate "
        << (next_update ? format_rfc3339(*next_update) : std::string("(none)")) << ", " << pki::crl_revoked_count(c.crl.get())
        << " revoked\n";
  }
  if (!all.certs.empty()) {
    out << "\nchain (issuer above subject):\n";
    print_tree(out, all.tree(), all, "", true);
  }
  for (const auto& note : all.notes) out << "note: " << note << "\n";
}

int inspect(const Args& args, Terminal& term) {
  po::options_description options("meshca inspect");
  options.add_options()("help,h", "this help")("input", po::value<std::vector<std::string>>()->required(),
                                               "PEM file, bundle directory or Secret manifest")(
      "at", po::value<std::string>(), "compute days left at this RFC 3339 time instead of now")("json", "print JSON");
  po::variables_map vm;
  if (!parse_paths_command(args, options, "input", kInspectUsage, term, vm)) return 0;
  const UnixTime at = parse_at(vm);
  vf::CertificateInventory all;
  std::vector<std::string> labels;
  for (const auto& src : load_inputs(vm, "input", vf::InputUse::certificates, term.err)) {
    all.add(src);
    labels.push_back(src.label + (src.kind == "file" ? "" : " (" + std::string(vf::bundle_layout_name(src.layout)) + ")"));
  }
  const bool empty = all.certs.empty() && all.crls.empty();
  if (vm.count("json")) {
    term.out << inventory_json(all, labels, at).dump(2) << "\n";
    return empty ? static_cast<int>(ExitCode::invalid_input) : 0;
  }
  print_inventory(term.out, all, labels, at);
  if (empty) throw Error(ErrorKind::invalid_input, "no certificate or CRL found", named(vm, "input"));
  return 0;
}

// ---------------------------------------------------------------------------- check-expiry

constexpr const char* kExpiryUsage =
    "usage: meshca check-expiry DIR|OUT|SECRET.yaml|FILE... [--within 30d] [--at TIME] [--format text|json|openmetrics]\n"
    "\n"
    "Lists every certificate and CRL once with its end date and the date it must be replaced by:\n"
    "an intermediate (or leaf) at two thirds of its lifetime and at the latest 30 days before\n"
    "notAfter; a root at two thirds of its lifetime and at the latest 1 year before notAfter (the same\n"
    "date meshca plan show prints); a CRL at two thirds of its period and at the latest 1 day before\n"
    "nextUpdate (--within does not apply to CRLs). An OUT or mesh directory means every bundle below\n"
    "it and the root; retired/ is skipped. Status: EXPIRED, EXPIRING (within --within), RENEW (the\n"
    "date has passed), OK.\n"
    "--format openmetrics prints gauges for the node_exporter textfile collector (it ends with # EOF,\n"
    "which the Prometheus text format reads as a comment): meshca_certificate_not_after_seconds,\n"
    "meshca_certificate_renew_by_seconds, meshca_crl_next_update_seconds, meshca_crl_refresh_by_seconds\n"
    "(seconds since the epoch), meshca_certificate_due and meshca_crl_due (1 when not OK), labelled\n"
    "mesh, cluster, role, serial, fingerprint and subject. mesh and cluster come from where a file lies:\n"
    "OUT/MESH/CLUSTER/ or a deployed Secret DIR/MESH/CLUSTER.yaml; a root, and a CRL in several\n"
    "clusters' bundles, have them empty.\n"
    "Exits 1 when anything is not OK (in every format).\n"
    "\n"
    "example: meshca check-expiry out/ --within 30d --format openmetrics > /var/lib/prometheus/node-exporter/meshca.prom";

json expiry_json(const ceremony::ExpiryReport& report, const Duration& window) {
  json j;
  j["at"] = format_rfc3339(report.at);
  j["within"] = window.to_string();
  j["horizon"] = format_rfc3339(report.horizon);
  j["ok"] = report.needing_action() == 0;
  j["certificates"] = json::array();
  for (const auto& item : report.items) {
    json row = {{"source", item.files.front()},
                {"files", some_of(item.files)},
                {"subject", item.subject},
                {"role", std::string(ceremony::expiry_role_name(item.role))},
                {"mesh", item.mesh},
                {"cluster", item.cluster},
                {"serial", item.serial},
                {"fingerprint", item.fingerprint},
                {"status", std::string(ceremony::expiry_status_name(item.status))},
                {"not_after", format_rfc3339(item.end)},
                {"renew_by", format_rfc3339(item.due_by)},
                {"days_left", item.days_left}};
    // A CRL's end is its nextUpdate (not_after keeps one field for every row).
    if (item.role == ceremony::ExpiryRole::crl) row["next_update"] = row["not_after"];
    j["certificates"].push_back(std::move(row));
  }
  return j;
}

void print_expiry(std::ostream& out, const ceremony::ExpiryReport& report, const Duration& window, bool crls) {
  using ceremony::ExpiryRole;
  for (const auto& item : report.items) {
    const bool crl = item.role == ExpiryRole::crl;
    out << std::left << std::setw(9) << ceremony::expiry_status_name(item.status) << some_of(item.files) << ": " << (crl ? "CRL of " : "")
        << item.subject << (crl ? " nextUpdate " : " notAfter ") << format_rfc3339(item.end) << " (" << item.days_left << " days); "
        << (item.role == ExpiryRole::root ? "rotate by "
            : crl                         ? "refresh by "
                                          : "renew by ")
        << format_rfc3339(item.due_by) << "\n";
  }
  const std::size_t rows = report.items.size();
  const std::size_t n = report.needing_action();
  out << rows << " certificate" << (rows == 1 ? "" : "s") << (crls ? " and CRL" : "") << (!crls || rows == 1 ? "" : "s") << " checked at "
      << format_rfc3339(report.at) << " for expiry before " << format_rfc3339(report.horizon) << ": "
      << (n != 0 ? std::to_string(n) + " need action" : "none needs action") << "\n";
  if (n != 0) {
    out << "renew an intermediate with: meshca ceremony run PLAN --out OUT --renew MESH/CLUSTER (or --renew-expiring " << window.to_string()
        << "); rotate a root with: meshca rotate phases PLAN --out DIR"
        << (crls ? "; refresh CRLs with: meshca crl refresh PLAN --out OUT" : "") << "\n";
  }
}

int check_expiry(const Args& args, Terminal& term) {
  po::options_description options("meshca check-expiry");
  options.add_options()("help,h", "this help")("input", po::value<std::vector<std::string>>()->required(),
                                               "bundle directory, Secret manifest or PEM file")(
      "within", po::value<std::string>()->default_value("30d"), "window, e.g. 30d, 1y, 12h")(
      "at", po::value<std::string>(), "measure from this RFC 3339 time instead of now")(
      "format", po::value<std::string>()->default_value("text"), "text, json or openmetrics")("json", "the same as --format json");
  po::variables_map vm;
  if (!parse_paths_command(args, options, "input", kExpiryUsage, term, vm)) return 0;
  const std::string format = vm.count("json") ? "json" : vm["format"].as<std::string>();
  if (format != "text" && format != "json" && format != "openmetrics") {
    throw Error(ErrorKind::usage, "--format: '" + format + "' is not one of text, json, openmetrics");
  }
  UnixTime at = parse_at(vm);
  std::string error;
  auto window = parse_duration(vm["within"].as<std::string>(), error);
  if (!window) throw Error(ErrorKind::usage, "--within: " + error);
  vf::CertificateInventory all;
  for (const auto& src : load_inputs(vm, "input", vf::InputUse::certificates, term.err)) all.add(src);
  if (all.certs.empty() && all.crls.empty()) throw Error(ErrorKind::invalid_input, "no certificate or CRL found", named(vm, "input"));
  const auto report = ceremony::check_expiry(all, at, *window);
  for (const auto& note : report.notes) term.err << "note: " << note << "\n";
  if (format == "json") {
    term.out << expiry_json(report, *window).dump(2) << "\n";
  } else if (format == "openmetrics") {
    term.out << ceremony::expiry_openmetrics(report);
  } else {
    print_expiry(term.out, report, *window, !all.crls.empty());
  }
  return report.needing_action() != 0 ? static_cast<int>(ExitCode::check_failed) : 0;
}

}  // namespace

int run_verify(const Args& args, Terminal& term) { return verify(args, term); }
int run_inspect(const Args& args, Terminal& term) { return inspect(args, term); }
int run_check_expiry(const Args& args, Terminal& term) { return check_expiry(args, term); }

}  // namespace meshca::cli
