#include "core/secret_source.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

#include "core/error.hpp"
#include "core/files.hpp"

namespace meshca {

SecretRef SecretRef::parse(std::string_view text) {
  if (text == "prompt") return {SecretKind::prompt, {}};
  // A reference that is not a valid name or path is most likely the secret
  // itself written in the wrong place (`pin: env:987654`): refuse it, and
  // never repeat it in the message (it would land in logs and transcripts).
  if (text.starts_with("env:") && text.size() > 4) {
    std::string name(text.substr(4));
    const bool starts_well = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
    for (char c : name) {
      if (!starts_well || !(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        throw Error(ErrorKind::invalid_input,
                    "env: must name an environment variable (a letter or '_', then letters, digits and '_'); "
                    "the value given is not one and is not repeated here, in case it is the secret itself");
      }
    }
    return {SecretKind::env, name};
  }
  if (text.starts_with("file:") && text.size() > 5) {
    for (char c : text.substr(5)) {
      if (std::iscntrl(static_cast<unsigned char>(c))) {
        throw Error(ErrorKind::invalid_input, "file: must name a file; the value given holds a control character and is not repeated here");
      }
    }
    return {SecretKind::file, std::string(text.substr(5))};
  }
  throw Error(ErrorKind::invalid_input,
              "a secret must be a reference: env:NAME, file:PATH or prompt (secrets are never written in the plan)");
}

std::string SecretRef::to_string() const {
  switch (kind) {
    case SecretKind::env:
      return "env:" + value;
    case SecretKind::file:
      return "file:" + value;
    case SecretKind::prompt:
      return "prompt";
    case SecretKind::shares: {
      std::string names;
      for (const auto& c : shares.custodians) names += (names.empty() ? "" : ", ") + c;
      return std::to_string(shares.threshold) + "-of-" + std::to_string(shares.custodians.size()) + " custodian shares (" + names + ")";
    }
  }
  return "prompt";
}

SecureBuffer resolve_secret(const SecretRef& ref, const std::string& purpose, const SecretPrompt& prompt,
                            const std::filesystem::path& base_dir, ErrorKind kind, bool confirm_prompt) {
  SecureBuffer secret;
  switch (ref.kind) {
    case SecretKind::env: {
      const char* value = std::getenv(ref.value.c_str());
      if (value == nullptr || *value == '\0') {
        throw Error(kind, "environment variable " + ref.value + " is not set (it should hold the " + purpose + ")");
      }
      secret.append(value);
      break;
    }
    case SecretKind::file: {
      std::filesystem::path path(ref.value);
      if (path.is_relative()) path = base_dir / path;
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
        throw Error(kind, "secret file is readable by group or others; chmod 600 it", path.string());
      }
      std::string content;
      try {
        content = read_file(path, 4096);
      } catch (const Error& e) {
        throw Error(kind, "cannot read the " + purpose + ": " + e.message(), path.string());
      }
      secret.append(content);
      cleanse(content);
      secret.strip_trailing_newlines();
      break;
    }
    case SecretKind::prompt:
      if (!prompt) throw Error(kind, "the " + purpose + " must be typed, but no terminal is available");
      secret = prompt(purpose, confirm_prompt);
      break;
    case SecretKind::shares:
      // Only a store that knows where its shares live gathers them
      // (core/secret_shares.hpp); anything else asking is a bug.
      throw Error(ErrorKind::internal, "the " + purpose + " is held as custodians' shares, which this command cannot gather");
  }
  if (secret.empty()) throw Error(kind, "the " + purpose + " is empty");
  return secret;
}

}  // namespace meshca
