// Error and exit-code vocabulary shared by every meshca library.
//
// Libraries never print or exit: they throw meshca::Error carrying the exit
// code the CLI must return, a message written for the operator, and where the
// problem is (a file:line:column, a field path, a path on disk, a token).
// The CLI is the only place that turns an Error into text and a process exit.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace meshca {

// Process exit codes, as documented in docs/architecture.md and README.md.
enum class ExitCode : int {
  ok = 0,
  check_failed = 1,
  usage = 2,
  invalid_input = 3,
  key_store = 4,
  output = 5,
  internal = 70,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, std::string where = {});

  ExitCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }

 private:
  ExitCode code_;
  std::string message_;
  std::string where_;
};

// Many independent findings reported at once (plan validation collects every
// problem instead of stopping at the first one).
class MultiError : public Error {
 public:
  MultiError(ExitCode code, std::string summary, std::vector<std::string> details);
  const std::vector<std::string>& details() const { return details_; }

 private:
  std::vector<std::string> details_;
};

}  // namespace meshca
