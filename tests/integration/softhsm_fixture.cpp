#include "softhsm_fixture.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace meshca::test {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  struct PipeClose {
    int* status;
    void operator()(FILE* f) const { *status = pclose(f); }
  };
  int raw_status = -1;
  {
    std::unique_ptr<FILE, PipeClose> pipe(popen((command + " 2>&1").c_str(), "r"), PipeClose{&raw_status});
    if (!pipe) return result;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) result.output.append(buf.data(), n);
  }
  result.status = WIFEXITED(raw_status) ? WEXITSTATUS(raw_status) : -1;
  return result;
}

void SoftHsmTest::SetUp() {
  std::string pattern = (std::filesystem::temp_directory_path() / "meshca-softhsm-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  dir_ = pattern;
  ::setenv("SO_PIN", kSoPin, 1);
  ::setenv("USER_PIN", kUserPin, 1);
  ::setenv(kPinEnv, kUserPin, 1);
  ::setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
  add_token(kTokenLabel);
}

void SoftHsmTest::add_token(const std::string& label) {
  CommandResult r = run_command(std::string(MESHCA_SOFTHSM_SCRIPT) + " " + shell_quote(dir_.string()) + " " +
                                shell_quote(label));
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_NE(r.output.find("export SOFTHSM2_CONF="), std::string::npos) << r.output;
}

void SoftHsmTest::TearDown() {
  modules_.reset();  // finalize the module before its token directory goes
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

hsm::Pkcs11KeyRef SoftHsmTest::ref(const std::string& key_label) const {
  hsm::Pkcs11KeyRef r;
  r.module = kModule;
  r.token = kTokenLabel;
  r.label = key_label;
  r.pin = SecretRef{SecretKind::env, kPinEnv};
  return r;
}

}  // namespace meshca::test
