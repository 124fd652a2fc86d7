#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "plan/plan_reader.hpp"
#include "plan/plan_view.hpp"
#include "plan/readable_text.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {
namespace {

UnixTime at() {
  std::string e;
  return *parse_rfc3339("2026-11-24T12:00:00Z", e);
}

Plan template_plan(const std::string& name) {
  return parse_plan(std::string(*templates::plan_template(name)), name + ".yaml", ".", at());
}

TEST(PlanView, ResolvesEveryCertificateWithAbsoluteTimes) {
  auto view = plan_view(template_plan("two-meshes"), at());
  ASSERT_EQ(view.certificates.size(), 7u);
  const auto& root = view.certificates.front();
  EXPECT_EQ(root.role, "root");
  EXPECT_EQ(root.field("not after"), "2046-11-24T12:00:00Z");
  EXPECT_EQ(root.field("basic constraints"), "critical, CA:TRUE, pathlen:1");
  EXPECT_NE(root.field("key location").find("PKCS#11 token 'acme-root'"), std::string::npos);
  const auto& staging = view.certificates.back();
  EXPECT_EQ(staging.id, "staging/ap-south-1");
  EXPECT_EQ(staging.field("key"), "ecdsa-p384");
  EXPECT_EQ(staging.field("not after"), "2027-05-23T12:00:00Z");  // 180 days
  EXPECT_EQ(staging.field("name constraints"), "critical, permitted URI:staging.acme.internal");
  EXPECT_EQ(view.digest.size(), 64u);
}

TEST(PlanView, StatesWhenEachCertificateMustBeReplaced) {
  auto view = plan_view(template_plan("two-meshes"), at());
  // Root 20y: at two thirds of its life; the date depends on the root alone
  // (check-expiry gives the same date for the issued root).
  EXPECT_EQ(view.certificates.front().field("rotate by").substr(0, 20), "2040-03-25T12:00:00Z");
  EXPECT_NE(view.certificates.front().field("rotate by").find("meshca rotate phases"), std::string::npos);
  // 180 days: renew after 120 days, with the command that does it.
  const auto& staging = view.certificates.back();
  EXPECT_EQ(staging.field("renew by").substr(0, 20), "2027-03-24T12:00:00Z");
  EXPECT_NE(staging.field("renew by").find("--renew staging/ap-south-1"), std::string::npos);
  auto json = nlohmann::json::parse(render_plan_view(view, ViewFormat::json));
  EXPECT_TRUE(json["certificates"][0]["fields"].contains("rotate by"));
}

bool has_warning(const PlanView& v, const std::string& subject, const std::string& fragment) {
  for (const auto& w : v.warnings)
    if (w.subject == subject && w.message.find(fragment) != std::string::npos) return true;
  return false;
}

TEST(PlanView, WarnsAuditorsAboutWeakOrRiskyChoices) {
  std::string text(*templates::plan_template("single-mesh"));
  text.replace(text.find("algorithm: ecdsa-p384"), 21, "algorithm: rsa-2048");
  text.replace(text.find("validity: 20y"), 13, "validity: 30y");
  text.replace(text.find("{name: us-west-2}"), 17, "{name: us-west-2, intermediate: {validity: 30d, name_constraints: none}}");
  auto view = plan_view(parse_plan(text, "p.yaml", ".", at()), at());
  EXPECT_TRUE(has_warning(view, "root", "RSA-2048"));
  EXPECT_TRUE(has_warning(view, "root", "encrypted file"));
  EXPECT_TRUE(has_warning(view, "root", "longer than 25 years"));
  EXPECT_TRUE(has_warning(view, "prod/us-west-2", "shorter than 90 days"));
  EXPECT_TRUE(has_warning(view, "prod/us-west-2", "no name constraints"));
  EXPECT_FALSE(has_warning(view, "prod/us-east-1", "no name constraints"));

  auto two = plan_view(template_plan("two-meshes"), at());
  EXPECT_TRUE(has_warning(two, "plan", "'us-east-1' is used in meshes prod, staging"));
  EXPECT_FALSE(has_warning(two, "root", "encrypted file"));
}

TEST(PlanView, RendersEveryFormat) {
  auto view = plan_view(template_plan("two-meshes"), at());
  auto json = nlohmann::json::parse(render_plan_view(view, ViewFormat::json));
  EXPECT_EQ(json["certificates"].size(), 7u);
  EXPECT_EQ(json["certificates"][1]["fields"]["subject"], "O=Acme Corp, OU=prod, CN=us-east-1 Intermediate CA");
  EXPECT_EQ(json["digest"], view.digest);

  auto dot = render_plan_view(view, ViewFormat::dot);
  EXPECT_TRUE(dot.starts_with("digraph \"acme-fleet-2026\""));
  EXPECT_NE(dot.find("\"mesh:staging\" -> \"staging/ap-south-1\""), std::string::npos);

  auto html = render_plan_view(view, ViewFormat::html);
  EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://", html.find("</svg>")), std::string::npos);  // no external resources
  EXPECT_TRUE(html.ends_with("</html>\n"));
  // Six clusters: the tree scales to the page width instead of being cut off.
  EXPECT_NE(html.find("viewBox=\"0 0 1280 306\" style=\"max-width:100%;height:auto\""), std::string::npos);

  auto md = render_plan_view(view, ViewFormat::markdown);
  EXPECT_NE(md.find("## Intermediate CA `staging/eu-west-1`"), std::string::npos);
  auto text = render_plan_view(view, ViewFormat::text);
  EXPECT_NE(text.find("└── mesh staging (trust domain staging.acme.internal)"), std::string::npos);
  EXPECT_FALSE(parse_view_format("pdf").has_value());
}

TEST(PlanDiff, ReportsAddedRemovedAndChangedFields) {
  std::string text(*templates::plan_template("single-mesh"));
  auto before = plan_view(parse_plan(text, "a.yaml", ".", at()), at());
  EXPECT_TRUE(plan_diff(before, before).empty());
  text.replace(text.find("{name: us-west-2}"), 17, "{name: us-west-3}");
  text.replace(text.find("key: {algorithm: ecdsa-p256}"), 28, "key: {algorithm: ecdsa-p384}");
  auto after = plan_view(parse_plan(text, "b.yaml", ".", at()), at());
  auto changes = plan_diff(before, after);
  auto has = [&](const std::string& id, const std::string& kind, const std::string& field) {
    for (const auto& c : changes)
      if (c.id == id && c.kind == kind && c.field == field) return true;
    return false;
  };
  EXPECT_TRUE(has("prod/us-west-2", "removed", ""));
  EXPECT_TRUE(has("prod/us-west-3", "added", ""));
  EXPECT_TRUE(has("prod/us-east-1", "changed", "key"));
  EXPECT_FALSE(has("root", "changed", "key"));
  auto j = diff_to_json(changes);
  EXPECT_EQ(j.size(), changes.size());
  EXPECT_NE(render_diff_text(changes).find("~ prod/us-east-1: key: ecdsa-p256 -> ecdsa-p384"), std::string::npos);
}


// ---- names an auditor can read (issue 15) -------------------------------------

// The parser refuses these characters; a view escapes any that reach it
// anyway, in every format, and never prints the raw character.
TEST(PlanView, EscapesUnreadableCharactersInEveryFormat) {
  const std::string rlo = "\u202E";  // RIGHT-TO-LEFT OVERRIDE
  Plan plan = template_plan("two-meshes");
  plan.name = "plan" + rlo;
  plan.description = "approved" + rlo + "by";
  plan.meshes[0].name = "pr" + rlo + "od";
  plan.meshes[0].trust_domain = "td" + rlo + ".example";
  plan.meshes[0].clusters[0].name = "ea\u200Bst";  // ZERO WIDTH SPACE
  plan.meshes[0].clusters[0].intermediate.subject = pki::DistinguishedName::canonical({{"CN", "CA" + rlo + "1"}});
  auto view = plan_view(plan, at());
  const std::vector<std::pair<ViewFormat, std::string>> formats{{ViewFormat::text, "\\u{202E}"},
                                                                {ViewFormat::markdown, "\\u{202E}"},
                                                                {ViewFormat::html, "\\u{202E}"},
                                                                {ViewFormat::dot, "\\\\u{202E}"},
                                                                {ViewFormat::json, "\\u202E"}};
  for (const auto& [format, escape] : formats) {
    std::string shown = render_plan_view(view, format);
    SCOPED_TRACE(shown.substr(0, 300));
    EXPECT_EQ(shown.find(rlo), std::string::npos);
    EXPECT_EQ(shown.find("\u200B"), std::string::npos);
    EXPECT_NE(shown.find("pr" + escape + "od"), std::string::npos);
    EXPECT_EQ(first_unreadable(shown, true), std::nullopt);
  }
  // JSON keeps the values: a JSON reader gets the original strings back.
  auto json = nlohmann::json::parse(render_plan_view(view, ViewFormat::json));
  EXPECT_EQ(json["meshes"][0]["name"], "pr" + rlo + "od");
  EXPECT_EQ(json["name"], "plan" + rlo);
  EXPECT_NE(render_plan_view(view, ViewFormat::text).find("ea\\u{200B}st"), std::string::npos);
}

TEST(ReadableText, NamesCodePointsAndNeverSplitsACharacter) {
  EXPECT_EQ(code_point_label(0x202E), "U+202E RIGHT-TO-LEFT OVERRIDE");
  EXPECT_EQ(code_point_label(0x7), "U+0007 control character");
  EXPECT_EQ(code_point_label(0xE9), "U+00E9");
  EXPECT_EQ(code_point_label(0xE0041), "U+E0041 TAG character");
  auto bad = first_unreadable("ab\u2066c", false);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->code_point, 0x2066u);
  EXPECT_EQ(bad->position, 3u);
  EXPECT_EQ(first_unreadable("line\n\tnext é", true), std::nullopt);
  EXPECT_TRUE(first_unreadable("line\nnext", false).has_value());
  EXPECT_TRUE(first_unreadable("bad \xC3", false)->malformed);

  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "é";
  std::string cut = truncate_characters(accents, 33);
  EXPECT_EQ(cut.size(), 66u);
  EXPECT_EQ(character_count(cut), 33u);
  EXPECT_EQ(first_unreadable(cut, false), std::nullopt);

  // A trust domain problem quotes the whole character, never one byte of it.
  std::string problem = trust_domain_problem("prod.ex\u00e4mple");
  EXPECT_NE(problem.find("contains '\u00e4' (U+00E4)"), std::string::npos) << problem;
  EXPECT_EQ(first_unreadable(problem, false), std::nullopt);
  EXPECT_NE(trust_domain_problem("a\u202Eb").find("contains U+202E RIGHT-TO-LEFT OVERRIDE"), std::string::npos);
  EXPECT_EQ(first_unreadable(trust_domain_problem("a\u202Eb"), false), std::nullopt);
}

}  // namespace
}  // namespace meshca::ceremony
