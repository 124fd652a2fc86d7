// Paths the operating system cannot resolve reach the libraries as
// meshca::Error of the kind the caller documents, naming the path, and
// never as std::filesystem_error (which the CLI treats as a bug). Two odd
// paths fail for root too: a name longer than NAME_MAX (ENAMETOOLONG) and a
// loop of symbolic links (ELOOP).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "ceremony/audit.hpp"
#include "ceremony/issuance.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/tar_archive.hpp"
#include "plan/plan.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca {
namespace {

class PathErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory_symlink(dir_.path() / "loop-b", dir_.path() / "loop-a");
    fs::create_directory_symlink(dir_.path() / "loop-a", dir_.path() / "loop-b");
  }

  // A name no file system accepts (ENAMETOOLONG).
  fs::path too_long() const { return dir_.path() / std::string(300, 'x'); }
  // A path through a loop of symbolic links (ELOOP).
  fs::path in_loop() const { return dir_.path() / "loop-a" / "bundle"; }

  test::TempDir dir_;
};

// `call` throws meshca::Error of `kind` naming `path`.
void expect_error(const std::function<void()>& call, ErrorKind kind, const fs::path& path) {
  try {
    call();
    ADD_FAILURE() << "no error for " << path;
  } catch (const fs::filesystem_error& e) {
    ADD_FAILURE() << "std::filesystem_error left the library: " << e.what();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(e.where(), path.string()) << e.what();
  }
}

TEST_F(PathErrors, CoreHelpersThrowErrorOfTheCallersKind) {
  for (const fs::path& path : {too_long(), in_loop()}) {
    expect_error([&] { status_of(path, ErrorKind::output); }, ErrorKind::output, path);
    expect_error([&] { symlink_status_of(path / "file", ErrorKind::invalid_input); }, ErrorKind::invalid_input, path / "file");
    expect_error([&] { resolved_path(path, ErrorKind::invalid_input); }, ErrorKind::invalid_input, path);
    expect_error([&] { directory_entries(path, ErrorKind::output); }, ErrorKind::output, path);
  }
}

TEST_F(PathErrors, NothingThereIsAnAnswerNotAnError) {
  EXPECT_EQ(status_of(dir_.path() / "absent", ErrorKind::output).type(), fs::file_type::not_found);
  EXPECT_TRUE(directory_entries(dir_.path() / "absent", ErrorKind::output).empty());
  EXPECT_EQ(resolved_path(dir_.path() / "absent" / ".." / "x", ErrorKind::output), dir_.path() / "x");
}

TEST_F(PathErrors, ExportAndChecksumsReportTheDirectoryTheyCannotRead) {
  for (const fs::path& path : {too_long(), in_loop()}) {
    expect_error([&] { output_layout::collect_tar_entries(path, "prod/a"); }, ErrorKind::output, path);
    expect_error([&] { output_layout::output_file_digests(path); }, ErrorKind::output, path);
  }
}

TEST_F(PathErrors, RootKeyCheckNamesTheKeyPathItCannotResolve) {
  hsm::RootKeyRef key;
  key.file.path = in_loop() / "root.pem";
  expect_error([&] { ceremony::refuse_root_key_inside(key, dir_.path(), dir_.path() / "out"); }, ErrorKind::invalid_input, key.file.path);
}

TEST_F(PathErrors, AuditOfAnUnreadableOutputPathIsInvalidInput) {
  const ceremony::Plan plan;  // the output directory is refused before the plan is read
  for (const fs::path& path : {too_long(), in_loop()}) {
    expect_error([&] { ceremony::audit_output(plan, path, {}); }, ErrorKind::invalid_input, path);
  }
}

}  // namespace
}  // namespace meshca
