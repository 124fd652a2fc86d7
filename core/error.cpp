#include "core/error.hpp"

namespace meshca {
namespace {
std::string compose(const std::string& message, const std::string& where) {
  return where.empty() ? message : where + ": " + message;
}
}  // namespace

Error::Error(ErrorKind kind, std::string message, std::string where)
    : std::runtime_error(compose(message, where)), kind_(kind), message_(std::move(message)), where_(std::move(where)) {}

MultiError::MultiError(ErrorKind kind, std::string summary, std::vector<std::string> details)
    : Error(kind, std::move(summary)), details_(std::move(details)) {}

}  // namespace meshca
