// Durable, atomic file-system publishing for outputs that must appear whole
// or not at all.
//
// A file is written to a temporary name in its final directory with
// O_CREAT|O_EXCL|O_NOFOLLOW, fsynced, then renamed into place and the parent
// directory fsynced. A bundle directory is assembled in a private staging
// area inside the output directory (same filesystem) and renamed into place
// with RENAME_NOREPLACE, so an existing bundle is never replaced. Every
// failure is an Error with ErrorKind::output naming the path and the reason.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace meshca {

namespace fs = std::filesystem;

inline constexpr unsigned kPrivateFileMode = 0600;
inline constexpr unsigned kPublicFileMode = 0644;
inline constexpr unsigned kPrivateDirMode = 0700;

enum class Replace { never, allowed };

// Writes `bytes` to `path` atomically with `mode`. With Replace::never an
// existing file is an error (exit 5) and is left untouched.
void write_file_atomic(const fs::path& path, std::string_view bytes, unsigned mode,
                       Replace replace = Replace::never);

// Creates `path` (which must not exist) with `mode` and writes it, without
// the rename dance: for files inside a private staging directory that is
// published as a whole. With Sync::now the file is fsynced; with
// Sync::deferred the caller makes it durable later (sync_filesystem).
enum class Sync { now, deferred };
void write_new_file_durable(const fs::path& path, std::string_view bytes, unsigned mode, Sync sync = Sync::now);

// syncfs(2) on the filesystem holding `path`: one flush for a whole batch of
// staged files instead of one fsync per file.
void sync_filesystem(const fs::path& path);

// Reads a whole regular file; nullopt when it does not exist. Refuses
// symlinks and files larger than `max_bytes` (exit 3 for the size, 5 for I/O).
std::optional<std::string> read_file_if_exists(const fs::path& path,
                                               std::size_t max_bytes = 16 * 1024 * 1024);
std::string read_file(const fs::path& path, std::size_t max_bytes = 16 * 1024 * 1024);

// Calls `on_line` with every line of the regular file at `path`, in order,
// without its newline, reading a bounded buffer at a time: for files that
// grow without end (the transcript gains a record per cluster per run), so
// memory is bounded by the longest line, not the file. `terminated` is
// false only for a last line without its newline. Refuses symlinks, a
// missing file (exit 3) and a line longer than `max_line` bytes (exit 3).
void for_each_line(const fs::path& path, const std::function<void(std::string_view line, bool terminated)>& on_line,
                   std::size_t max_line = std::size_t{256} * 1024 * 1024);

// Creates `dir` (and missing parents) with `mode`; an existing directory is
// accepted as it is. A path that exists but is not a directory is an error.
void ensure_directory(const fs::path& dir, unsigned mode = kPrivateDirMode);

// Error(output) "PATH: already exists; WHY" when anything (a link too) is at
// `path`: for commands that never replace what they would write.
void refuse_existing_path(const fs::path& path, const std::string& why);

void fsync_directory(const fs::path& dir);

// A private directory under `out/.meshca-tmp/` that is removed on
// destruction unless it was published. Its contents move into place in one
// rename.
class StagingDirectory {
 public:
  explicit StagingDirectory(const fs::path& out_dir);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  const fs::path& path() const { return path_; }
  // fsyncs the staging directory (its files were written with
  // write_new_file_durable), then renames it to `target` without replacing
  // anything that exists there (exit 5 if it does) and fsyncs the parent.
  void publish(const fs::path& target);
  // Only the rename: for batches whose contents were already made durable
  // with sync_filesystem(). The caller fsyncs the parent directories.
  void publish_synced(const fs::path& target);
  // Replaces the existing directory `target` and keeps what it held:
  // archive first, publish second. `archive` must not exist (checked before
  // anything moves; exit 5). `target` is renamed to `archive`, then the
  // staged directory to `target`, each without replacing anything. A stop
  // between the two renames leaves the old bundle archived and no bundle at
  // `target`, which the next run issues afresh. Nothing is ever deleted. The
  // caller fsyncs the parent directories.
  void replace_synced(const fs::path& target, const fs::path& archive);
  // Swaps the staged directory with `target` (RENAME_EXCHANGE); the staging
  // path then holds the previous contents, removed with this object. For
  // rewrites whose previous contents are superseded copies (a bundle whose
  // only new file is its CRL); the caller fsyncs the parent directory.
  void exchange_synced(const fs::path& target);

 private:
  fs::path path_;
  bool published_ = false;
};

// Removes the temporary siblings write_file_atomic() leaves when a process is
// killed mid-write (".<name>.tmp-<random>" next to each of `paths`).
// Returns how many were removed.
std::size_t remove_stale_temp_files(const std::vector<fs::path>& paths);

// Removes leftovers of interrupted runs from `out/.meshca-tmp/`. Returns how
// many entries were removed.
std::size_t clean_staging_area(const fs::path& out_dir);

inline constexpr std::string_view kStagingDirName = ".meshca-tmp";

// std::filesystem without its exception: the libraries call the
// std::error_code overloads and turn a failure into an Error of `kind`
// (ErrorKind::output for OUT, invalid_input for a path the user gave)
// naming the path and the OS error, so no std::filesystem_error leaves them.
[[noreturn]] void throw_path_error(ErrorKind kind, const std::string& what, const fs::path& path, const std::error_code& ec);
// fs::status / fs::symlink_status: file_type::not_found when nothing is
// there; the error when the OS cannot tell (a name too long, a loop of
// links, a directory on the way that cannot be searched).
fs::file_status status_of(const fs::path& path, ErrorKind kind);
fs::file_status symlink_status_of(const fs::path& path, ErrorKind kind);
// fs::absolute(path).
fs::path absolute_path(const fs::path& path, ErrorKind kind);
// fs::weakly_canonical(fs::absolute(path)): where a path leads, for
// comparing two paths that may not exist yet.
fs::path resolved_path(const fs::path& path, ErrorKind kind);
// The entries of the directory `dir`, in the order it lists them; none when
// there is no directory at `dir` (nothing there, or not a directory).
std::vector<fs::directory_entry> directory_entries(const fs::path& dir, ErrorKind kind);

// Every durable step meshca takes (each fsync, syncfs, rename, transcript
// append and ledger write) is announced here first, in program order. The
// shipped binary installs no hook; the crash-point test binary
// (tests/crashpoint) installs one that stops the process hard at the N-th
// step, so crash safety is proven by walking every step deterministically.
using DurableStepHook = void (*)(std::string_view what, const fs::path& path);
void set_durable_step_hook(DurableStepHook hook);
void durable_step(std::string_view what, const fs::path& path);

}  // namespace meshca
