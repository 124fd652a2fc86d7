// meshca root csr PLAN --out DIR
// meshca root import PLAN --out DIR --cert CERT --chain CHAIN
//
// A mesh root certified by the corporate CA (root.issuer: external,
// ceremony/external_root.hpp): the root key's CSR for the corporate CA, then
// the certificate it issued, checked and imported before `ceremony run`.
#include <iostream>
#include <optional>

#include "ceremony/conformance.hpp"
#include "ceremony/external_root.hpp"
#include "cli/signing_session.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kRootUsage =
    "usage: meshca root <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  csr PLAN --out DIR     make (or load) the root key and write DIR/root/root.csr.pem for the corporate CA\n"
    "  import PLAN --out DIR --cert CERT --chain CHAIN\n"
    "                         check the certificate the corporate CA issued and import it with its chain\n"
    "  (with --new-root, both work on a rotation's new root, rotation.new_root, in a directory of its own)";

constexpr const char* kRootCsrUsage =
    "usage: meshca root csr PLAN --out DIR [--new-root] [options]\n"
    "\n"
    "For a plan whose root is certified by the corporate CA (root.issuer: external): opens the root key\n"
    "the plan names (generating it in the token or key file on first use, as meshca ceremony run does) and\n"
    "writes DIR/root/root.csr.pem, a PKCS#10 request with the plan's root subject, signed by the root key.\n"
    "The corporate CA signs it with its own process; then run meshca root import. Records a transcript\n"
    "session; never overwrites.\n"
    "With --new-root, the same for the plan's rotation.new_root (issuer: external): DIR is a new directory\n"
    "that holds only the new root (never the current output); meshca rotate phases --new-root-dir DIR reads it.\n"
    "\n"
    "example: MESHCA_ROOT_PASS=... meshca root csr plan.yaml --out out/ --expect-digest HEX";

constexpr const char* kRootImportUsage =
    "usage: meshca root import PLAN --out DIR --cert CERT --chain CHAIN [--crl CRLS] [--new-root] [options]\n"
    "\n"
    "Imports the root certificate the corporate CA issued for the CSR of meshca root csr. Before anything\n"
    "is written it checks that CERT certifies the plan's root key (the key store is opened and the public\n"
    "keys compared), carries the plan's subject, is CA:TRUE with keyCertSign, that every pathLen of the\n"
    "chain leaves room for the plan's hierarchy, that its validity and the corporate CAs' cover every\n"
    "planned intermediate, and that it verifies strictly through CHAIN (the corporate intermediates and\n"
    "the anchor) to the anchor whose SHA-256 is root.external.anchor_sha256. Writes DIR/root/root-cert.pem\n"
    "and DIR/root/issuer-chain.pem, records a transcript session, never replaces an imported root.\n"
    "With revocation.crl, --crl CRLS gives the corporate CAs' CRLs (one from each CA of CHAIN, valid now,\n"
    "revoking none of the chain), written as DIR/root/issuer-crls.pem; meshca crl import replaces them.\n"
    "With --new-root: the plan's rotation.new_root, into the directory of meshca root csr --new-root.\n"
    "\n"
    "example: meshca root import plan.yaml --out out/ --cert org-ca.pem --chain corp-chain.pem";

// What both root commands start with: their arguments, the plan, and the
// signing session's options.
struct RootCommand {
  po::variables_map vm;
  std::optional<ceremony::Plan> plan;
  ceremony::SigningSessionOptions opt;
  std::unique_ptr<ProgressReporter> progress;
  ceremony::RootTarget target = ceremony::RootTarget::root;
};

// False when --help was printed.
bool parse_root_command(const Args& args, po::options_description& options, const char* usage, Terminal& term, RootCommand& cmd) {
  options.add_options()("new-root", po::bool_switch(), "the plan's rotation.new_root instead of its root");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  if (!parse_command_line(args, options, positionals, cmd.vm, term.out, usage)) return false;
  const UnixTime now = now_utc();
  cmd.plan = ceremony::load_plan(cmd.vm["plan"].as<std::string>(), now);
  fill_signing_session(cmd.vm, cmd.plan->base_dir, term, now, cmd.progress, cmd.opt);
  cmd.target = cmd.vm["new-root"].as<bool>() ? ceremony::RootTarget::rotation_new_root : ceremony::RootTarget::root;
  return true;
}

int root_csr(const Args& args, Terminal& term) {
  po::options_description options("meshca root csr");
  add_signing_session_options(options);
  RootCommand cmd;
  if (!parse_root_command(args, options, kRootCsrUsage, term, cmd)) return 0;
  const ceremony::Plan& plan = *cmd.plan;
  const ceremony::SigningSessionOptions& opt = cmd.opt;
  auto r = ceremony::create_root_csr(plan, opt, cmd.target);
  const ceremony::RootPlan& spec = ceremony::target_root(plan, cmd.target);
  const bool new_root = cmd.target == ceremony::RootTarget::rotation_new_root;
  term.out << (new_root ? "new root key: " : "root key: ") << r.key_store << (r.key_generated ? " [generated in this run]" : "") << "\n"
           << "  SPKI SHA-256: " << r.spki_sha256 << "\n"
           << "CSR: " << r.csr_file.string() << " (subject " << spec.subject.to_string() << ")\n"
           << "ask the corporate CA for: CA:TRUE (critical), pathLen " << ceremony::least_root_path_len(plan)
           << " or more, keyUsage keyCertSign, cRLSign (critical), validity " << spec.validity.to_string() << ", under the anchor "
           << spec.anchor_sha256 << "\n"
           << "then: meshca root import " << plan.source.string() << (new_root ? " --new-root" : "") << " --out " << opt.out_dir.string()
           << " --cert CERT --chain CHAIN\n"
           << "transcript head: " << r.transcript_head << "\n";
  return 0;
}

int root_import(const Args& args, Terminal& term) {
  po::options_description options("meshca root import");
  add_signing_session_options(options);
  options.add_options()("cert", po::value<std::string>()->required(), "the root certificate the corporate CA issued (PEM)")(
      "chain", po::value<std::string>()->required(),
      "the corporate CAs above it, up to and including the self-signed anchor (PEM, any order)")(
      "crl", po::value<std::string>(), "with revocation.crl: the corporate CAs' CRLs, one from each CA of CHAIN (PEM)");
  RootCommand cmd;
  if (!parse_root_command(args, options, kRootImportUsage, term, cmd)) return 0;
  const ceremony::Plan& plan = *cmd.plan;
  const std::string crl = cmd.vm.count("crl") ? cmd.vm["crl"].as<std::string>() : std::string();
  auto r = ceremony::import_root(plan, cmd.opt, cmd.vm["cert"].as<std::string>(), cmd.vm["chain"].as<std::string>(), crl, cmd.target);
  const bool new_root = cmd.target == ceremony::RootTarget::rotation_new_root;
  term.out << "imported root: " << r.root.subject << " (serial " << r.root.serial << ")\n"
           << "  sha256:   " << r.root.sha256 << "\n"
           << "  valid:    " << format_rfc3339(r.root.not_before) << " .. " << format_rfc3339(r.root.not_after) << "\n"
           << "  issued by:";
  for (const auto& c : r.issuer_chain) term.out << " " << c.subject << " ->";
  term.out << " (anchor " << ceremony::target_root(plan, cmd.target).anchor_sha256 << ")\n"
           << "files: " << r.root_file.string() << ", " << r.chain_file.string() << (r.crls_file.empty() ? "" : ", " + r.crls_file.string())
           << "\n"
           << "transcript head: " << r.transcript_head << "\n";
  if (new_root) {
    term.out << "next: meshca rotate phases " << plan.source.string() << " --out ROTATION --new-root-dir " << cmd.opt.out_dir.string()
             << "\n";
  } else {
    term.out << "next: meshca ceremony run " << plan.source.string() << " --out " << cmd.opt.out_dir.string() << "\n";
  }
  return 0;
}

}  // namespace

int run_root(const Args& args, Terminal& term) {
  return dispatch_subcommand("root", kRootUsage, {{"csr", root_csr}, {"import", root_import}}, args, term);
}

}  // namespace meshca::cli
