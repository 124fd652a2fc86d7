#include "core/secret_source.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include "core/error.hpp"
#include "core/files.hpp"

namespace meshca {

SecretRef SecretRef::parse(std::string_view text) {
  if (text == "prompt") return {SecretKind::prompt, {}};
  if (text.starts_with("env:") && text.size() > 4) {
    std::string name(text.substr(4));
    for (char c : name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        throw Error(ExitCode::invalid_input, "environment variable name may hold only letters, digits and '_'");
      }
    }
    return {SecretKind::env, name};
  }
  if (text.starts_with("file:") && text.size() > 5) return {SecretKind::file, std::string(text.substr(5))};
  throw Error(ExitCode::invalid_input,
              "a secret must be a reference: env:NAME, file:PATH or prompt (secrets are never written in the plan)");
}

std::string SecretRef::to_string() const {
  switch (kind) {
    case SecretKind::env: return "env:" + value;
    case SecretKind::file: return "file:" + value;
    case SecretKind::prompt: return "prompt";
  }
  return "prompt";
}

SecureBuffer resolve_secret(const SecretRef& ref, const std::string& purpose, const SecretPrompt& prompt,
                            const std::filesystem::path& base_dir, int code, bool confirm_prompt) {
  const auto exit_code = static_cast<ExitCode>(code);
  SecureBuffer secret;
  switch (ref.kind) {
    case SecretKind::env: {
      const char* value = std::getenv(ref.value.c_str());
      if (value == nullptr || *value == '\0') {
        throw Error(exit_code, "environment variable " + ref.value + " is not set (it should hold the " + purpose + ")");
      }
      secret.append(value);
      break;
    }
    case SecretKind::file: {
      std::filesystem::path path(ref.value);
      if (path.is_relative()) path = base_dir / path;
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        throw Error(exit_code, "secret file is readable by group or others; chmod 600 it", path.string());
      }
      std::string content;
      try {
        content = read_file(path, 4096);
      } catch (const Error& e) {
        throw Error(exit_code, "cannot read the " + purpose + ": " + e.message(), path.string());
      }
      secret.append(content);
      cleanse(content);
      secret.strip_trailing_newlines();
      break;
    }
    case SecretKind::prompt:
      if (!prompt) throw Error(exit_code, "the " + purpose + " must be typed, but no terminal is available");
      secret = prompt(purpose, confirm_prompt);
      break;
  }
  if (secret.empty()) throw Error(exit_code, "the " + purpose + " is empty");
  return secret;
}

}  // namespace meshca
