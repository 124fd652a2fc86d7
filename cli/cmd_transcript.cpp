// The auditor's commands after a ceremony: meshca transcript verify, meshca audit
#include <algorithm>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "ceremony/audit.hpp"
#include "ceremony/transcript.hpp"
#include "cli/terminal.hpp"
#include "core/files.hpp"
#include "plan/ceremony_script.hpp"
#include "plan/plan_reader.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kTranscriptGroupUsage =
    "usage: meshca transcript <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  verify TRANSCRIPT [--out DIR [--public-only]] [--plan PLAN] [--expect-head HEX]\n"
    "                          check a ceremony transcript's hash chain, its file digests and how each session ended";

constexpr const char* kTranscriptUsage =
    "usage: meshca transcript verify TRANSCRIPT [--out DIR [--public-only]] [--plan PLAN] [--expect-head HEX]\n"
    "\n"
    "Recomputes the hash chain of a ceremony transcript (edited, removed, inserted, reordered\n"
    "or truncated lines are reported by number) and, with --out, the SHA-256 of every file the\n"
    "ceremony recorded, and that OUT holds no file the transcript did not record. Prints the head\n"
    "hash and how each session ended; with --expect-head (the head the witnesses wrote down) the chain\n"
    "must end exactly there. With --public-only, DIR is an auditor's copy from which every file holding a\n"
    "private key was removed: those files may be absent and are listed as not checked.\n"
    "Each ceremony run's records are printed as the numbered steps of its ceremony script (meshca plan\n"
    "script), with the value each step showed, for the witnesses to compare with their sheet; the steps'\n"
    "titles come from PLAN (default: DIR/plan.yaml) when its digest is the session's.\n"
    "\n"
    "example: meshca transcript verify out/transcript.jsonl --out out/ --expect-head HEX";

// How each session of a transcript ended, from its closing records: a chain
// that verifies can still record sessions that failed, and "PASS ... 3
// sessions" must not read as three successful ceremonies.
struct SessionOutcomes {
  std::size_t completed = 0;
  std::vector<std::pair<std::size_t, std::string>> failed;  // line of the closing record, what went wrong
};

SessionOutcomes session_outcomes(const std::string& path) {
  SessionOutcomes outcomes;
  std::string text;
  try {
    text = read_file(path, 1024 * 1024 * 1024);
  } catch (const Error&) {
    return outcomes;  // verify_transcript has reported why it cannot be read
  }
  std::size_t line = 0;
  for (std::size_t start = 0; start < text.size();) {
    auto end = std::min(text.find('\n', start), text.size());
    ++line;
    auto record = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                                        text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    start = end + 1;
    if (!record.is_object() || record.value("step", "") != "close" || !record["details"].is_object()) continue;
    const auto& details = record["details"];
    const std::string outcome = details.value("outcome", "");
    if (outcome == "completed") {
      ++outcomes.completed;
    } else {
      std::string why = details.value("error", "");
      outcomes.failed.emplace_back(line, outcome + (why.empty() ? "" : ": " + why));
    }
  }
  return outcomes;
}

// The ceremony script of the plan a session ran, for the steps' titles: the
// approved plan given with --plan, else the copy the ceremony left in OUT.
// Without one (or for another plan) the records are printed by name.
std::optional<ceremony::CeremonyScript> script_for_titles(const std::string& plan_path, const std::string& out) {
  std::filesystem::path path = !plan_path.empty() ? std::filesystem::path(plan_path) : std::filesystem::path(out) / "plan.yaml";
  if (plan_path.empty() && (out.empty() || !std::filesystem::exists(path))) return std::nullopt;
  // Titles need the pins as the plan writes them, not the CSR files (which
  // OUT's copy would look for relative to OUT).
  try {
    return ceremony::ceremony_steps(ceremony::load_plan(path, now_utc(), ceremony::PinnedKeyFiles::skip));
  } catch (const Error&) {
    if (!plan_path.empty()) throw;  // the plan the auditor named must load
    return std::nullopt;            // the steps are printed by record name
  }
}

// Every scripted session's records in step order, numbered as on the
// witnesses' sheet, with the value each showed; steps of the script that
// have no record are named.
void print_session_steps(const ceremony::TranscriptReport& report, const std::optional<ceremony::CeremonyScript>& script,
                         const std::string& path, std::ostream& os) {
  for (std::size_t n = 0; n < report.session_steps.size(); ++n) {
    const auto& session = report.session_steps[n];
    if (session.records.empty()) continue;
    const bool titled = script && script->plan_digest == session.plan_digest;
    os << "session " << n + 1 << " (" << path << ":" << session.open_line << "), ceremony script steps"
       << (titled ? "" : " (titles: give the session's plan with --plan)") << ":\n";
    auto label = [](std::size_t number) {
      std::string s = "  step " + std::to_string(number);
      s.resize(std::max<std::size_t>(s.size() + 1, 12), ' ');
      return s;
    };
    auto records = session.records;
    std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
    for (const auto& r : records) {
      const auto* step = titled ? script->step(r.number) : nullptr;
      const std::string title = step ? step->title : r.step + (r.subject.empty() ? "" : " " + r.subject);
      os << label(r.number) << title << ": " << r.shows << "  (line " << r.line << ")\n";
    }
    if (!titled) continue;
    for (const auto& step : script->steps) {
      if (std::none_of(records.begin(), records.end(), [&](const auto& r) { return r.number == step.number; })) {
        os << label(step.number) << step.title << ": NO RECORD in this session\n";
      }
    }
  }
}

int transcript_verify(const Args& args, Terminal& term) {
  po::options_description options("meshca transcript verify");
  options.add_options()("help,h", "this help")("transcript", po::value<std::string>()->required(), "the transcript.jsonl file")(
      "out,o", po::value<std::string>(), "the ceremony's output directory: also check every recorded file digest")(
      "expect-head", po::value<std::string>(), "fail unless the chain ends at this head (what the witnesses wrote down)")(
      "public-only", "the --out directory is a copy without the files that hold private keys")(
      "plan", po::value<std::string>(), "the approved plan: titles for the ceremony script's steps (default: OUT/plan.yaml)");
  po::positional_options_description positionals;
  positionals.add("transcript", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, kTranscriptUsage)) return 0;
  std::string path = vm["transcript"].as<std::string>();
  std::string out = vm.count("out") ? vm["out"].as<std::string>() : std::string();
  if (vm.count("public-only") && out.empty()) throw Error(ErrorKind::usage, "--public-only describes the --out directory; give --out");
  auto report =
      ceremony::verify_transcript(path, out, vm.count("public-only") ? ceremony::FileScope::public_copy : ceremony::FileScope::all);
  for (const auto& f : report.not_checked)
    term.out << "NOTE " << out << "/" << f << ": absent from this public copy (holds a private key): not checked\n";
  for (const auto& p : report.problems) {
    term.out << "FAIL " << path << (p.line ? ":" + std::to_string(p.line) : std::string()) << ": " << p.message << "\n";
  }
  if (report.unclosed) term.out << "FAIL " << path << ":" << report.unclosed->line << ": " << report.unclosed->message << "\n";
  for (const auto& p : report.interrupted) term.out << "WARN " << path << ":" << p.line << ": " << p.message << "\n";
  for (const auto& p : report.file_problems) term.out << "FAIL " << out << "/" << p.file << ": " << p.message << "\n";
  bool ok = report.complete() && report.file_problems.empty();
  if (vm.count("expect-head") && vm["expect-head"].as<std::string>() != report.head) {
    term.out << "FAIL " << path << ": the chain ends at " << report.head << ", not at the expected head "
             << vm["expect-head"].as<std::string>() << " (records were appended or removed since)\n";
    ok = false;
  }
  print_session_steps(report, script_for_titles(vm.count("plan") ? vm["plan"].as<std::string>() : "", out), path, term.out);
  const auto outcomes = session_outcomes(path);
  for (const auto& [line, what] : outcomes.failed) {
    term.out << "NOTE " << path << ":" << line << ": this session did not complete (" << what
             << "); the record of it is intact\n";
  }
  term.out << (ok ? "PASS " : "FAIL ") << path << ": " << report.lines << " lines, " << report.sessions << " session"
           << (report.sessions == 1 ? "" : "s") << " (" << outcomes.completed << " completed, " << outcomes.failed.size()
           << " failed";
  if (report.sessions > outcomes.completed + outcomes.failed.size()) {
    term.out << ", " << report.sessions - outcomes.completed - outcomes.failed.size() << " not closed";
  }
  term.out << "), head " << report.head;
  if (!out.empty()) term.out << "; " << report.files.size() << " recorded files checked";
  term.out << "\n";
  return ok ? 0 : static_cast<int>(ExitCode::check_failed);
}

}  // namespace

int run_audit(const Args& args, Terminal& term) {
  po::options_description options("meshca audit");
  options.add_options()("help,h", "this help")("out", po::value<std::string>()->required(), "the ceremony's output directory")(
      "plan", po::value<std::string>()->required(), "the approved plan")("json", "JSON output")("quiet,q",
                                                                                                "print only failures and the summary")(
      "expect-head", po::value<std::string>(), "fail unless the transcript's chain ends at this head (what the witnesses wrote down)")(
      "public-only", "OUT is an auditor's copy without the files that hold private keys")(
      "deployed", po::value<std::string>(), "a directory of the deployed cacerts Secrets, DIR/MESH/CLUSTER.yaml (kubectl's output)");
  po::positional_options_description positionals;
  positionals.add("out", 1).add("plan", 1);
  po::variables_map vm;
  const char* usage =
      "usage: meshca audit OUT PLAN [--json] [--expect-head HEX] [--public-only] [--deployed DIR]\n\n"
      "Checks that OUT holds exactly what the approved PLAN describes, as the transcript recorded it:\n"
      "plan digest, transcript chain and file digests, root, every planned bundle (subject, key, validity,\n"
      "name constraints, chain, the recorded certificate) and no bundle the plan does not name.\n"
      "With --public-only, OUT is an auditor's copy from which every file holding a private key was removed:\n"
      "everything else is checked, and one WARN names what the absent files would have proven.\n"
      "With --deployed DIR, also checks what runs in the clusters, without contacting any: DIR holds, per\n"
      "cluster of the plan, DIR/MESH/CLUSTER.yaml, what `kubectl get secret cacerts -n istio-system -o yaml`\n"
      "printed there. Each is equal (the bundle the transcript recorded last), missing, stale (a bundle\n"
      "recorded earlier: before a renewal or a CRL refresh), foreign (a CA certificate neither issued by\n"
      "this root nor recorded: another ceremony) or hand-edited (chains to this root but matches no\n"
      "recorded bundle, or its key is not its certificate's); any other file in DIR is a stray.\n"
      "Exit 1 when anything fails.\n\n"
      "example: meshca audit out/ plan.yaml --expect-head HEX";
  if (!parse_command_line(args, options, positionals, vm, term.out, usage)) return 0;
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now_utc());
  ceremony::AuditOptions audit_options;
  if (vm.count("expect-head")) audit_options.expect_head = vm["expect-head"].as<std::string>();
  audit_options.public_copy = vm.count("public-only") != 0;
  if (vm.count("deployed")) audit_options.deployed = vm["deployed"].as<std::string>();
  auto report = ceremony::audit_output(plan, vm["out"].as<std::string>(), audit_options);
  std::size_t failures = 0;
  nlohmann::json json = nlohmann::json::array();
  for (const auto& f : report.findings) {
    failures += f.severity == pki::Severity::fail;
    if (vm.count("json")) {
      json.push_back({{"result", pki::severity_name(f.severity)}, {"check", f.check}, {"subject", f.subject}, {"message", f.message}});
    } else if (!vm.count("quiet") || f.severity != pki::Severity::pass) {
      term.out << pki::severity_name(f.severity) << " " << f.check << " " << f.subject << ": " << f.message << "\n";
    }
  }
  if (vm.count("json")) {
    term.out << nlohmann::json{{"ok", report.ok()}, {"findings", json}}.dump(2) << "\n";
  } else {
    term.out << (report.ok() ? "audit PASSED: " : "audit FAILED: ") << report.findings.size() << " checks, " << failures
             << " failed\n";
  }
  return report.ok() ? 0 : static_cast<int>(ExitCode::check_failed);
}

int run_transcript(const Args& args, Terminal& term) {
  return dispatch_subcommand("transcript", kTranscriptGroupUsage, {{"verify", transcript_verify}}, args, term);
}

}  // namespace meshca::cli
