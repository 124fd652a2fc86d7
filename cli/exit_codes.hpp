// Process exit codes, as README.md and docs/architecture.md document them:
// the one place an error's kind becomes a number.
#pragma once

#include "core/error.hpp"

namespace meshca {

enum class ExitCode : int {
  ok = 0,
  check_failed = 1,
  usage = 2,
  invalid_input = 3,
  key_store = 4,
  output = 5,
  internal = 70,
};

constexpr ExitCode exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::check_failed:
      return ExitCode::check_failed;
    case ErrorKind::usage:
      return ExitCode::usage;
    case ErrorKind::invalid_input:
      return ExitCode::invalid_input;
    case ErrorKind::key_store:
      return ExitCode::key_store;
    case ErrorKind::output:
      return ExitCode::output;
    case ErrorKind::internal:
      return ExitCode::internal;
  }
  return ExitCode::internal;
}

}  // namespace meshca
