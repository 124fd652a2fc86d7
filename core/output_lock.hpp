// One writer per output directory.
//
// Every command that changes an output directory (OUT) holds an exclusive
// lock on it for its whole run, taken before anything in OUT is read or
// cleaned: `flock(2)` on OUT/.meshca-lock. The kernel drops the lock when
// the holder exits, however it exits, so a killed run never leaves a stale
// lock; what a dead run left in the staging area is cleaned by the next
// holder, and only by it. The lock file also names its holder (pid, command,
// start time) so that a refused writer can say who holds OUT.
//
// Before OUT is locked, it must be safe to trust: a directory owned by the
// running user and not writable by group or others. An output directory that
// another user can change could have its bundles swapped under a ceremony.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace meshca {

inline constexpr const char* kOutputLockFile = ".meshca-lock";

struct LockRequest {
  std::string command;  // "meshca ceremony run", for the holder record
  bool wait = false;    // wait for the holder to finish instead of refusing
  // Called once, before waiting, with the holder's description.
  std::function<void(const std::string& holder)> on_wait;
};

class OutputLock {
 public:
  OutputLock() = default;
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;
  ~OutputLock();

  // Takes the exclusive lock `lock_file` (created 0600 when missing; an
  // existing directory is locked as itself, without a holder record). When
  // another process holds it: Error(output) naming the holder, or with
  // `wait`, blocks until it is free.
  static OutputLock exclusive(const std::filesystem::path& lock_file, const LockRequest& request);
  // A shared lock for a command that only reads a directory another command
  // may write (a rotation reading the current output). Nothing is taken
  // when the lock file cannot be created (a read-only copy has no writer).
  static OutputLock shared(const std::filesystem::path& lock_file, const LockRequest& request);

  bool held() const { return fd_ >= 0; }

 private:
  explicit OutputLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Error(output) with the fix unless `dir` is absent or a directory owned by
// the running user that neither group nor others can write.
void check_private_directory(const std::filesystem::path& dir);

// The writer's entry to OUT: checks OUT is private (check_private_directory),
// creates it 0700 when missing, and takes OUT/.meshca-lock exclusively.
OutputLock lock_output_directory(const std::filesystem::path& out, const LockRequest& request);

}  // namespace meshca
