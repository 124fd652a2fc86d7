#include "core/output_lock.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/time.hpp"

namespace meshca {
namespace {

namespace fs = std::filesystem;

std::string user_name(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return (pw != nullptr ? std::string(pw->pw_name) : "uid") + " (" + std::to_string(uid) + ")";
}

std::string describe_holder(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return "another meshca process";
  std::string text(4096, '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  auto holder = nlohmann::json::parse(text, nullptr, false);
  if (!holder.is_object()) return "another meshca process";
  return "pid " + std::to_string(holder.value("pid", 0L)) + " (`" + holder.value("command", std::string("meshca")) +
         "`, started " + holder.value("started", std::string("?")) + ")";
}

void write_holder(int fd, const std::string& command) {
  nlohmann::json holder{{"pid", static_cast<long>(::getpid())}, {"command", command}, {"started", format_rfc3339(now_utc())}};
  std::string text = holder.dump() + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, text.data(), text.size(), 0);
}

// A lock file, or a directory locked as itself (no holder record).
int open_lock_file(const fs::path& lock_file) {
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(lock_file, ec))) {
    return ::open(lock_file.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  return ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

bool is_directory_fd(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

OutputLock::OutputLock(OutputLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

namespace {

// Takes `operation` (LOCK_EX or LOCK_SH) on `fd`. When another process
// holds the lock: Error(output) with `busy` + the holder, or with `wait`,
// block until it is free.
void take_flock(int fd, int operation, const fs::path& lock_file, const LockRequest& request, const std::string& busy) {
  auto failed = [&] {
    return Error(ErrorKind::output, std::string("cannot lock the output directory: ") + std::strerror(errno), lock_file.string());
  };
  if (::flock(fd, operation | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK) throw failed();
  const std::string holder = describe_holder(fd);
  if (!request.wait)
    throw Error(ErrorKind::output, busy + holder + "; wait for it to finish (or pass --wait)", lock_file.parent_path().string());
  if (request.on_wait) request.on_wait(holder);
  while (::flock(fd, operation) != 0) {
    if (errno != EINTR) throw failed();
  }
}

}  // namespace

OutputLock OutputLock::exclusive(const fs::path& lock_file, const LockRequest& request) {
  int fd = open_lock_file(lock_file);
  if (fd < 0) {
    throw Error(ErrorKind::output, std::string("cannot open the output lock: ") + std::strerror(errno), lock_file.string());
  }
  OutputLock lock(fd);
  take_flock(fd, LOCK_EX, lock_file, request, "one writer at a time: the output directory is in use by ");
  if (!is_directory_fd(fd)) write_holder(fd, request.command);
  return lock;
}

OutputLock OutputLock::shared(const fs::path& lock_file, const LockRequest& request) {
  int fd = open_lock_file(lock_file);
  if (fd < 0) return {};
  OutputLock lock(fd);
  take_flock(fd, LOCK_SH, lock_file, request, "is being written by ");
  return lock;
}

void check_private_directory(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error(ErrorKind::output, std::string("cannot inspect: ") + std::strerror(errno), dir.string());
  }
  if (S_ISLNK(st.st_mode)) {
    throw Error(ErrorKind::output, "is a symbolic link; give the directory itself (meshca never follows links in an output directory)",
                dir.string());
  }
  if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::output, "exists and is not a directory", dir.string());
  if (st.st_uid != ::geteuid()) {
    throw Error(ErrorKind::output,
                "is owned by " + user_name(st.st_uid) + ", not by the user running meshca, " + user_name(::geteuid()) +
                    "; another user could change the output under the ceremony: use a directory you own",
                dir.string());
  }
  if ((st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw Error(ErrorKind::output,
                std::string("is writable by group or others (mode ") + mode +
                    "); others could change the output under the ceremony: run chmod 700 " + dir.string(),
                dir.string());
  }
}

OutputLock lock_output_directory(const fs::path& out, const LockRequest& request) {
  check_private_directory(out);
  ensure_directory(out, kPrivateDirMode);
  return OutputLock::exclusive(out / kOutputLockFile, request);
}

}  // namespace meshca
