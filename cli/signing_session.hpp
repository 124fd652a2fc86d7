// What the commands that sign share (meshca ceremony run, meshca rotate
// phases, meshca revoke, meshca crl refresh): the options that approve a
// plan and name the people in the room, the key store context, progress on
// stderr, and the run itself from the plan to the printed summary.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>

#include "ceremony/issuance.hpp"
#include "cli/terminal.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::cli {

// --plan, --out, --quiet, --expect-digest, --yes, --operator, --witness, --jobs.
void add_signing_session_options(po::options_description& options);

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

// Fills `session` from the parsed options; progress goes to term.err (the
// reporter is kept alive in `progress`) unless --quiet.
void fill_signing_session(const po::variables_map& vm, const std::filesystem::path& plan_dir, Terminal& term,
                          UnixTime now, std::unique_ptr<ProgressReporter>& progress,
                          ceremony::SigningSessionOptions& session);

// Parses a signing command's arguments against `options`
// (add_signing_session_options and the command's own), PLAN being the one
// positional argument; false when --help was shown.
bool parse_signing_command(const Args& args, const po::options_description& options, const char* usage, Terminal& term,
                           po::variables_map& vm);

// The rest of a signing command, once it has set its own fields of `opt`:
// loads the plan named on the command line, fills the session fields of
// `opt` (fill_signing_session), calls the library (`run(plan, opt)`) with
// progress on stderr, and prints its result (`print(result, OUT, stdout)`)
// once the progress display is done.
template <class Options, class Run, class Print>
int run_signing_session(const po::variables_map& vm, Terminal& term, Options opt, Run run, Print print) {
  const UnixTime now = now_utc();
  const auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now);
  std::unique_ptr<ProgressReporter> progress;
  fill_signing_session(vm, plan.base_dir, term, now, progress, opt);
  const auto result = run(plan, opt);
  progress.reset();
  print(result, opt.out_dir, term.out);
  return 0;
}

}  // namespace meshca::cli
