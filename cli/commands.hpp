// The meshca command-line front end: one function per subcommand group.
//
// Each run_* function parses its own arguments with Boost.ProgramOptions,
// calls the libraries and writes to the Terminal. Libraries throw
// meshca::Error; main() turns it into a message on stderr and the exit code.
// Usage mistakes are thrown as Error(ErrorKind::usage).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "core/secret_source.hpp"

namespace meshca::cli {

struct Terminal {
  std::ostream& out;
  std::ostream& err;
  SecretPrompt prompt;  // empty when stdin is not a terminal
};

using Args = std::vector<std::string>;  // arguments after the subcommand group

int run_plan(const Args& args, Terminal& term);
int run_ceremony(const Args& args, Terminal& term);
int run_hsm(const Args& args, Terminal& term);
int run_verify(const Args& args, Terminal& term);
int run_inspect(const Args& args, Terminal& term);
int run_check_expiry(const Args& args, Terminal& term);
int run_transcript(const Args& args, Terminal& term);
int run_audit(const Args& args, Terminal& term);

// Rejects options that would put a secret on the command line (--pin,
// --passphrase, pin-value= in a URI): secrets come from env:, file: or prompt.
void reject_secret_arguments(const Args& args);

}  // namespace meshca::cli
