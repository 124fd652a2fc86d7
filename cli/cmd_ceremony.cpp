// meshca ceremony run
#include <iostream>

#include "ceremony/runner.hpp"
#include "cli/signing_session.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kCeremonyUsage =
    "usage: meshca ceremony <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  run PLAN --out DIR   run the ceremony the plan describes and write every bundle under DIR";

constexpr const char* kRunUsage =
    "usage: meshca ceremony run PLAN --out DIR [options]\n"
    "\n"
    "Runs the ceremony the plan describes: creates or loads the root key, issues the root and one\n"
    "intermediate per cluster, verifies each before writing it, and writes every bundle, SHA256SUMS and\n"
    "the transcript under DIR. A re-run keeps complete bundles and refuses conflicting ones. Secrets come\n"
    "from the references in the plan (env:NAME, file:PATH, prompt), never from the command line; a root\n"
    "passphrase or token PIN held by custodians (passphrase/pin: {shares: ...}) is made and split at the\n"
    "first run (a token's PIN when the key is generated on it), its share files written to --shares-dir,\n"
    "and later read from there or typed by each custodian.\n"
    "\n"
    "example: MESHCA_ROOT_PASS=... meshca ceremony run plan.yaml --out out/ --expect-digest HEX";

void print_summary(const ceremony::CeremonyResult& r, const std::filesystem::path& out, std::ostream& os) {
  os << "\nroot CA: " << r.root.subject << "\n"
     << "  key:      " << r.key_store << (r.root_key_generated ? " [generated in this run]" : "") << "\n"
     << "  serial:   " << r.root.serial << "\n"
     << "  sha256:   " << r.root.sha256 << "\n"
     << "  valid:    " << format_rfc3339(r.root.not_before) << " .. " << format_rfc3339(r.root.not_after) << "\n"
     << "  file:     " << (out / "root" / "root-cert.pem").string()
     << (r.root_certificate_issued ? " [issued in this run]" : " [existing]") << "\n\n";
  std::size_t issued = 0, renewed = 0;
  for (const auto& c : r.clusters) {
    issued += c.issued && !c.replaced ? 1 : 0;
    renewed += c.replaced ? 1 : 0;
    os << (c.replaced ? "  renewed " : c.issued ? "  issued  " : "  kept    ") << c.mesh << "/" << c.cluster << "  "
       << c.certificate.subject << "  until " << format_rfc3339(c.certificate.not_after) << "  -> " << c.dir.string();
    if (c.replaced) os << "  (replaced serial " << c.replaced->serial << ", now in retired/)";
    os << "\n";
  }
  os << "\n" << issued << " bundle" << (issued == 1 ? "" : "s") << " issued, " << renewed << " renewed, "
     << r.clusters.size() - issued - renewed << " kept; every issued certificate passed signature, strict chain (X509_V_FLAG_X509_STRICT), key-match and "
        "lint checks before it was written\n"
     << "checksums: " << (out / "SHA256SUMS").string() << " (" << r.files_checksummed
     << " files; check with: cd " << out.string() << " && sha256sum -c SHA256SUMS)\n"
     << "plan digest: " << r.plan_digest << "\n"
     << "transcript: " << (out / "transcript.jsonl").string() << " (head " << r.transcript_head
     << "; witnesses: write the head down, then check with meshca transcript verify)\n";
}

int ceremony_run(const Args& args, Terminal& term) {
  po::options_description options("meshca ceremony run");
  add_signing_session_options(options);
  options.add_options()("renew", po::value<std::vector<std::string>>()->composing(),
                        "MESH/CLUSTER: issue a fresh intermediate (new key) for this existing bundle; the old one moves to "
                        "OUT/retired/ (repeatable)")("renew-expiring", po::value<std::string>(),
                                                     "renew every bundle whose intermediate expires within this duration (e.g. 60d)");
  po::variables_map vm;
  if (!parse_signing_command(args, options, kRunUsage, term, vm)) return 0;
  ceremony::CeremonyOptions opt;
  if (vm.count("renew")) opt.renew = vm["renew"].as<std::vector<std::string>>();
  if (vm.count("renew-expiring")) {
    std::string error;
    opt.renew_expiring = parse_duration(vm["renew-expiring"].as<std::string>(), error);
    if (!opt.renew_expiring) throw Error(ErrorKind::usage, "--renew-expiring: " + error);
  }
  return run_signing_session(vm, term, std::move(opt), ceremony::run_ceremony, print_summary);
}

}  // namespace

int run_ceremony(const Args& args, Terminal& term) {
  return dispatch_subcommand("ceremony", kCeremonyUsage, {{"run", ceremony_run}}, args, term);
}

}  // namespace meshca::cli
