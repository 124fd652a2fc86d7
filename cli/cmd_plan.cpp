// meshca plan init | validate
#include <algorithm>
#include <iostream>
#include <optional>
#include <string_view>

#include "cli/terminal.hpp"
#include "pki/key.hpp"
#include "plan/ceremony_script.hpp"
#include "plan/plan_digest.hpp"
#include "plan/plan_reader.hpp"
#include "plan/plan_view.hpp"
#include "plan/rotation_phases.hpp"
#include "templates/embedded.hpp"

namespace meshca::cli {
namespace {

constexpr const char* kPlanUsage =
    "usage: meshca plan <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  init [--template NAME] [--list]   print an example plan (redirect it to a file)\n"
    "  validate PLAN                     check a plan strictly; every error names file:line:column and field\n"
    "  digest PLAN                       SHA-256 of the plan's canonical form (what the auditor signs off)\n"
    "  show PLAN [--format F]            everything the ceremony will do: text|markdown|json|html|dot\n"
    "  script PLAN [--format F]          the printable ceremony script for the room: html|markdown\n"
    "  diff OLD NEW [--json]             semantic differences between two plans";

constexpr const char* kScriptUsage =
    "usage: meshca plan script PLAN [--format html|markdown]\n\n"
    "The ceremony script for the room: the numbered steps of `meshca ceremony run` with who does what\n"
    "(operator, witnesses, custodians), the values each step must show (plan digest, key reference, subjects,\n"
    "pinned SPKI hashes, counts) and blank fields for what only the run shows, for initials and times. The\n"
    "transcript numbers its records by the same steps; `meshca transcript verify` prints them. The HTML is\n"
    "one print-ready page (A4, no network references).\n\n"
    "example: meshca plan script plan.yaml > script.html";

// A template's one-line description: its first comment line, which reads
// "# meshca ceremony plan: <what it is>." and may run onto the next lines.
std::string template_summary(std::string_view text) {
  constexpr std::string_view kLead = "# meshca ceremony plan: ";
  std::string summary;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (summary.empty()) {
      if (!line.starts_with(kLead)) break;
      summary = line.substr(kLead.size());
    } else if (line.starts_with("# ") && !summary.ends_with(".")) {
      summary += " " + std::string(line.substr(2));
    } else {
      break;
    }
  }
  if (auto dot = summary.find(". "); dot != std::string::npos) summary.erase(dot + 1);
  return summary.empty() ? "(no description)" : summary;
}

int plan_init(const Args& args, Terminal& term) {
  po::options_description options("meshca plan init");
  options.add_options()("help,h", "this help")(
      "template,t", po::value<std::string>()->default_value(std::string(templates::kDefaultPlanTemplate)),
      "example plan to print")("list", "list the example plans");
  po::variables_map vm;
  const char* usage =
      "usage: meshca plan init [--template NAME] [--list] > plan.yaml\n\n"
      "Prints an example plan to start from (redirect it to a file); --list names the examples with what each shows.\n\n"
      "example: meshca plan init --template two-meshes > plan.yaml";
  if (!parse_command_line(args, options, {}, vm, term.out, usage)) return 0;
  if (vm.count("list")) {
    std::size_t width = 0;
    for (const auto& name : templates::plan_template_names()) width = std::max(width, name.size());
    for (const auto& name : templates::plan_template_names()) {
      term.out << name << std::string(width + 3 - name.size(), ' ') << template_summary(*templates::plan_template(name)) << "\n";
    }
    return 0;
  }
  auto name = vm["template"].as<std::string>();
  auto text = templates::plan_template(name);
  if (!text) {
    std::string known;
    for (const auto& n : templates::plan_template_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::usage, "no example plan named '" + name + "'; available: " + known);
  }
  term.out << *text;
  return 0;
}

// The plan named by a command that takes one PLAN and no option, loaded at
// `now`; nullopt when --help was shown.
std::optional<ceremony::Plan> plan_argument(const Args& args, Terminal& term, const char* usage, UnixTime now) {
  po::options_description options;
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, usage)) return std::nullopt;
  return ceremony::load_plan(vm["plan"].as<std::string>(), now);
}

int plan_validate(const Args& args, Terminal& term) {
  const char* usage =
      "usage: meshca plan validate PLAN\n\n"
      "Checks a plan strictly and reports every error in one run, in line order, each with file:line:column\n"
      "and field path (exit 3); a valid plan is summarized with its policy warnings.\n\n"
      "example: meshca plan validate plan.yaml";
  const UnixTime now = now_utc();
  const auto loaded = plan_argument(args, term, usage, now);
  if (!loaded) return 0;
  const ceremony::Plan& plan = *loaded;
  term.out << plan.source.string() << ": valid plan '" << plan.name << "': " << plan.meshes.size() << " mesh"
           << (plan.meshes.size() == 1 ? "" : "es") << ", " << plan.cluster_count() << " cluster"
           << (plan.cluster_count() == 1 ? "" : "s") << "\n";
  term.out << "  root: " << plan.root.subject.to_string() << "; " << hsm::describe_key_reference(plan.root.key) << "; validity "
           << plan.root.validity.to_string() << "; pathLen " << ceremony::path_len_text(plan.root.path_len) << "\n";
  if (plan.rotation && plan.rotation->current_ca) {
    // The plan's root is the new root: say what it replaces.
    term.out << "  rotation from " << ceremony::current_ca_description(plan) << "\n";
  }
  for (const auto& mesh : plan.meshes) {
    term.out << "  mesh " << mesh.name << " (trust domain " << mesh.trust_domain << ")\n";
    for (const auto& c : mesh.clusters) {
      term.out << "    " << c.name << ": " << c.intermediate.subject.to_string() << "; "
               << pki::key_algorithm_name(c.intermediate.algorithm)
               << (c.intermediate.pinned_key ? " pinned (SPKI SHA-256 " + c.intermediate.pinned_key->spki_sha256 + ")" : std::string())
               << "; validity " << c.intermediate.validity.to_string()
               << (c.intermediate.name_constraints == ceremony::NameConstraintsMode::trust_domain
                       ? "; name constraint URI:" + mesh.trust_domain
                       : "")
               << "\n";
    }
  }
  // The same policy warnings `plan show` prints: valid is not the same as wise.
  const auto warnings = ceremony::plan_view(plan, now).warnings;
  term.out << "  policy warnings: " << warnings.size() << "\n";
  for (const auto& w : warnings) term.out << "    WARN " << w.subject << ": " << w.message << "\n";
  return 0;
}

int plan_digest(const Args& args, Terminal& term) {
  const char* usage =
      "usage: meshca plan digest PLAN\n\nPrints the SHA-256 of the plan's canonical form: key order, comments and "
      "layout do not change it,\nany change of a value does. The plan must be valid. Pass it to "
      "`meshca ceremony run --expect-digest`.\n\n"
      "example: meshca plan digest plan.yaml";
  const auto plan = plan_argument(args, term, usage, now_utc());
  if (!plan) return 0;
  term.out << ceremony::plan_digest(plan->text, plan->source.string()) << "  " << plan->source.string() << "\n";
  return 0;
}

// The command line of a command that renders one PLAN in a --format
// (`options` may hold more); false when --help was shown.
bool parse_rendering_command(const Args& args, Terminal& term, po::options_description& options, const char* default_format,
                             const char* formats, const char* usage, po::variables_map& vm) {
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file")(
      "format,f", po::value<std::string>()->default_value(default_format), formats);
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  return parse_command_line(args, options, positionals, vm, term.out, usage);
}

int plan_show(const Args& args, Terminal& term) {
  po::options_description options("meshca plan show");
  options.add_options()("at", po::value<std::string>(), "resolve durations as if the ceremony ran at this RFC 3339 time (default: now)");
  po::variables_map vm;
  const char* usage =
      "usage: meshca plan show PLAN [--format F] [--at TIME]\n\n"
      "Everything the ceremony will do, for the auditor: every certificate with where each value comes from,\n"
      "output paths and policy warnings.\n\n"
      "example: meshca plan show plan.yaml --format markdown > plan.md";
  if (!parse_rendering_command(args, term, options, "text", "text | markdown | json | html | dot", usage, vm)) return 0;
  auto format = ceremony::parse_view_format(vm["format"].as<std::string>());
  if (!format) throw Error(ErrorKind::usage, "--format must be text, markdown, json, html or dot");
  UnixTime at = now_utc();
  if (vm.count("at")) {
    std::string error;
    auto t = parse_rfc3339(vm["at"].as<std::string>(), error);
    if (!t) throw Error(ErrorKind::usage, "--at: " + error);
    at = *t;
  }
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), at);
  term.out << ceremony::render_plan_view(ceremony::plan_view(plan, at), *format);
  return 0;
}

int plan_script(const Args& args, Terminal& term) {
  po::options_description options("meshca plan script");
  po::variables_map vm;
  if (!parse_rendering_command(args, term, options, "html", "html | markdown", kScriptUsage, vm)) return 0;
  auto format = ceremony::parse_script_format(vm["format"].as<std::string>());
  if (!format) throw Error(ErrorKind::usage, "--format must be html or markdown");
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now_utc());
  term.out << ceremony::render_ceremony_script(ceremony::ceremony_steps(plan), *format);
  return 0;
}

int plan_diff(const Args& args, Terminal& term) {
  po::options_description options("meshca plan diff");
  options.add_options()("help,h", "this help")("old", po::value<std::string>()->required(), "the approved plan")(
      "new", po::value<std::string>()->required(), "the changed plan")("json", "JSON output");
  po::positional_options_description positionals;
  positionals.add("old", 1).add("new", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, "usage: meshca plan diff OLD NEW [--json]\n\nThe semantic differences between two plans, certificate by certificate; "
                          "exit 1 when they differ.\n\nexample: meshca plan diff approved.yaml plan.yaml")) return 0;
  UnixTime now = now_utc();
  auto before = ceremony::plan_view(ceremony::load_plan(vm["old"].as<std::string>(), now), now);
  auto after = ceremony::plan_view(ceremony::load_plan(vm["new"].as<std::string>(), now), now);
  auto changes = ceremony::plan_diff(before, after);
  if (vm.count("json")) {
    term.out << ceremony::diff_to_json(changes).dump(2) << "\n";
  } else {
    term.out << ceremony::render_diff_text(changes);
  }
  return changes.empty() ? 0 : static_cast<int>(ExitCode::check_failed);
}

}  // namespace

int run_plan(const Args& args, Terminal& term) {
  return dispatch_subcommand("plan", kPlanUsage,
                             {{"init", plan_init},
                              {"validate", plan_validate},
                              {"digest", plan_digest},
                              {"show", plan_show},
                              {"script", plan_script},
                              {"diff", plan_diff}},
                             args, term);
}

}  // namespace meshca::cli
