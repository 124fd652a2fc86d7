// meshca plan init | validate
#include <iostream>

#include "ceremony/plan_digest.hpp"
#include "ceremony/plan_parser.hpp"
#include "ceremony/plan_view.hpp"
#include "cli/terminal.hpp"
#include "pki/key.hpp"
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
    "  diff OLD NEW [--json]             semantic differences between two plans";

int plan_init(const Args& args, Terminal& term) {
  po::options_description options("meshca plan init");
  options.add_options()("help,h", "this help")(
      "template,t", po::value<std::string>()->default_value(std::string(templates::kDefaultPlanTemplate)),
      "example plan to print")("list", "list the example plans");
  po::variables_map vm;
  if (!parse_command_line(args, options, {}, vm, term.out, "usage: meshca plan init [--template NAME] > plan.yaml")) return 0;
  if (vm.count("list")) {
    for (const auto& name : templates::plan_template_names()) term.out << name << "\n";
    return 0;
  }
  auto name = vm["template"].as<std::string>();
  auto text = templates::plan_template(name);
  if (!text) {
    std::string known;
    for (const auto& n : templates::plan_template_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(ExitCode::usage, "no example plan named '" + name + "'; available: " + known);
  }
  term.out << *text;
  return 0;
}

int plan_validate(const Args& args, Terminal& term) {
  po::options_description options("meshca plan validate");
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, "usage: meshca plan validate PLAN")) return 0;
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now_utc());
  term.out << plan.source.string() << ": valid plan '" << plan.name << "': " << plan.meshes.size() << " mesh"
           << (plan.meshes.size() == 1 ? "" : "es") << ", " << plan.cluster_count() << " cluster"
           << (plan.cluster_count() == 1 ? "" : "s") << "\n";
  term.out << "  root: " << plan.root.subject.to_string() << "; " << hsm::describe_key_reference(plan.root.key) << "; validity "
           << plan.root.validity.to_string() << "; pathLen " << ceremony::path_len_text(plan.root.path_len) << "\n";
  for (const auto& mesh : plan.meshes) {
    term.out << "  mesh " << mesh.name << " (trust domain " << mesh.trust_domain << ")\n";
    for (const auto& c : mesh.clusters) {
      term.out << "    " << c.name << ": " << c.intermediate.subject.to_string() << "; "
               << pki::key_algorithm_name(c.intermediate.algorithm) << "; validity " << c.intermediate.validity.to_string()
               << (c.intermediate.name_constraints == ceremony::NameConstraintsMode::trust_domain
                       ? "; name constraint URI:" + mesh.trust_domain
                       : "")
               << "\n";
    }
  }
  return 0;
}

int plan_digest(const Args& args, Terminal& term) {
  po::options_description options("meshca plan digest");
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  const char* usage =
      "usage: meshca plan digest PLAN\n\nPrints the SHA-256 of the plan's canonical form: key order, comments and "
      "layout do not change it,\nany change of a value does. The plan must be valid. Pass it to "
      "`meshca ceremony run --expect-digest`.";
  if (!parse_command_line(args, options, positionals, vm, term.out, usage)) return 0;
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), now_utc());
  term.out << ceremony::plan_digest(plan.text, plan.source.string()) << "  " << plan.source.string() << "\n";
  return 0;
}

int plan_show(const Args& args, Terminal& term) {
  po::options_description options("meshca plan show");
  options.add_options()("help,h", "this help")("plan", po::value<std::string>()->required(), "the plan file")(
      "format,f", po::value<std::string>()->default_value("text"), "text | markdown | json | html | dot")(
      "at", po::value<std::string>(), "resolve durations as if the ceremony ran at this RFC 3339 time (default: now)");
  po::positional_options_description positionals;
  positionals.add("plan", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, "usage: meshca plan show PLAN [--format F] [--at TIME]")) return 0;
  auto format = ceremony::parse_view_format(vm["format"].as<std::string>());
  if (!format) throw Error(ExitCode::usage, "--format must be text, markdown, json, html or dot");
  UnixTime at = now_utc();
  if (vm.count("at")) {
    std::string error;
    auto t = parse_rfc3339(vm["at"].as<std::string>(), error);
    if (!t) throw Error(ExitCode::usage, "--at: " + error);
    at = *t;
  }
  auto plan = ceremony::load_plan(vm["plan"].as<std::string>(), at);
  term.out << ceremony::render_plan_view(ceremony::plan_view(plan, at), *format);
  return 0;
}

int plan_diff(const Args& args, Terminal& term) {
  po::options_description options("meshca plan diff");
  options.add_options()("help,h", "this help")("old", po::value<std::string>()->required(), "the approved plan")(
      "new", po::value<std::string>()->required(), "the changed plan")("json", "JSON output");
  po::positional_options_description positionals;
  positionals.add("old", 1).add("new", 1);
  po::variables_map vm;
  if (!parse_command_line(args, options, positionals, vm, term.out, "usage: meshca plan diff OLD NEW [--json]\n\nExit 1 when the plans differ.")) return 0;
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
                             {{"init", plan_init}, {"validate", plan_validate}, {"digest", plan_digest},
                              {"show", plan_show}, {"diff", plan_diff}},
                             args, term);
}

}  // namespace meshca::cli
