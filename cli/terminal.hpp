// Terminal plumbing for the front end: secret prompts without echo on the
// controlling terminal, uniform error reporting, and shared option parsing.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "core/error.hpp"

namespace meshca::cli {

namespace po = boost::program_options;

// A prompt reading from /dev/tty with echo off, or an empty function when
// the process has no controlling terminal.
SecretPrompt terminal_prompt();

// Asks a question on /dev/tty (with echo) and compares the typed answer;
// an empty function when there is no controlling terminal.
std::function<bool(const std::string& question, const std::string& expected)> terminal_confirm();

// "meshca 0.1.0", "OpenSSL 3.0.x ...", "libp11 0.4.12": for --version and transcripts.
std::map<std::string, std::string> component_versions();

// Prints an Error (and each detail of a MultiError) to `err`.
void report_error(std::ostream& err, const Error& e);

// Parses `args` against `options` (+ positionals); unknown options and
// missing values become a usage error (exit 2) that repeats the usage line
// and names a missing positional the way the usage line does (PLAN, not
// --plan). --help prints `usage`, the arguments, then the other options with
// their defaults; returns false when it did.
bool parse_command_line(const Args& args, const po::options_description& options,
                        const po::positional_options_description& positionals, po::variables_map& vm,
                        std::ostream& out, const std::string& usage);

// The usage line(s) of a command's usage text (up to its first blank line):
// what a usage error repeats.
std::string usage_line(const std::string& usage);

// `--cluster MESH/CLUSTER` as {mesh, cluster}, both DNS-1123 labels (the
// plan's names); Error(usage) otherwise.
std::pair<std::string, std::string> parse_cluster_id(const std::string& id);

// Runs the subcommand `args[0]` of command group `group` from `subcommands`;
// --help prints `usage` (exit 0); no subcommand is a usage error (exit 2)
// repeating the usage line.
using Subcommand = int (*)(const Args&, Terminal&);
int dispatch_subcommand(const std::string& group, const char* usage,
                        const std::vector<std::pair<std::string, Subcommand>>& subcommands, const Args& args,
                        Terminal& term);

}  // namespace meshca::cli
