// A fresh SoftHSM2 token per test: a temp directory, its own softhsm2.conf
// (SOFTHSM2_CONF is set for the process), a token made by
// scripts/softhsm-token.sh, and the user PIN in an environment variable.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "hsm/key_store.hpp"

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

class SoftHsmTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Adds another token to this test's SoftHSM2 configuration.
  void add_token(const std::string& label);

  hsm::Pkcs11KeyRef ref(const std::string& key_label) const;
  hsm::KeyStoreContext context() const { return {dir_, {}}; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace meshca::test
