// The crash-point hook of the test-only meshca-crashpoint binary.
//
// Every durable step meshca takes (core/files.hpp: durable_step) is counted,
// in program order, and the environment decides what happens at one of them:
//
//   MESHCA_STEP_LOG=FILE   append "N<TAB>what<TAB>path" for every step (how
//                          many steps a session takes, and which)
//   MESHCA_CRASH_AT=N      stop hard with _exit(86) just before step N: no
//                          destructor, no flush, no transcript close — what a
//                          kill or a power cut leaves of the process
//   MESHCA_PAUSE_AT=N      with MESHCA_PAUSE_FILE=F: before step N, create F
//                          and wait until it is removed (a writer held still
//                          in the middle of its run, for concurrency tests)
//
// Walking N over every step of a session proves crash safety at each one,
// deterministically (tests/e2e/test_crash_points.sh).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/files.hpp"

namespace {

constexpr int kCrashExit = 86;

long env_number(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtol(v, nullptr, 10) : 0;
}

struct Settings {
  long crash_at = env_number("MESHCA_CRASH_AT");
  long pause_at = env_number("MESHCA_PAUSE_AT");
  const char* pause_file = std::getenv("MESHCA_PAUSE_FILE");
  int log_fd = -1;
};

Settings& settings() {
  static Settings s;
  return s;
}

std::mutex g_order;  // steps from the publisher and the main thread get one numbering
long g_step = 0;

void on_durable_step(std::string_view what, const std::filesystem::path& path) {
  std::lock_guard lock(g_order);
  const Settings& s = settings();
  const long n = ++g_step;
  if (s.log_fd >= 0) {
    std::string line = std::to_string(n) + "\t" + std::string(what) + "\t" + path.string() + "\n";
    (void)!::write(s.log_fd, line.data(), line.size());
  }
  if (n == s.crash_at) ::_exit(kCrashExit);
  if (n == s.pause_at && s.pause_file != nullptr) {
    int fd = ::open(s.pause_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    while (::access(s.pause_file, F_OK) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

struct InstallHook {
  InstallHook() {
    if (const char* log = std::getenv("MESHCA_STEP_LOG")) {
      settings().log_fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    meshca::set_durable_step_hook(on_durable_step);
  }
} install_hook;

}  // namespace
