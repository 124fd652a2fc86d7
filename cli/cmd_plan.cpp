// meshca plan init | validate
#include <iostream>

#include "ceremony/plan_digest.hpp"
#include "ceremony/plan_parser.hpp"
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
    "  digest PLAN                       SHA-256 of the plan's canonical form (what the auditor signs off)";

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

std::string describe_root_key(const hsm::RootKeyRef& key) {
  std::string alg(pki::key_algorithm_name(key.algorithm));
  if (key.kind == hsm::KeyStoreKind::file) return alg + " in encrypted file " + key.file.path.string();
  std::string where = key.pkcs11.token.empty() ? "serial " + key.pkcs11.serial : "'" + key.pkcs11.token + "'";
  return alg + " in PKCS#11 token " + where + " (key '" + key.pkcs11.label + "')";
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
  term.out << "  root: " << plan.root.subject.to_string() << "; " << describe_root_key(plan.root.key) << "; validity "
           << plan.root.validity.to_string() << "; pathLen " << plan.root.path_len << "\n";
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

}  // namespace

int run_plan(const Args& args, Terminal& term) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    term.out << kPlanUsage << "\n";
    return args.empty() ? static_cast<int>(ExitCode::usage) : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "init") return plan_init(rest, term);
  if (args[0] == "validate") return plan_validate(rest, term);
  if (args[0] == "digest") return plan_digest(rest, term);
  throw Error(ExitCode::usage, "unknown subcommand 'plan " + args[0] + "' (see meshca plan --help)");
}

}  // namespace meshca::cli
