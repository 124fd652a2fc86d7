// The error vocabulary shared by every meshca library.
//
// Libraries never print or exit: they throw meshca::Error carrying what kind
// of failure it is, a message written for the operator, and where the
// problem is (a file:line:column, a field path, a path on disk, a token).
// The CLI is the only place that turns an Error into text and maps its kind
// to a process exit code (cli/exit_codes.hpp).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace meshca {

// What went wrong, as the library that noticed it sees it. Each kind names a
// cause the operator acts on differently; the exit code is the CLI's choice.
enum class ErrorKind {
  check_failed,   // a check ran and found the input wanting (a workload leaf the CA cannot sign)
  usage,          // the request itself does not make sense (options, arguments)
  invalid_input,  // a plan, PEM, CSR, manifest, path or secret given is wrong
  key_store,      // the key store (token, key file) refused or failed
  output,         // the output directory or a file in it is in a state the request conflicts with
  internal,       // an invariant of meshca itself broke: a bug
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string where = {});

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }

 private:
  ErrorKind kind_;
  std::string message_;
  std::string where_;
};

// Many independent findings reported at once (plan validation collects every
// problem instead of stopping at the first one).
class MultiError : public Error {
 public:
  MultiError(ErrorKind kind, std::string summary, std::vector<std::string> details);
  const std::vector<std::string>& details() const { return details_; }

 private:
  std::vector<std::string> details_;
};

}  // namespace meshca
