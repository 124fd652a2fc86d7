// meshca rotate phases
#include <iostream>

#include "ceremony/rotation.hpp"
#include "cli/signing_session.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kRotateUsage =
    "usage: meshca rotate <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  phases PLAN --out DIR   write every cluster's bundle for each phase of the plan's root rotation\n"
    "                          (Istio's multi-root procedure: trust both roots, issue from the new root,\n"
    "                          retire the old root), verified to interoperate phase by phase";

constexpr const char* kPhasesUsage =
    "usage: meshca rotate phases PLAN --out DIR [--new-root-dir DIR]\n"
    "\n"
    "Reads the plan's rotation section (the root in service and its successor) and the current output\n"
    "(rotation.current_output) or the CA the mesh already runs (rotation.current_ca: an istiod self-signed\n"
    "CA, a tools/certs cacerts directory or Secret, a PEM root; pinned by SHA-256, its key never read: the\n"
    "phase-1 bundles are then public-only, completed near each cluster with meshca bundle assemble),\n"
    "creates or loads the new root key, issues the new root (and, with\n"
    "cross_sign, the new root certified by the old one) and a new intermediate per cluster, and writes\n"
    "DIR/phase-1, phase-2 and phase-3, each with every cluster's bundle, plus DIR/PHASES.md (what to do\n"
    "in each phase), DIR/root/, SHA256SUMS and a transcript. Before publishing DIR (whole, or not at all)\n"
    "it verifies every bundle and that clusters in adjacent phases accept each other's workloads.\n"
    "A new root under the corporate CA (rotation.new_root.issuer: external) is not issued here: make its\n"
    "key and CSR with meshca root csr PLAN --new-root --out NEWROOT, have the corporate CA sign it, import\n"
    "it with meshca root import PLAN --new-root --out NEWROOT ..., then pass --new-root-dir NEWROOT.\n"
    "\n"
    "example: MESHCA_ROOT_PASS=... MESHCA_NEW_ROOT_PASS=... meshca rotate phases plan.yaml --out rotation/";

void print_rotation_summary(const ceremony::RotationResult& r, const std::filesystem::path& out, std::ostream& os) {
  os << "\ncurrent root: " << r.old_root.subject << " (sha256 " << r.old_root.sha256 << ")\n"
     << "new root:     " << r.new_root.subject << " (serial " << r.new_root.serial << ")\n"
     << "  key:        " << r.new_root_key_store << (r.new_root_key_generated ? " [generated in this run]" : "") << "\n"
     << "  sha256:     " << r.new_root.sha256 << "\n"
     << "  valid:      " << format_rfc3339(r.new_root.not_before) << " .. " << format_rfc3339(r.new_root.not_after) << "\n";
  if (r.cross_signed) {
    os << "cross-signed: " << r.cross_signed->subject << " by the current root (serial " << r.cross_signed->serial
       << ", until " << format_rfc3339(r.cross_signed->not_after) << ")\n";
  }
  os << "\n" << r.clusters.size() << " cluster" << (r.clusters.size() == 1 ? "" : "s") << " rotated; "
     << r.bundles_verified << " bundles verified (phases 0-3)\n";
  for (const auto& p : r.interop) {
    os << "  phase " << p.a << (p.expected ? " <-> " : "  x  ") << "phase " << p.b << ": "
       << (p.expected ? (p.a == 0 && p.b == 3 ? "accept each other's workloads (both roots chain to one corporate anchor)"
                                              : "accept each other's workloads")
                      : "refuse each other (the old root is retired)")
       << "\n";
  }
  os << "\nnext: follow " << (out / ceremony::kRotationRunbookFile).string() << ", one phase at a time\n"
     << "checksums: " << (out / "SHA256SUMS").string() << " (" << r.files_checksummed << " files)\n"
     << "plan digest: " << r.plan_digest << "\n"
     << "transcript: " << (out / "transcript.jsonl").string() << " (head " << r.transcript_head << ")\n";
}

int rotate_phases(const Args& args, Terminal& term) {
  po::options_description options("meshca rotate phases");
  add_signing_session_options(options);
  options.add_options()("new-root-dir", po::value<std::string>(),
                        "a new root under the corporate CA: the directory meshca root import --new-root wrote");
  po::variables_map vm;
  if (!parse_signing_command(args, options, kPhasesUsage, term, vm)) return 0;
  ceremony::RotationOptions opt;
  if (vm.count("new-root-dir")) opt.new_root_dir = vm["new-root-dir"].as<std::string>();
  return run_signing_session(vm, term, opt, ceremony::run_rotation, print_rotation_summary);
}

}  // namespace

int run_rotate(const Args& args, Terminal& term) {
  return dispatch_subcommand("rotate", kRotateUsage, {{"phases", rotate_phases}}, args, term);
}

}  // namespace meshca::cli
