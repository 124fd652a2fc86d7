#include "core/files.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>

#include "core/error.hpp"
#include "core/hex.hpp"

namespace meshca {
namespace {

[[noreturn]] void throw_io(const std::string& what, const fs::path& path, int err) {
  throw Error(ErrorKind::output, what + ": " + std::strerror(err), path.string());
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t value = rng();
  return to_hex({reinterpret_cast<const char*>(&value), sizeof value});
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write", path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void fsync_path(const fs::path& path, int flags) {
  FileDescriptor fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) throw_io("cannot open for fsync", path, errno);
  durable_step("fsync", path);
  if (::fsync(fd.get()) != 0) throw_io("fsync failed", path, errno);
}

DurableStepHook g_durable_step_hook = nullptr;

}  // namespace

void set_durable_step_hook(DurableStepHook hook) { g_durable_step_hook = hook; }

void durable_step(std::string_view what, const fs::path& path) {
  if (g_durable_step_hook != nullptr) g_durable_step_hook(what, path);
}

void write_new_file_durable(const fs::path& path, std::string_view bytes, unsigned mode, Sync sync) {
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) throw_io("cannot create", path, errno);
  // The umask may have narrowed the mode; never widen a private one.
  if (::fchmod(fd.get(), mode) != 0) throw_io("cannot set permissions", path, errno);
  try {
    write_all(fd.get(), bytes, path);
    if (sync == Sync::now) {
      durable_step("fsync", path);
      if (::fsync(fd.get()) != 0) throw_io("fsync failed", path, errno);
    }
    if (::close(fd.release()) != 0) throw_io("close failed", path, errno);
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
}

void fsync_directory(const fs::path& dir) { fsync_path(dir, O_RDONLY | O_DIRECTORY); }

void sync_filesystem(const fs::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_io("cannot open for syncfs", path, errno);
  durable_step("syncfs", path);
  if (::syncfs(fd.get()) != 0) throw_io("syncfs failed", path, errno);
}

void write_file_atomic(const fs::path& path, std::string_view bytes, unsigned mode, Replace replace) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const fs::path temp = parent / ("." + path.filename().string() + ".tmp-" + random_suffix());
  write_new_file_durable(temp, bytes, mode);
  durable_step("rename", path);
  int rc = replace == Replace::allowed
               ? ::rename(temp.c_str(), path.c_str())
               : ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (rc != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    if (err == EEXIST) throw Error(ErrorKind::output, "refusing to overwrite an existing file", path.string());
    throw_io("cannot move into place", path, err);
  }
  fsync_directory(parent);
}

std::optional<std::string> read_file_if_exists(const fs::path& path, std::size_t max_bytes) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) throw Error(ErrorKind::invalid_input, "is a symbolic link; refusing to follow it", path.string());
    throw_io("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::invalid_input, "is not a regular file", path.string());
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    throw Error(ErrorKind::invalid_input, "is larger than " + std::to_string(max_bytes) + " bytes; refusing to read it", path.string());
  }
  std::string data;
  char chunk[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read", path, errno);
    }
    if (n == 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) throw Error(ErrorKind::invalid_input, "grew while being read", path.string());
  }
  return data;
}

std::string read_file(const fs::path& path, std::size_t max_bytes) {
  auto data = read_file_if_exists(path, max_bytes);
  if (!data) throw Error(ErrorKind::invalid_input, "file not found", path.string());
  return std::move(*data);
}

void for_each_line(const fs::path& path, const std::function<void(std::string_view line, bool terminated)>& on_line, std::size_t max_line) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) throw Error(ErrorKind::invalid_input, "file not found", path.string());
    if (errno == ELOOP) throw Error(ErrorKind::invalid_input, "is a symbolic link; refusing to follow it", path.string());
    throw_io("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::invalid_input, "is not a regular file", path.string());
  constexpr std::size_t kChunk = 1 << 20;
  std::string pending;  // the start of a line not yet ended
  std::vector<char> chunk(kChunk);
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read", path, errno);
    }
    if (n == 0) break;
    std::string_view data(chunk.data(), static_cast<std::size_t>(n));
    for (auto end = data.find('\n'); end != std::string_view::npos; end = data.find('\n')) {
      if (pending.empty()) {
        on_line(data.substr(0, end), true);
      } else {
        pending.append(data.substr(0, end));
        on_line(pending, true);
        pending.clear();
      }
      data.remove_prefix(end + 1);
    }
    pending.append(data);
    if (pending.size() > max_line) {
      throw Error(ErrorKind::invalid_input, "holds a line longer than " + std::to_string(max_line) + " bytes; refusing to read it",
                  path.string());
    }
  }
  if (!pending.empty()) on_line(pending, false);
}

void ensure_directory(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  auto status = fs::symlink_status(dir, ec);
  if (!ec && fs::exists(status)) {
    if (!fs::is_directory(status)) throw Error(ErrorKind::output, "exists and is not a directory", dir.string());
    return;
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) ensure_directory(dir.parent_path(), mode);
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw_io("cannot create directory", dir, errno);
}

StagingDirectory::StagingDirectory(const fs::path& out_dir) {
  const fs::path area = out_dir / kStagingDirName;
  ensure_directory(area, kPrivateDirMode);
  path_ = area / ("stage-" + random_suffix());
  if (::mkdir(path_.c_str(), kPrivateDirMode) != 0) throw_io("cannot create staging directory", path_, errno);
}

StagingDirectory::~StagingDirectory() {
  if (published_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void StagingDirectory::publish(const fs::path& target) {
  fsync_directory(path_);
  publish_synced(target);
  fsync_directory(target.has_parent_path() ? target.parent_path() : fs::path("."));
}

void StagingDirectory::publish_synced(const fs::path& target) {
  durable_step("rename", target);
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {
      throw Error(ErrorKind::output, "refusing to overwrite an existing directory", target.string());
    }
    throw_io("cannot move bundle into place", target, errno);
  }
  published_ = true;
}

void StagingDirectory::replace_synced(const fs::path& target, const fs::path& archive) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(archive, ec))) {
    throw Error(ErrorKind::output, "already exists; an archive is never overwritten, so the bundle was not replaced", archive.string());
  }
  ensure_directory(archive.parent_path(), kPrivateDirMode);
  durable_step("rename", archive);
  if (::renameat2(AT_FDCWD, target.c_str(), AT_FDCWD, archive.c_str(), RENAME_NOREPLACE) != 0) {
    throw_io("cannot archive the bundle being replaced", archive, errno);
  }
  publish_synced(target);
}

void StagingDirectory::exchange_synced(const fs::path& target) {
  durable_step("rename", target);
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    throw_io("cannot swap the rewritten bundle into place", target, errno);
  }
  // path_ now holds the previous contents; the destructor removes them.
}

std::size_t remove_stale_temp_files(const std::vector<fs::path>& paths) {
  std::size_t removed = 0;
  for (const auto& path : paths) {
    const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
    const std::string prefix = "." + path.filename().string() + ".tmp-";
    // Best effort: a directory that cannot be listed has nothing removed
    // here, and the write that follows reports the real problem.
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code ignored;
      if (it->path().filename().string().starts_with(prefix) && fs::remove(it->path(), ignored)) ++removed;
    }
  }
  return removed;
}

std::size_t clean_staging_area(const fs::path& out_dir) {
  const fs::path area = out_dir / kStagingDirName;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(area, ec))) return 0;
  std::size_t removed = 0;
  for (const auto& entry : directory_entries(area, ErrorKind::output)) {
    fs::remove_all(entry.path(), ec);
    if (ec) throw_io("cannot remove stale staging entry", entry.path(), ec.value());
    ++removed;
  }
  return removed;
}

void throw_path_error(ErrorKind kind, const std::string& what, const fs::path& path, const std::error_code& ec) {
  throw Error(kind, what + ": " + ec.message(), path.string());
}

fs::file_status status_of(const fs::path& path, ErrorKind kind) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::none) throw_path_error(kind, "cannot read the file status", path, ec);
  return status;
}

fs::file_status symlink_status_of(const fs::path& path, ErrorKind kind) {
  std::error_code ec;
  fs::file_status status = fs::symlink_status(path, ec);
  if (status.type() == fs::file_type::none) throw_path_error(kind, "cannot read the file status", path, ec);
  return status;
}

fs::path absolute_path(const fs::path& path, ErrorKind kind) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) throw_path_error(kind, "cannot make the path absolute", path, ec);
  return absolute;
}

fs::path resolved_path(const fs::path& path, ErrorKind kind) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(absolute_path(path, kind), ec);
  if (ec) throw_path_error(kind, "cannot resolve the path", path, ec);
  return resolved;
}

std::vector<fs::directory_entry> directory_entries(const fs::path& dir, ErrorKind kind) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) return entries;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) entries.push_back(*it);
  if (ec) throw_path_error(kind, "cannot list the directory", dir, ec);
  return entries;
}

void refuse_existing_path(const fs::path& path, const std::string& why) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec))) throw Error(ErrorKind::output, "already exists; " + why, path.string());
}

}  // namespace meshca
