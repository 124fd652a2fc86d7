#include <gtest/gtest.h>

#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "plan/plan_digest.hpp"
#include "templates/embedded.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::ceremony {
namespace {

class TranscriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TranscriptWriter w(path());
    w.record("open", {{"plan_digest", "abc"}});
    for (int i = 0; i < 4; ++i) w.record("intermediate", {{"n", i}});
    w.record("close", {{"files", {{"a.pem", std::string(64, '1')}}}});
  }
  std::filesystem::path path() const { return dir_.path() / "transcript.jsonl"; }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::string text = read_file(path());
    for (std::size_t start = 0; start < text.size();) {
      auto end = text.find('\n', start);
      out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }
  void rewrite(const std::vector<std::string>& ls, bool final_newline = true) {
    std::string text;
    for (std::size_t i = 0; i < ls.size(); ++i) text += ls[i] + (i + 1 < ls.size() || final_newline ? "\n" : "");
    write_file_atomic(path(), text, 0644, Replace::allowed);
  }
  std::vector<std::size_t> problem_lines() {
    std::vector<std::size_t> out;
    for (const auto& p : verify_transcript(path()).problems) out.push_back(p.line);
    return out;
  }
  test::TempDir dir_;
};

// Records written without script step numbers (other sessions, and every
// transcript older than step numbers) verify as before; their session has no
// step sequence to print.
TEST_F(TranscriptTest, RecordsWithoutStepNumbersVerifyAsBefore) {
  {
    TranscriptWriter w(path());
    w.record("open", {{"plan_digest", "def"}});
    w.record("root-key", {{"store", "file keys/root.pem"}, {"generated", true}}, Sync::now, 3);
    w.record("close", {{"outcome", "completed"}}, Sync::now, 4);
  }
  auto report = verify_transcript(path());
  EXPECT_TRUE(report.problems.empty());
  ASSERT_EQ(report.session_steps.size(), 2u);
  EXPECT_EQ(report.session_steps[0].plan_digest, "abc");
  EXPECT_TRUE(report.session_steps[0].records.empty());
  ASSERT_EQ(report.session_steps[1].records.size(), 2u);
  EXPECT_EQ(report.session_steps[1].records[0].number, 3u);
  EXPECT_EQ(report.session_steps[1].records[0].line, 8u);
  EXPECT_EQ(report.session_steps[1].records[0].shows, "generated, file keys/root.pem");
  EXPECT_EQ(report.session_steps[1].records[1].shows, "completed, head " + report.head);
  EXPECT_NE(lines()[8].find("\"script_step\":4"), std::string::npos);
}

TEST_F(TranscriptTest, IntactTranscriptVerifies) {
  auto report = verify_transcript(path());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.lines, 6u);
  EXPECT_EQ(report.sessions, 1u);
  EXPECT_EQ(report.files.size(), 1u);
}

TEST_F(TranscriptTest, EditedLineIsReportedAtTheNextLine) {
  auto ls = lines();
  ls[2].replace(ls[2].find("\"n\":1"), 5, "\"n\":9");
  rewrite(ls);
  EXPECT_EQ(problem_lines(), std::vector<std::size_t>{4});
}

TEST_F(TranscriptTest, DeletedLineIsReported) {
  auto ls = lines();
  ls.erase(ls.begin() + 2);
  rewrite(ls);
  auto p = problem_lines();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.front(), 3u);
}

TEST_F(TranscriptTest, InsertedAndReorderedLinesAreReported) {
  auto ls = lines();
  std::swap(ls[2], ls[3]);
  rewrite(ls);
  auto p = problem_lines();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.front(), 3u);

  ls = lines();
  std::swap(ls[2], ls[3]);  // restore
  ls.insert(ls.begin() + 1, ls[1]);
  rewrite(ls);
  p = problem_lines();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.front(), 3u);
}

TEST_F(TranscriptTest, TruncationIsReported) {
  auto ls = lines();
  ls.pop_back();  // the closing record is gone
  rewrite(ls);
  auto report = verify_transcript(path());
  EXPECT_TRUE(report.problems.empty());  // the chain itself is intact
  ASSERT_TRUE(report.unclosed.has_value());
  EXPECT_EQ(report.unclosed->line, 1u);
  EXPECT_NE(report.unclosed->message.find("no closing record"), std::string::npos);
  EXPECT_FALSE(report.complete());

  // A resumed ceremony continues the chain; the cut session stays visible.
  {
    TranscriptWriter resumed(path());
    resumed.record("open", {{"plan_digest", "abc"}});
    resumed.record("close", nlohmann::json::object());
  }
  report = verify_transcript(path());
  EXPECT_TRUE(report.complete());
  ASSERT_EQ(report.interrupted.size(), 1u);
  EXPECT_EQ(report.interrupted[0].line, 1u);
  EXPECT_EQ(report.sessions, 2u);

  ls = lines();
  ls.back().resize(ls.back().size() / 2);
  rewrite(ls, false);
  EXPECT_FALSE(verify_transcript(path()).problems.empty());
}

TEST_F(TranscriptTest, ATornLastLineIsCutAndReportedWhenTheTranscriptIsReopened) {
  auto ls = lines();
  const std::string before_tear = read_file(path());
  const std::string torn = ls.back().substr(0, 17);
  rewrite(ls, true);
  {  // a crash mid-append: part of a line, no newline
    std::string text = before_tear + torn;
    write_file_atomic(path(), text, 0644, Replace::allowed);
  }
  EXPECT_FALSE(verify_transcript(path()).problems.empty());
  {
    TranscriptWriter resumed(path());
    ASSERT_FALSE(resumed.torn_tail().is_null());
    EXPECT_EQ(resumed.torn_tail()["bytes"], torn.size());
    resumed.record("open", {{"cut_torn_line", resumed.torn_tail()}});
    resumed.record("close", nlohmann::json::object());
  }
  auto report = verify_transcript(path());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(read_file(path()).substr(0, before_tear.size()), before_tear);
}

// The torn tail is found by reading back from the end of the file, in
// blocks: one longer than a block (a closing record with thousands of file
// digests) is cut whole, and nothing before it.
TEST_F(TranscriptTest, ATornLineLongerThanAReadBlockIsCutWhole) {
  const std::string before_tear = read_file(path());
  const std::string torn = "{\"seq\":7,\"details\":\"" + std::string(std::size_t{200} * 1024, 'd');
  write_file_atomic(path(), before_tear + torn, 0644, Replace::allowed);
  {
    TranscriptWriter resumed(path());
    EXPECT_EQ(resumed.torn_tail()["bytes"], torn.size());
    EXPECT_EQ(resumed.torn_tail()["sha256"], sha256_hex(torn));
  }
  EXPECT_EQ(read_file(path()), before_tear);
  EXPECT_TRUE(verify_transcript(path()).problems.empty());
}

// The writer checks the chain without parsing every line (it hashes them
// and compares each line's own prev and seq); it must refuse exactly what
// the full check refuses.
TEST_F(TranscriptTest, TheWritersQuickChainCheckRefusesWhatTheFullCheckRefuses) {
  const auto original = lines();
  std::vector<std::pair<std::string, std::vector<std::string>>> cases;
  auto edited = original;
  edited[2].replace(edited[2].find("\"n\":1"), 5, "\"n\":9");  // a value, still valid JSON
  cases.emplace_back("a value edited", edited);
  edited = original;
  edited.erase(edited.begin() + 3);
  cases.emplace_back("a line removed", edited);
  edited = original;
  std::swap(edited[2], edited[3]);
  cases.emplace_back("two lines swapped", edited);
  edited = original;
  edited.insert(edited.begin() + 2, edited[2]);
  cases.emplace_back("a line repeated", edited);
  edited = original;
  edited[1] = "{\"details\":{\"prev\":\"" + std::string(64, '0') + "\"}," + edited[1].substr(1);
  cases.emplace_back("a nested prev planted in the first line", edited);
  edited = original;
  edited.back().replace(edited.back().find("\"seq\":"), 6, "\"seq\":9");  // the last line, whose hash nothing checks
  cases.emplace_back("the last line's seq", edited);
  edited = original;
  edited.back() = "not json";
  cases.emplace_back("the last line not JSON", edited);
  cases.emplace_back("intact", original);
  for (const auto& [what, ls] : cases) {
    rewrite(ls);
    const bool full_refuses = !verify_transcript(path()).problems.empty();
    bool writer_refuses = false;
    try {
      TranscriptWriter w(path());
    } catch (const Error&) {
      writer_refuses = true;
    }
    EXPECT_EQ(writer_refuses, full_refuses) << what;
    EXPECT_EQ(full_refuses, what != "intact") << what;
  }
}

TEST_F(TranscriptTest, TamperedTranscriptIsNeverExtended) {
  auto ls = lines();
  ls[1] += " ";
  rewrite(ls);
  EXPECT_THROW(TranscriptWriter w(path()), Error);
}

TEST(PlanDigest, IgnoresLayoutCommentsAndKeyOrderButNotValues) {
  const std::string a = "b: 1\na: [x, y]\n# comment\nc: {d: e}\n";
  const std::string b = "a:\n  - x\n  - y\nc:\n  d: e   # other comment\nb: '1'\n";
  EXPECT_EQ(plan_digest(a, "a"), plan_digest(b, "b"));
  EXPECT_NE(plan_digest(a, "a"), plan_digest("b: 2\na: [x, y]\nc: {d: e}\n", "c"));
  EXPECT_NE(plan_digest(a, "a"), plan_digest("b: 1\na: [y, x]\nc: {d: e}\n", "c"));
  EXPECT_EQ(plan_digest(a, "a").size(), 64u);
  EXPECT_THROW(plan_digest("a: [", "bad"), Error);
}

TEST(PlanDigest, EverySemanticFieldOfTheExamplePlanCounts) {
  const std::string base(*templates::plan_template("two-meshes"));
  const std::string digest = plan_digest(base, "p");
  const std::vector<std::pair<std::string, std::string>> edits{
      {"name: acme-fleet-2026", "name: acme-fleet-2027"},
      {"organization: Acme Corp", "organization: Acme Inc"},
      {"CN: Acme Fleet Root CA 2026", "CN: Acme Fleet Root CA 2027"},
      {"algorithm: ecdsa-p384", "algorithm: rsa-4096"},
      {"store: pkcs11", "store: file"},
      {"token: acme-root", "token: other-root"},
      {"label: root-2026", "label: root-2027"},
      {"pin: env:MESHCA_PIN", "pin: prompt"},
      {"validity: 20y", "validity: 25y"},
      {"path_len: 1", "path_len: 2"},
      {"validity: 2y", "validity: 3y"},
      {"name_constraints: trust_domain", "name_constraints: none"},
      {"trust_domain: prod.acme.internal", "trust_domain: prod2.acme.internal"},
      {"{name: us-west-2}", "{name: us-west-3}"},
      {"namespace: istio-system", "namespace: istio-ca"},
      {"layouts: [istio-cacerts, k8s-secret]", "layouts: [istio-cacerts]"},
  };
  for (const auto& [from, to] : edits) {
    std::string changed = base;
    auto at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
    EXPECT_NE(plan_digest(changed, "p"), digest) << from << " -> " << to;
  }
  // Reordered top-level keys and stripped comments: the same digest.
  std::string reordered;
  std::string outputs = base.substr(base.find("outputs:"));
  std::string rest = base.substr(0, base.find("outputs:"));
  for (std::size_t start = 0; start < rest.size();) {
    auto end = rest.find('\n', start);
    std::string line = rest.substr(start, end - start);
    start = end + 1;
    if (!line.starts_with("#")) reordered += line + "\n";
  }
  EXPECT_EQ(plan_digest(outputs + "\n" + reordered, "p"), digest);
}

}  // namespace
}  // namespace meshca::ceremony
