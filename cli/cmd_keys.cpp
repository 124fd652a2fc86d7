// meshca csr create PLAN --cluster MESH/CLUSTER --out DIR
// meshca bundle assemble PUBLIC_DIR --key KEY --out DIR
//
// The two steps near a cluster whose key never comes to the ceremony room
// (ceremony/cluster_keys.hpp): make the key and its CSR, then complete the
// public-only bundle the room wrote with that key.
#include <iostream>

#include "ceremony/cluster_keys.hpp"
#include "cli/terminal.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kCsrUsage =
    "usage: meshca csr create PLAN --cluster MESH/CLUSTER --out DIR\n"
    "\n"
    "commands:\n"
    "  create PLAN --cluster MESH/CLUSTER --out DIR\n"
    "                          make a cluster's key and CSR where the cluster runs; print the pin for the plan";

constexpr const char* kCsrCreateUsage =
    "usage: meshca csr create PLAN --cluster MESH/CLUSTER --out DIR\n"
    "\n"
    "Makes the cluster's intermediate key (the plan's key algorithm for that cluster) as DIR/ca-key.pem (0600)\n"
    "and its CSR as DIR/ca.csr.pem, and prints the key's SPKI SHA-256. Pin it in the plan so the ceremony\n"
    "signs exactly this key, and carry only the CSR to the room:\n"
    "  intermediate: {csr: {path: ca.csr.pem, spki_sha256: <the printed value>}}\n"
    "The CSR's subject is informational: the plan decides every field of the certificate. Nothing is\n"
    "overwritten.\n"
    "\n"
    "example: meshca csr create plan.yaml --cluster prod/us-east-1 --out keys/prod-us-east-1/";

constexpr const char* kBundleUsage =
    "usage: meshca bundle assemble PUBLIC_DIR --key KEY --out DIR\n"
    "\n"
    "commands:\n"
    "  assemble PUBLIC_DIR --key KEY --out DIR\n"
    "                          complete a public-only bundle with the cluster's own key";

constexpr const char* kAssembleUsage =
    "usage: meshca bundle assemble PUBLIC_DIR --key KEY --out DIR\n"
    "\n"
    "Completes the public-only bundle a ceremony wrote for a cluster that keeps its key (PUBLIC_DIR holds\n"
    "ca-cert.pem, cert-chain.pem, root-cert.pem and public-bundle.yaml) with that key: checks that KEY is\n"
    "the key ca-cert.pem certifies, writes every layout and manifest the plan asked for into the new\n"
    "directory DIR, and publishes it only after the whole bundle passes meshca verify. DIR must not exist.\n"
    "\n"
    "example: meshca bundle assemble out/prod/us-east-1 --key keys/prod-us-east-1/ca-key.pem --out cacerts/";

int csr_create(const Args& args, Terminal& term) {
  po::options_description options("meshca csr create");
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan")(
      "cluster", po::value<std::string>()->required(), "MESH/CLUSTER: whose key to make")(
      "out", po::value<std::string>()->required(), "the directory for ca-key.pem and ca.csr.pem (created 0700)");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, kCsrCreateUsage)) return 0;
  const auto [mesh, cluster] = parse_cluster_id(vm["cluster"].as<std::string>());
  // The plan may already name the CSR this command is about to make.
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now_utc(), ceremony::PinnedKeyFiles::skip);
  auto made = ceremony::create_cluster_csr(plan, mesh, cluster, vm["out"].as<std::string>());
  term.out << made.spki_sha256 << "\n";
  term.err << "meshca: wrote " << made.key_file.string() << " (" << pki::key_algorithm_name(made.algorithm)
           << ", 0600: it stays with the cluster) and " << made.csr_file.string() << "\n"
           << "meshca: pin it in the plan, cluster " << cluster << " of mesh " << mesh << ":\n"
           << "  intermediate: {csr: {path: " << made.csr_file.filename().string() << ", spki_sha256: " << made.spki_sha256 << "}}\n";
  return 0;
}

int bundle_assemble(const Args& args, Terminal& term) {
  po::options_description options("meshca bundle assemble");
  options.add_options()("help,h", "this help")("bundle", po::value<std::string>()->required(),
                                               "the public-only bundle directory the ceremony wrote")(
      "key", po::value<std::string>()->required(), "the cluster's private key (PEM), as meshca csr create made it")(
      "out", po::value<std::string>()->required(), "the directory to create (must not exist)");
  po::positional_options_description positionals;
  positionals.add("bundle", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, kAssembleUsage)) return 0;
  auto result = ceremony::assemble_bundle(vm["bundle"].as<std::string>(), vm["key"].as<std::string>(), vm["out"].as<std::string>());
  term.out << "assembled " << result.dir.string() << ": " << result.files.size() << " files, verified (" << result.warnings << " warning"
           << (result.warnings == 1 ? "" : "s") << "; run meshca verify " << result.dir.string() << " for details)\n";
  for (const auto& f : result.files) term.out << "  " << f << "\n";
  return 0;
}

}  // namespace

int run_csr(const Args& args, Terminal& term) { return dispatch_subcommand("csr", kCsrUsage, {{"create", csr_create}}, args, term); }

int run_bundle(const Args& args, Terminal& term) {
  return dispatch_subcommand("bundle", kBundleUsage, {{"assemble", bundle_assemble}}, args, term);
}

}  // namespace meshca::cli
