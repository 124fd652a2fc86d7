#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/secret_source.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca {
namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(AtomicWrite, CreatesWithExactModeEvenUnderPermissiveUmask) {
  test::TempDir dir;
  mode_t old = ::umask(0);
  write_file_atomic(dir.path() / "key.pem", "secret", kPrivateFileMode);
  ::umask(old);
  EXPECT_EQ(mode_of(dir.path() / "key.pem"), 0600u);
  EXPECT_EQ(read_file(dir.path() / "key.pem"), "secret");
}

TEST(AtomicWrite, NeverOverwritesUnlessAllowed) {
  test::TempDir dir;
  write_file_atomic(dir.path() / "a", "one", kPublicFileMode);
  try {
    write_file_atomic(dir.path() / "a", "two", kPublicFileMode);
    FAIL() << "overwrote an existing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::output);
    EXPECT_NE(std::string(e.what()).find("refusing to overwrite"), std::string::npos);
  }
  EXPECT_EQ(read_file(dir.path() / "a"), "one");
  write_file_atomic(dir.path() / "a", "three", kPublicFileMode, Replace::allowed);
  EXPECT_EQ(read_file(dir.path() / "a"), "three");
  // No temp files are left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST(AtomicWrite, ReportsMissingDirectoryAsOutputError) {
  test::TempDir dir;
  try {
    write_file_atomic(dir.path() / "missing" / "file", "x", kPublicFileMode);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::output);
    EXPECT_NE(e.where().find("missing"), std::string::npos);
  }
}

TEST(ReadFile, RefusesSymlinksAndOversizedFiles) {
  test::TempDir dir;
  write_file_atomic(dir.path() / "real", "data", kPublicFileMode);
  fs::create_symlink(dir.path() / "real", dir.path() / "link");
  EXPECT_THROW(read_file(dir.path() / "link"), Error);
  EXPECT_THROW(read_file(dir.path() / "real", 2), Error);
  EXPECT_FALSE(read_file_if_exists(dir.path() / "absent").has_value());
}

// Lines are handed over whole however they fall across the reader's
// 1 MiB buffer: empty lines, a line longer than the buffer, a last line
// without its newline (reported as such); an over-long line is refused.
TEST(ForEachLine, StreamsLinesAcrossBufferBoundaries) {
  test::TempDir dir;
  const std::string long_line(std::size_t{3} * 1024 * 1024 + 17, 'x');
  const std::vector<std::string> expected{"first", "", long_line, std::string(std::size_t{1024} * 1024 - 7, 'y'), "z", "last"};
  std::string text;
  for (const auto& l : expected) text += l + "\n";
  text.pop_back();  // the last line ends without a newline
  write_file_atomic(dir.path() / "lines", text, kPublicFileMode);
  std::vector<std::string> got;
  std::vector<bool> terminated;
  for_each_line(dir.path() / "lines", [&](std::string_view line, bool t) {
    got.emplace_back(line);
    terminated.push_back(t);
  });
  EXPECT_EQ(got, expected);
  EXPECT_EQ(terminated, (std::vector<bool>{true, true, true, true, true, false}));
  EXPECT_THROW(for_each_line(
                   dir.path() / "lines", [](std::string_view, bool) {}, std::size_t{1024} * 1024),
               Error);
  EXPECT_THROW(for_each_line(dir.path() / "absent", [](std::string_view, bool) {}), Error);
  fs::create_symlink(dir.path() / "lines", dir.path() / "link");
  EXPECT_THROW(for_each_line(dir.path() / "link", [](std::string_view, bool) {}), Error);
}

TEST(StagingDirectory, PublishesWholeAndRefusesExistingTarget) {
  test::TempDir dir;
  {
    StagingDirectory staging(dir.path());
    write_file_atomic(staging.path() / "f", "1", kPublicFileMode);
    staging.publish(dir.path() / "bundle");
  }
  EXPECT_EQ(read_file(dir.path() / "bundle" / "f"), "1");
  EXPECT_EQ(mode_of(dir.path() / "bundle"), 0700u);
  {
    StagingDirectory staging(dir.path());
    write_file_atomic(staging.path() / "f", "2", kPublicFileMode);
    EXPECT_THROW(staging.publish(dir.path() / "bundle"), Error);
  }
  EXPECT_EQ(read_file(dir.path() / "bundle" / "f"), "1");
  // The refused staging directory was removed.
  EXPECT_EQ(clean_staging_area(dir.path()), 0u);
}

TEST(StagingDirectory, LeftoversAreCleanedOnNextRun) {
  test::TempDir dir;
  auto area = dir.path() / std::string(kStagingDirName);
  fs::create_directories(area / "stage-crashed");
  write_file_atomic(area / "stage-crashed" / "ca-key.pem", "k", kPrivateFileMode);
  EXPECT_EQ(clean_staging_area(dir.path()), 1u);
  EXPECT_FALSE(fs::exists(area / "stage-crashed"));
}

TEST(SecretSource, ParsesReferencesAndRejectsLiterals) {
  EXPECT_EQ(SecretRef::parse("env:MESHCA_PIN").value, "MESHCA_PIN");
  EXPECT_EQ(SecretRef::parse("file:/run/pin").kind, SecretKind::file);
  EXPECT_EQ(SecretRef::parse("prompt").kind, SecretKind::prompt);
  EXPECT_THROW(SecretRef::parse("hunter2"), Error);
  EXPECT_THROW(SecretRef::parse("env:BAD-NAME"), Error);
  EXPECT_THROW(SecretRef::parse("env:"), Error);
}

TEST(SecretSource, ReadsEnvAndPrivateFilesOnly) {
  test::TempDir dir;
  ::setenv("MESHCA_TEST_SECRET", "s3cret-value", 1);
  auto from_env = resolve_secret(SecretRef::parse("env:MESHCA_TEST_SECRET"), "test secret", {}, dir.path(), ErrorKind::key_store);
  EXPECT_EQ(from_env.view(), "s3cret-value");
  ::unsetenv("MESHCA_TEST_SECRET");
  try {
    resolve_secret(SecretRef::parse("env:MESHCA_TEST_SECRET"), "test secret", {}, dir.path(), ErrorKind::key_store);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::key_store);
  }

  write_file_atomic(dir.path() / "pin", "1234\n", 0600);
  EXPECT_EQ(resolve_secret(SecretRef::parse("file:pin"), "pin", {}, dir.path(), ErrorKind::key_store).view(), "1234");
  ::chmod((dir.path() / "pin").c_str(), 0644);
  EXPECT_THROW(resolve_secret(SecretRef::parse("file:pin"), "pin", {}, dir.path(), ErrorKind::key_store), Error);

  // A prompt without a terminal is an error, never an empty secret.
  EXPECT_THROW(resolve_secret(SecretRef::parse("prompt"), "pin", {}, dir.path(), ErrorKind::key_store), Error);
  SecretPrompt typed = [](const std::string&, bool) { return SecureBuffer("typed"); };
  EXPECT_EQ(resolve_secret(SecretRef::parse("prompt"), "pin", typed, dir.path(), ErrorKind::key_store).view(), "typed");
}

TEST(SecureBuffer, GrowsAndComparesWithoutLosingBytes) {
  SecureBuffer b;
  for (int i = 0; i < 1000; ++i) b.append(static_cast<char>('a' + i % 26));
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.view().substr(0, 3), "abc");
  SecureBuffer c(b.view());
  EXPECT_TRUE(b.equals(c));
  c.append('x');
  EXPECT_FALSE(b.equals(c));
  b.clear();
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace meshca
