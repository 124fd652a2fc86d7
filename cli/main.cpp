// meshca: offline PKI ceremonies and Istio cacerts bundles from one plan.
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/terminal.hpp"

namespace meshca::cli {
int run_export(const Args& args, Terminal& term);  // cli/cmd_export.cpp
int run_rotate(const Args& args, Terminal& term);  // cli/cmd_rotate.cpp
int run_revoke(const Args& args, Terminal& term);  // cli/cmd_revoke.cpp
int run_crl(const Args& args, Terminal& term);     // cli/cmd_revoke.cpp
int run_csr(const Args& args, Terminal& term);     // cli/cmd_keys.cpp
int run_bundle(const Args& args, Terminal& term);  // cli/cmd_keys.cpp
int run_root(const Args& args, Terminal& term);    // cli/cmd_root.cpp
int run_trust(const Args& args, Terminal& term);   // cli/cmd_trust.cpp
}  // namespace meshca::cli

namespace {

constexpr const char* kUsage =
    "meshca: offline PKI ceremonies and service-mesh CA bundles from one YAML plan\n"
    "\n"
    "usage: meshca <command> [options]\n"
    "\n"
    "commands:\n"
    "  plan init|validate|show|digest|diff\n"
    "                          example plans; strict validation; the auditor's views\n"
    "  ceremony run            generate/load the root key, sign every intermediate, write bundles\n"
    "  root csr|import PLAN --out DIR\n"
    "                          a root under the corporate CA: the root key's CSR; the signed certificate\n"
    "  rotate phases PLAN --out DIR\n"
    "                          the plan's root rotation: one verified directory per Istio multi-root phase\n"
    "  revoke PLAN --out DIR (--serial HEX | --cert FILE) --reason R\n"
    "                          revoke a certificate; reissue the CRLs (ca-crl.pem) that list it\n"
    "  crl refresh PLAN --out DIR\n"
    "                          reissue every CRL before its nextUpdate passes\n"
    "  hsm list|keygen         inspect a PKCS#11 token; generate a key inside it\n"
    "  csr create PLAN --cluster MESH/CLUSTER --out DIR\n"
    "                          make a cluster's key and CSR near the cluster (the key never goes to the room)\n"
    "  bundle assemble PUBLIC_DIR --key KEY --out DIR\n"
    "                          complete a public-only bundle with the cluster's own key, verified\n"
    "  verify DIR|SECRET...    check bundles the way istiod and a verifying peer do\n"
    "  inspect FILE|DIR|SECRET show every certificate and the chain as a tree\n"
    "  check-expiry DIR...     exit 1 when a certificate expires within --within\n"
    "  transcript verify       check a ceremony transcript's hash chain and file digests\n"
    "  audit OUT PLAN          prove an output is what the approved plan describes\n"
    "  trust check PLAN OUT [OUT2...]\n"
    "                          which clusters accept each other's workloads, against what the plan says\n"
    "  export OUT --cluster MESH/CLUSTER --tar FILE\n"
    "                          a deterministic archive of one cluster's bundle, with its SHA-256\n"
    "\n"
    "options:\n"
    "  -h [ --help ]           this help (every command has its own --help)\n"
    "  --version               version of meshca and of the libraries it runs on\n"
    "\n"
    "exit codes: 0 ok, 1 a check failed, 2 usage, 3 invalid input, 4 key store/HSM,\n"
    "            5 output refused or I/O, 70 internal error\n";

// Secrets are held in this process: keep them out of core dumps, and make
// every file we create private unless we widen it on purpose.
void harden_process() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::umask(077);
  // A file-size limit must end in an error naming the file (exit 5), not a
  // signal that kills the process mid-bundle.
  ::signal(SIGXFSZ, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace meshca;
  harden_process();
  cli::Args args(argv + 1, argv + argc);
  cli::Terminal term{std::cout, std::cerr, cli::terminal_prompt()};
  try {
    cli::reject_secret_arguments(args);
    if (args.empty()) {
      // A usage error: the usage goes where errors go, not into a pipe.
      term.err << kUsage;
      return static_cast<int>(ExitCode::usage);
    }
    if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
      term.out << kUsage;
      return 0;
    }
    if (args[0] == "--version") {
      auto versions = cli::component_versions();
      term.out << "meshca " << versions["meshca"] << " (" << versions["openssl"] << "; libp11 " << versions["libp11"]
               << ")\n";
      return 0;
    }
    const std::map<std::string, int (*)(const cli::Args&, cli::Terminal&)> commands{{"plan", cli::run_plan},
                                                                                    {"ceremony", cli::run_ceremony},
                                                                                    {"hsm", cli::run_hsm},
                                                                                    {"verify", cli::run_verify},
                                                                                    {"inspect", cli::run_inspect},
                                                                                    {"check-expiry", cli::run_check_expiry},
                                                                                    {"transcript", cli::run_transcript},
                                                                                    {"audit", cli::run_audit},
                                                                                    {"export", cli::run_export},
                                                                                    {"rotate", cli::run_rotate},
                                                                                    {"revoke", cli::run_revoke},
                                                                                    {"crl", cli::run_crl},
                                                                                    {"csr", cli::run_csr},
                                                                                    {"bundle", cli::run_bundle},
                                                                                    {"root", cli::run_root},
                                                                                    {"trust", cli::run_trust}};
    auto it = commands.find(args[0]);
    if (it == commands.end()) throw Error(ErrorKind::usage, "unknown command '" + args[0] + "' (see meshca --help)");
    return it->second(cli::Args(args.begin() + 1, args.end()), term);
  } catch (const Error& e) {
    cli::report_error(term.err, e);
    return static_cast<int>(exit_code_for(e.kind()));
  } catch (const std::filesystem::filesystem_error& e) {
    // The libraries call std::filesystem's error_code overloads and throw
    // Error naming the path (core/files.hpp): one arriving here is a bug.
    term.err << "meshca: internal error: " << e.path1().string() << ": " << e.code().message() << "\n";
    return static_cast<int>(ExitCode::internal);
  } catch (const std::exception& e) {
    term.err << "meshca: internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::internal);
  }
}
