// meshca revoke, meshca crl refresh
#include <iostream>

#include "ceremony/external_root.hpp"
#include "ceremony/revocation.hpp"
#include "cli/signing_session.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kRevokeUsage =
    "usage: meshca revoke PLAN --out DIR (--serial HEX | --cert FILE) --reason REASON [--issuer root|MESH/CLUSTER]\n"
    "       meshca revoke PLAN --out DIR --resume\n"
    "\n"
    "Records the certificate in DIR/revocations.json and reissues the CRLs that list it: revoking an\n"
    "intermediate (issued by the root) opens the root key and writes a new root CRL into every bundle's\n"
    "ca-crl.pem; revoking a workload certificate reissues its intermediate's CRL (no root key needed).\n"
    "Bundles are rewritten atomically; the transcript records the session. The plan must set\n"
    "revocation.crl: true.\n"
    "\n"
    "The revocation is recorded in the ledger before any CRL is published. A session that was cut\n"
    "short (crash, kill, full disk) stays recorded as unfinished, and every command that issues CRLs\n"
    "refuses to run until --resume has reissued every CRL from the ledger.\n"
    "\n"
    "example: meshca revoke plan.yaml --out out/ --cert out/prod/east/ca-cert.pem --reason keyCompromise";

constexpr const char* kCrlUsage =
    "usage: meshca crl <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  refresh PLAN --out DIR  reissue the root CRL and every intermediate's CRL (fresh thisUpdate and\n"
    "                          nextUpdate, same revocations), and rewrite every bundle's ca-crl.pem\n"
    "  import PLAN --out DIR --crl FILE [--new-root]\n"
    "                          a root under the corporate CA: the corporate CAs' new CRLs into every bundle\n"
    "                          (--new-root: into a rotation's new root, prepared with root import --new-root)";

constexpr const char* kRefreshUsage =
    "usage: meshca crl refresh PLAN --out DIR [options]\n"
    "\n"
    "Reissues the root CRL and every intermediate's CRL with a fresh thisUpdate and nextUpdate (the same\n"
    "revocations) and rewrites every bundle's ca-crl.pem; run it before the plan's next_update passes.\n"
    "\n"
    "example: MESHCA_ROOT_PASS=... meshca crl refresh plan.yaml --out out/";

constexpr const char* kImportUsage =
    "usage: meshca crl import PLAN --out DIR --crl FILE [--new-root] [options]\n"
    "\n"
    "For a root under the corporate CA (root.issuer: external) with revocation.crl: every bundle's\n"
    "ca-crl.pem carries, after its intermediate's and the root's CRLs, one CRL from each corporate CA above\n"
    "the root (Istio refuses every peer otherwise). Corporate CRLs expire on the corporate CA's schedule:\n"
    "import each new set before the old one's nextUpdate. FILE must hold exactly one CRL from every CA of\n"
    "DIR/root/issuer-chain.pem, valid now and revoking none of the chain; it is checked before anything\n"
    "is written, then DIR/root/issuer-crls.pem and every bundle are rewritten (each intermediate's CRL\n"
    "reissued with the bundle's key). The root key is not needed.\n"
    "\n"
    "With --new-root: the same for a rotation's new root under the corporate CA (rotation.new_root, issuer:\n"
    "external), in the directory meshca root import --new-root wrote (DIR/root/issuer-crls.pem only; the\n"
    "rotation copies the CRLs into its phases).\n"
    "\n"
    "example: meshca crl import plan.yaml --out out/ --crl corp-crls.pem";

void print_revocation(const ceremony::RevocationResult& r, const std::filesystem::path& out, std::ostream& os) {
  if (r.revoked) {
    const auto& e = *r.revoked;
    os << (r.already_revoked ? "already revoked: " : "revoked: ") << (e.subject.empty() ? "serial " + e.serial : e.subject)
       << " (serial " << e.serial << ", issuer " << e.issuer << ", reason " << pki::revocation_reason_name(e.reason)
       << ", " << format_rfc3339(e.revoked_at) << ")\n";
    if (r.already_revoked) {
      os << "nothing was written\n";
      return;
    }
  }
  if (r.root_crl_issued) os << "root CRL: " << (out / "root" / ceremony::kRootCrlFile).string() << "\n";
  if (r.issuer_crls_imported) os << "corporate CRLs: " << (out / "root" / ceremony::kIssuerCrlsFile).string() << "\n";
  os << r.bundles_rewritten << " bundle" << (r.bundles_rewritten == 1 ? "" : "s") << " rewritten with a new ca-crl.pem\n"
     << "checksums: " << (out / "SHA256SUMS").string() << " (" << r.files_checksummed << " files)\n"
     << "transcript: " << (out / "transcript.jsonl").string() << " (head " << r.transcript_head << ")\n";
}

int run_session(const po::variables_map& vm, Terminal& term, std::optional<ceremony::RevokeTarget> target, bool resume = false,
                const std::string& issuer_crls = "") {
  ceremony::RevocationOptions opt;
  opt.target = std::move(target);
  opt.resume = resume;
  opt.issuer_crls_file = issuer_crls;
  return run_signing_session(vm, term, std::move(opt), ceremony::run_revocation, print_revocation);
}

ceremony::RevokeTarget revoke_target(const po::variables_map& vm) {
  ceremony::RevokeTarget t;
  if (vm.count("serial") == vm.count("cert")) throw Error(ErrorKind::usage, "give exactly one of --serial HEX and --cert FILE");
  if (vm.count("serial")) t.serial = vm["serial"].as<std::string>();
  if (vm.count("cert")) t.cert = vm["cert"].as<std::string>();
  if (vm.count("issuer")) t.issuer = vm["issuer"].as<std::string>();
  const std::string reason = vm["reason"].as<std::string>();
  auto parsed = pki::parse_revocation_reason(reason);
  if (!parsed) {
    throw Error(ErrorKind::usage, "--reason: '" + reason + "' is not a reason; use one of " + pki::revocation_reason_choices());
  }
  t.reason = *parsed;
  return t;
}

int crl_refresh(const Args& args, Terminal& term) {
  po::options_description options("meshca crl refresh");
  add_signing_session_options(options);
  po::variables_map vm;
  if (!parse_signing_command(args, options, kRefreshUsage, term, vm)) return 0;
  return run_session(vm, term, std::nullopt);
}

int crl_import(const Args& args, Terminal& term) {
  po::options_description options("meshca crl import");
  add_signing_session_options(options);
  options.add_options()("crl", po::value<std::string>()->required(),
                        "the corporate CAs' CRLs (PEM), one from every CA above the root, the anchor's included")(
      "new-root", po::bool_switch(), "the plan's rotation.new_root, in the directory of meshca root import --new-root");
  po::variables_map vm;
  if (!parse_signing_command(args, options, kImportUsage, term, vm)) return 0;
  const std::string crl = vm["crl"].as<std::string>();
  if (!vm["new-root"].as<bool>()) return run_session(vm, term, std::nullopt, false, crl);
  return run_signing_session(
      vm, term, ceremony::SigningSessionOptions{},
      [&](const ceremony::Plan& plan, const ceremony::SigningSessionOptions& opt) {
        return ceremony::import_new_root_crls(plan, opt, crl);
      },
      [](const ceremony::NewRootCrlsResult& r, const std::filesystem::path&, std::ostream& os) {
        os << "corporate CRLs of the new root: " << r.crls_file.string() << " (sha256 " << r.sha256 << ")\n"
           << "transcript head: " << r.transcript_head << "\n";
      });
}

}  // namespace

int run_revoke(const Args& args, Terminal& term) {
  po::options_description options("meshca revoke");
  add_signing_session_options(options);
  options.add_options()("serial", po::value<std::string>(), "serial number (hex) of the certificate to revoke")(
      "cert", po::value<std::string>(), "the certificate to revoke (PEM)")(
      "resume", "finish the unfinished revocation session recorded in DIR/revocations.json")(
      "reason", po::value<std::string>(), ("RFC 5280 reason: " + pki::revocation_reason_choices()).c_str())(
      "issuer", po::value<std::string>(), "root, or MESH/CLUSTER for a workload certificate named by --serial");
  po::variables_map vm;
  if (!parse_signing_command(args, options, kRevokeUsage, term, vm)) return 0;
  if (vm.count("resume")) {
    if (vm.count("serial") || vm.count("cert") || vm.count("reason")) {
      throw Error(ErrorKind::usage, "--resume takes no --serial, --cert or --reason: it finishes the recorded session");
    }
    return run_session(vm, term, std::nullopt, true);
  }
  if (!vm.count("reason")) throw Error(ErrorKind::usage, "--reason is required (" + pki::revocation_reason_choices() + ")");
  return run_session(vm, term, revoke_target(vm));
}

int run_crl(const Args& args, Terminal& term) {
  return dispatch_subcommand("crl", kCrlUsage, {{"refresh", crl_refresh}, {"import", crl_import}}, args, term);
}

}  // namespace meshca::cli
