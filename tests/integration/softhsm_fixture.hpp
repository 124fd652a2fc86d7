// A fresh SoftHSM2 token per test: a temp directory, its own softhsm2.conf
// (SOFTHSM2_CONF is set for the process), a token made by
// scripts/softhsm-token.sh, and the user PIN in an environment variable.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "hsm/key_store.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::test {

inline constexpr const char* kModule = MESHCA_SOFTHSM_MODULE;
inline constexpr const char* kTokenLabel = "acme-root";
inline constexpr const char* kUserPin = "4711-test-pin";
inline constexpr const char* kSoPin = "so-pin-0815";
inline constexpr const char* kPinEnv = "MESHCA_TEST_PIN";

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};
// Runs `command` through /bin/sh and captures its output.
CommandResult run_command(const std::string& command);
std::string shell_quote(const std::string& s);

// Expects `fn` to throw meshca::Error with `code`, with the user PIN in
// neither its message nor its location; returns "message [where]".
template <typename Fn>
std::string expect_error(ErrorKind code, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(code)) << e.message();
    EXPECT_EQ(e.message().find(kUserPin), std::string::npos) << "the PIN leaked into: " << e.message();
    EXPECT_EQ(e.where().find(kUserPin), std::string::npos);
    return e.message() + " [" + e.where() + "]";
  }
  ADD_FAILURE() << "no meshca::Error thrown";
  return {};
}

class SoftHsmTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Adds another token to this test's SoftHSM2 configuration.
  void add_token(const std::string& label);

  hsm::Pkcs11KeyRef ref(const std::string& key_label) const;
  // A test is one command: its key stores share one module set, so the
  // module is loaded once (and its login kept) until next_command().
  hsm::KeyStoreContext context() const { return {dir_, {}, modules_}; }
  // The SoftHSM2 module of the current command (loaded on first use).
  std::shared_ptr<hsm::Pkcs11Module> module() const { return modules_->open(kModule, {}); }
  // Starts another command: a new module set; the old one's module is
  // finalized once no key store holds it.
  void next_command() { modules_ = std::make_shared<hsm::Pkcs11Modules>(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::shared_ptr<hsm::Pkcs11Modules> modules_ = std::make_shared<hsm::Pkcs11Modules>();
};

}  // namespace meshca::test
