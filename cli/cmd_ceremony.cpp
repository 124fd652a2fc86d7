// meshca ceremony run
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "ceremony/plan_parser.hpp"
#include "ceremony/runner.hpp"
#include "cli/terminal.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kCeremonyUsage =
    "usage: meshca ceremony <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  run PLAN --out DIR   run the ceremony the plan describes and write every bundle under DIR";

// Progress on stderr: a bar with count, rate and ETA on a terminal; on a
// pipe or log, every event for small plans and a line per 10% for fleets.
class ProgressReporter {
 public:
  ProgressReporter(std::ostream& err, bool terminal)
      : err_(err), terminal_(terminal), start_(std::chrono::steady_clock::now()) {}

  void on_event(const ceremony::CeremonyEvent& e) {
    using Kind = ceremony::CeremonyEvent::Kind;
    bool cluster = e.kind == Kind::cluster_issued || e.kind == Kind::cluster_skipped;
    if (!cluster) {
      finish_bar();
      err_ << "meshca: " << e.message << "\n";
      return;
    }
    if (terminal_) {
      draw_bar(e.done, e.total);
    } else if (e.total <= kEveryEventUpTo) {
      err_ << "meshca: [" << e.done << "/" << e.total << "] " << e.message << "\n";
    } else if (e.done * 10 / e.total != last_decile_ || e.done == e.total) {
      last_decile_ = e.done * 10 / e.total;
      err_ << "meshca: " << e.done << "/" << e.total << " clusters (" << e.done * 100 / e.total << "%), "
           << static_cast<long>(rate(e.done)) << "/s\n";
    }
  }
  ~ProgressReporter() { finish_bar(); }

 private:
  static constexpr std::size_t kEveryEventUpTo = 50;
  static constexpr int kBarWidth = 30;

  double rate(std::size_t done) const {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return seconds > 0 ? static_cast<double>(done) / seconds : 0;
  }

  void draw_bar(std::size_t done, std::size_t total) {
    auto now = std::chrono::steady_clock::now();
    if (done != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    int filled = static_cast<int>(kBarWidth * done / std::max<std::size_t>(1, total));
    double r = rate(done);
    long eta = r > 0 ? static_cast<long>(static_cast<double>(total - done) / r) : 0;
    err_ << "\r[" << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] " << done << "/" << total
         << "  " << static_cast<long>(r) << "/s  ETA " << eta << "s  " << std::flush;
    bar_shown_ = true;
  }

  void finish_bar() {
    if (bar_shown_) err_ << "\n";
    bar_shown_ = false;
  }

  std::ostream& err_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::size_t last_decile_ = 0;
  bool bar_shown_ = false;
};

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
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file")(
      "out,o", po::value<std::string>()->required(), "output directory (created 0700 when missing)")(
      "quiet,q", "no progress lines on stderr")(
      "expect-digest", po::value<std::string>(), "refuse the plan unless its digest (meshca plan digest) is this")(
      "yes,y", "unattended: do not ask the operator to confirm the plan digest (recorded in the transcript)")(
      "operator", po::value<std::string>(), "name of the operator, for the transcript")(
      "witness", po::value<std::vector<std::string>>()->composing(), "name of a witness (repeatable)")(
      "jobs,j", po::value<unsigned>()->default_value(0), "worker threads for per-cluster issuance (0: one per core)")(
      "renew", po::value<std::vector<std::string>>()->composing(),
      "MESH/CLUSTER: issue a fresh intermediate (new key) for this existing bundle; the old one moves to "
      "OUT/retired/ (repeatable)")(
      "renew-expiring", po::value<std::string>(), "renew every bundle whose intermediate expires within this duration (e.g. 60d)");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, "usage: meshca ceremony run PLAN --out DIR")) return 0;

  UnixTime now = now_utc();
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now);
  ceremony::CeremonyOptions opt;
  opt.out_dir = vm["out"].as<std::string>();
  opt.now = now;
  opt.key_context = {plan.base_dir, term.prompt};
  if (vm.count("expect-digest")) opt.expected_digest = vm["expect-digest"].as<std::string>();
  opt.assume_yes = vm.count("yes") > 0;
  opt.confirm = terminal_confirm();
  if (vm.count("operator")) opt.operator_name = vm["operator"].as<std::string>();
  if (vm.count("witness")) opt.witnesses = vm["witness"].as<std::vector<std::string>>();
  opt.versions = component_versions();
  opt.jobs = vm["jobs"].as<unsigned>();
  if (vm.count("renew")) opt.renew = vm["renew"].as<std::vector<std::string>>();
  if (vm.count("renew-expiring")) {
    std::string error;
    opt.renew_expiring = parse_duration(vm["renew-expiring"].as<std::string>(), error);
    if (!opt.renew_expiring) throw Error(ExitCode::usage, "--renew-expiring: " + error);
  }
  ProgressReporter progress(term.err, ::isatty(STDERR_FILENO) == 1);
  if (!vm.count("quiet")) opt.on_event = [&progress](const ceremony::CeremonyEvent& e) { progress.on_event(e); };
  auto result = ceremony::run_ceremony(plan, opt);
  print_summary(result, opt.out_dir, term.out);
  return 0;
}

}  // namespace

int run_ceremony(const Args& args, Terminal& term) {
  return dispatch_subcommand("ceremony", kCeremonyUsage, {{"run", ceremony_run}}, args, term);
}

}  // namespace meshca::cli
