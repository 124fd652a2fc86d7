#include "cli/signing_session.hpp"

#include <unistd.h>

#include <iostream>

#include "core/files.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::cli {

void add_signing_session_options(po::options_description& options) {
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file")(
      "out,o", po::value<std::string>()->required(), "output directory (created 0700 when missing)")(
      "quiet,q", "no progress lines on stderr")("expect-digest", po::value<std::string>(),
                                                "refuse the plan unless its digest (meshca plan digest) is this")(
      "yes,y", "unattended: do not ask the operator to confirm the plan digest (recorded in the transcript)")(
      "operator", po::value<std::string>(), "name of the operator, for the transcript")(
      "witness", po::value<std::vector<std::string>>()->composing(), "name of a witness (repeatable)")(
      "jobs,j", po::value<unsigned>()->default_value(0), "worker threads for per-cluster issuance (0: one per core)")(
      "wait", "when another meshca run holds the output directory, wait for it instead of refusing (exit 5)")(
      "shares-dir", po::value<std::string>(),
      "a root passphrase or token PIN held as custodians' shares: the directory their share files are written to (new key) or "
      "read from (existing key; without it each custodian types their share); never inside --out");
}

namespace {

// Shares are secrets: they never go where public output goes.
std::filesystem::path shares_directory(const po::variables_map& vm, const std::filesystem::path& out_dir) {
  if (!vm.count("shares-dir")) return {};
  std::filesystem::path dir = vm["shares-dir"].as<std::string>();
  const auto dir_abs = resolved_path(dir, ErrorKind::usage).string() + "/";
  const auto out_abs = resolved_path(out_dir, ErrorKind::usage).string() + "/";
  if (dir_abs.starts_with(out_abs) || out_abs.starts_with(dir_abs)) {
    throw Error(ErrorKind::usage, "--shares-dir must not be inside the output directory, nor hold it: shares never enter OUT",
                dir.string());
  }
  return dir;
}

}  // namespace

void fill_signing_session(const po::variables_map& vm, const std::filesystem::path& plan_dir, Terminal& term,
                          UnixTime now, std::unique_ptr<ProgressReporter>& progress,
                          ceremony::SigningSessionOptions& session) {
  session.out_dir = vm["out"].as<std::string>();
  session.now = now;
  // One module set for the whole command: the runner, a rotation's two
  // stores and a revocation all load each PKCS#11 module once through it.
  session.key_context = {plan_dir, term.prompt, std::make_shared<hsm::Pkcs11Modules>(), shares_directory(vm, session.out_dir)};
  if (vm.count("expect-digest")) session.expected_digest = vm["expect-digest"].as<std::string>();
  session.assume_yes = vm.count("yes") > 0;
  session.confirm = terminal_confirm();
  if (vm.count("operator")) session.operator_name = vm["operator"].as<std::string>();
  if (vm.count("witness")) session.witnesses = vm["witness"].as<std::vector<std::string>>();
  session.versions = component_versions();
  session.jobs = vm["jobs"].as<unsigned>();
  session.wait_for_lock = vm.count("wait") > 0;
  std::ostream* err = &term.err;
  session.on_lock_wait = [err](const std::string& holder) {
    *err << "meshca: the output directory is in use by " << holder << "; waiting for it to finish\n";
  };
  if (vm.count("quiet")) return;
  progress = std::make_unique<ProgressReporter>(term.err, ::isatty(STDERR_FILENO) == 1);
  ProgressReporter* reporter = progress.get();
  session.on_event = [reporter](const ceremony::CeremonyEvent& e) { reporter->on_event(e); };
}

bool parse_signing_command(const Args& args, const po::options_description& options, const char* usage, Terminal& term,
                           po::variables_map& vm) {
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  return parse_command_line(args, options, positionals, vm, term.out, usage);
}

}  // namespace meshca::cli
