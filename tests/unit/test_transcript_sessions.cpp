// What `meshca audit --deployed` reads from the transcript
// (ceremony/transcript.hpp: recorded_sessions): every closing record's file
// digests with its line, so an earlier bundle is still known after a later
// session replaced it. The cases of the audit itself run on real ceremonies
// in tests/e2e/test_audit_deployed.sh.
#include <gtest/gtest.h>

#include "ceremony/transcript.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::ceremony {
namespace {

TEST(RecordedSessions, EveryClosingRecordWithItsLineAndFiles) {
  test::TempDir dir;
  const auto path = dir.path() / "transcript.jsonl";
  {
    TranscriptWriter w(path);
    w.record("open", {{"plan_digest", "abc"}});
    w.record("close", {{"manifest", "complete"}, {"files", {{"prod/east/ca-cert.pem", std::string(64, '1')}}}});
    w.record("open", {{"plan_digest", "abc"}});
    w.record("intermediate", {{"mesh", "prod"}, {"cluster", "east"}});
    w.record("close",
             {{"manifest", "complete"},
              {"files",
               {{"prod/east/ca-cert.pem", std::string(64, '2')}, {"retired/prod/east/0A/ca-cert.pem", std::string(64, '1')}, {"odd", 7}}}});
  }
  const auto sessions = recorded_sessions(path);
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].line, 2u);
  EXPECT_EQ(sessions[0].files, (std::map<std::string, std::string>{{"prod/east/ca-cert.pem", std::string(64, '1')}}));
  EXPECT_EQ(sessions[1].line, 5u);
  // A digest that is not a string is no record of a file.
  EXPECT_EQ(sessions[1].files, (std::map<std::string, std::string>{{"prod/east/ca-cert.pem", std::string(64, '2')},
                                                                   {"retired/prod/east/0A/ca-cert.pem", std::string(64, '1')}}));
}

}  // namespace
}  // namespace meshca::ceremony
