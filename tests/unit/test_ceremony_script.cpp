#include <gtest/gtest.h>

#include "plan/ceremony_script.hpp"
#include "plan/plan_digest.hpp"
#include "plan/plan_reader.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {
namespace {

Plan template_plan(const std::string& name, const std::string& extra = "") {
  std::string e;
  return parse_plan(std::string(*templates::plan_template(name)) + extra, name + ".yaml", ".", *parse_rfc3339("2026-11-24T12:00:00Z", e));
}

TEST(CeremonyScript, NumbersTheRunsRecordsInOrder) {
  const auto plan = template_plan("two-meshes");
  const auto script = ceremony_steps(plan);
  // open, confirm, root key, root certificate, one per cluster, close
  ASSERT_EQ(script.steps.size(), 4 + plan.cluster_count() + 1);
  for (std::size_t i = 0; i < script.steps.size(); ++i) EXPECT_EQ(script.steps[i].number, i + 1);
  EXPECT_EQ(script.steps[0].record, "open");
  EXPECT_EQ(script.steps[1].record, "confirm");
  EXPECT_EQ(script.steps[2].record, "root-key");
  EXPECT_EQ(script.steps[3].record, "root-certificate");
  EXPECT_EQ(script.steps[4].subject, plan.meshes[0].name + "/" + plan.meshes[0].clusters[0].name);
  EXPECT_EQ(script.steps.back().record, "close");
  EXPECT_EQ(script.number_of("close"), script.steps.size());
  EXPECT_EQ(script.number_of("intermediate", "staging/ap-south-1"), script.steps.size() - 1);
  EXPECT_EQ(script.number_of("intermediate", "staging/nowhere"), std::nullopt);
  EXPECT_EQ(script.number_of("crl"), std::nullopt);  // no revocation section
  EXPECT_EQ(script.step(5)->title, "Intermediate CA " + script.steps[4].subject);
  EXPECT_EQ(script.step(0), nullptr);
  EXPECT_EQ(script.step(script.steps.size() + 1), nullptr);
}

TEST(CeremonyScript, ShowsWhatIsKnownBeforeTheRunAndLeavesBlanksForTheRest) {
  const auto plan = template_plan("two-meshes");
  const auto script = ceremony_steps(plan);
  EXPECT_EQ(script.plan_digest, plan_digest(plan.text, plan.source.string()));
  auto value = [](const ScriptStep& s, const std::string& what) {
    for (const auto& [k, v] : s.expected)
      if (k == what) return v;
    return std::string("(absent)");
  };
  EXPECT_EQ(value(script.steps[1], "plan digest"), script.plan_digest);
  EXPECT_EQ(value(script.steps[1], "typed"), script.plan_digest.substr(0, kConfirmDigestChars));
  EXPECT_NE(value(script.steps[2], "root key").find("PKCS#11 token 'acme-root'"), std::string::npos);
  EXPECT_EQ(value(script.steps[3], "subject"), plan.root.subject.to_string());
  EXPECT_EQ(script.steps[3].blanks, std::vector<std::string>{"root certificate SHA-256 (first 8 bytes)"});
  EXPECT_EQ(value(script.steps[4], "subject"), plan.meshes[0].clusters[0].intermediate.subject.to_string());
  EXPECT_EQ(value(script.steps.back(), "bundles issued, renewed or kept"), std::to_string(plan.cluster_count()));
  EXPECT_EQ(script.steps.back().blanks.back(), "transcript head (64 hex digits)");
}

TEST(CeremonyScript, RevocationAddsTheCrlStepBeforeTheClusters) {
  const auto script = ceremony_steps(template_plan("single-mesh", "revocation: {crl: true}\n"));
  EXPECT_EQ(script.number_of("crl"), 5u);
  EXPECT_EQ(script.steps[5].record, "intermediate");
}

// A cluster that keeps its own key: the sheet shows the pin the auditor
// approved, so the witnesses see which key the room certifies.
TEST(CeremonyScript, PinnedClusterKeyShowsItsSpkiPin) {
  std::string text(*templates::plan_template("single-mesh"));
  const std::string pin(64, 'a');
  const std::string cluster = "- {name: us-west-2}";
  text.replace(text.find(cluster), cluster.size(),
               "- {name: us-west-2, intermediate: {csr: {path: west.csr.pem, spki_sha256: " + pin + "}}}");
  std::string e;
  const auto plan = parse_plan(text, "single-mesh.yaml", ".", *parse_rfc3339("2026-11-24T12:00:00Z", e), PinnedKeyFiles::skip);
  const auto script = ceremony_steps(plan);
  const auto* west = script.step(*script.number_of("intermediate", "prod/us-west-2"));
  const auto* east = script.step(*script.number_of("intermediate", "prod/us-east-1"));
  ASSERT_NE(west, nullptr);
  ASSERT_NE(east, nullptr);
  EXPECT_EQ(west->expected.back(), (std::pair<std::string, std::string>{"pinned SPKI SHA-256", pin}));
  EXPECT_NE(west->expected[2].second.find("the cluster's own key"), std::string::npos);
  EXPECT_NE(east->expected.back().first, "pinned SPKI SHA-256");
  EXPECT_NE(render_ceremony_script(script, ScriptFormat::html).find(pin), std::string::npos);
}

TEST(CeremonyScript, HtmlIsPrintReadyAndSelfContained) {
  const auto script = ceremony_steps(template_plan("two-meshes"));
  const auto html = render_ceremony_script(script, ScriptFormat::html);
  EXPECT_NE(html.find("@page{size:A4"), std::string::npos);
  // A page break before steps 1, 4, 7, 10 and before the closing checks.
  std::size_t breaks = 0;
  for (auto at = html.find("<div class=\"page\">"); at != std::string::npos; at = html.find("<div class=\"page\">", at + 1)) ++breaks;
  EXPECT_EQ(breaks, (script.steps.size() + 2) / 3 + 1);
  for (const char* network : {"http:", "https:", "//", "src=", "href=", "url(", "@import"}) {
    EXPECT_EQ(html.find(network), std::string::npos) << network;
  }
  for (const auto& step : script.steps) {
    EXPECT_NE(html.find("Step " + std::to_string(step.number) + ". "), std::string::npos) << step.number;
  }
  EXPECT_NE(html.find(script.plan_digest), std::string::npos);
}

TEST(CeremonyScript, MarkdownNumbersEveryStep) {
  const auto script = ceremony_steps(template_plan("single-mesh"));
  const auto md = render_ceremony_script(script, ScriptFormat::markdown);
  for (const auto& step : script.steps) {
    EXPECT_NE(md.find("### Step " + std::to_string(step.number) + ". " + step.title), std::string::npos) << step.number;
  }
  EXPECT_NE(md.find("### P1. "), std::string::npos);
  EXPECT_NE(md.find("### C1. Verify the transcript"), std::string::npos);
  EXPECT_EQ(parse_script_format("pdf"), std::nullopt);
}

}  // namespace
}  // namespace meshca::ceremony
