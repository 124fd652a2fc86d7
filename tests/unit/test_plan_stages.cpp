// The three stages of plan reading on their own (plan/plan_decode.hpp,
// plan_resolve.hpp, plan_validate.hpp), and the pieces they share: the
// subject template grammar and the layouts' requirements table. The whole
// reader is judged by test_plan_validation.cpp and the bad-input corpus.
#include <gtest/gtest.h>

#include "output_layout/layouts.hpp"
#include "plan/plan_decode.hpp"
#include "plan/plan_resolve.hpp"
#include "plan/plan_validate.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca::ceremony {
namespace {

const UnixTime kNow = test::at("2026-01-01T00:00:00Z");

constexpr std::string_view kPlan =
    "apiVersion: meshca/v1\n"
    "kind: CeremonyPlan\n"
    "metadata: {name: stages}\n"
    "organization: Acme\n"
    "root:\n"
    "  subject: {CN: Root}\n"
    "  key: {algorithm: ecdsa-p384, store: file, file: {path: root.pem, passphrase: env:P}}\n"
    "  validity: 10y\n"
    "defaults:\n"
    "  intermediate:\n"
    "    validity: 2y\n"
    "    subject: {O: \"{organization}\", CN: \"{mesh} {cluster}\"}\n"
    "outputs: {layouts: [istio-cacerts, linkerd]}\n"
    "meshes:\n"
    "  - name: prod\n"
    "    trust_domain: prod.example.org\n"
    "    intermediate: {key: {algorithm: rsa-3072}}\n"
    "    clusters:\n"
    "      - name: east\n"
    "      - name: west\n"
    "        intermediate: {key: {algorithm: ecdsa-p384}}\n";

TEST(SubjectTemplate, IsParsedOnceIntoLiteralsAndPlaceholders) {
  std::string problem;
  auto t = SubjectTemplate::parse("CN", "{cluster} CA of {mesh}", problem);
  EXPECT_EQ(problem, "");
  ASSERT_EQ(t.parts.size(), 3u);
  EXPECT_EQ(std::get<SubjectTemplate::Placeholder>(t.parts[0]).name, "cluster");
  EXPECT_EQ(std::get<std::string>(t.parts[1]), " CA of ");
  EXPECT_EQ(t.expand({{"cluster", "east"}, {"mesh", "prod"}}), "east CA of prod");

  SubjectTemplate::parse("OU", "x{region}", problem);
  EXPECT_EQ(problem, "unknown placeholder '{region}' in subject OU; use {mesh}, {cluster}, {trust_domain} or {organization}");
  problem.clear();
  SubjectTemplate::parse("CN", "{mesh", problem);
  EXPECT_NE(problem.find("unknown placeholder '{mesh}'"), std::string::npos);
}

TEST(LayoutRequirements, LayoutsDeclareWhatTheirSoftwareNeeds) {
  using output_layout::Layout;
  const auto& linkerd = output_layout::layout_requirements(Layout::linkerd);
  EXPECT_EQ(linkerd.intermediate_algorithm, pki::KeyAlgorithm::ecdsa_p256);
  EXPECT_EQ(linkerd.root_algorithm, pki::KeyAlgorithm::ecdsa_p256);
  const auto& spire = output_layout::layout_requirements(Layout::spire);
  EXPECT_EQ(spire.min_intermediate_path_len, 1);
  EXPECT_EQ(spire.min_root_path_len, 2);
  for (Layout l : {Layout::istio_cacerts, Layout::k8s_secret, Layout::istio_tls, Layout::cert_manager}) {
    const auto& none = output_layout::layout_requirements(l);
    EXPECT_FALSE(none.intermediate_algorithm || none.root_algorithm) << output_layout::layout_name(l);
    EXPECT_EQ(none.min_intermediate_path_len + none.min_root_path_len, 0) << output_layout::layout_name(l);
  }
}

TEST(PlanStages, DecodeKeepsWhereEachFieldIsWritten) {
  Findings findings("stages.yaml");
  PlanDocument doc = decode_plan(kPlan, findings, kNow);
  EXPECT_TRUE(findings.ok());
  EXPECT_EQ(doc.root.algorithm_at.to_string(), "stages.yaml:7:20");
  ASSERT_EQ(doc.meshes.size(), 1u);
  ASSERT_TRUE(doc.meshes[0].intermediate && doc.meshes[0].intermediate->algorithm);
  EXPECT_EQ(doc.meshes[0].intermediate->algorithm->at.to_string(), "stages.yaml:17:37");
  ASSERT_EQ(doc.meshes[0].clusters.size(), 2u);
  EXPECT_EQ(doc.meshes[0].clusters[1].at.to_string(), "stages.yaml:20:9");
  ASSERT_TRUE(doc.defaults);
  EXPECT_EQ(doc.defaults->subject.at(1).second.parts.size(), 3u);  // {mesh}, " ", {cluster}
}

TEST(PlanStages, ResolveIsAPureFunctionOfTheDocumentWithProvenance) {
  Findings findings("stages.yaml");
  const PlanDocument doc = decode_plan(kPlan, findings, kNow);
  ResolvedPlan first = resolve_plan(doc, findings, kNow);
  ResolvedPlan again = resolve_plan(doc, findings, kNow);
  EXPECT_TRUE(findings.ok());
  const auto& east = first.plan.meshes.at(0).clusters.at(0).intermediate;
  const auto& west = first.plan.meshes.at(0).clusters.at(1).intermediate;
  EXPECT_EQ(east.subject.to_string(), again.plan.meshes.at(0).clusters.at(0).intermediate.subject.to_string());
  EXPECT_EQ(east.subject.to_string(), "O=Acme, OU=prod, CN=prod east");  // OU from the meshca profile
  EXPECT_EQ(east.algorithm, pki::KeyAlgorithm::rsa_3072);
  EXPECT_EQ(east.sources.at("key.algorithm"), (ValueSource{SourceLevel::mesh, "meshes[0].intermediate"}));
  EXPECT_EQ(west.algorithm, pki::KeyAlgorithm::ecdsa_p384);
  EXPECT_EQ(west.sources.at("key.algorithm").level, SourceLevel::cluster);
  EXPECT_EQ(west.sources.at("validity"), (ValueSource{SourceLevel::plan_defaults, "defaults.intermediate"}));
  EXPECT_EQ(first.origins.at("meshes[0].clusters[0]").algorithm.at.to_string(), "stages.yaml:17:37");
  EXPECT_EQ(first.origins.at("meshes[0].clusters[0]").validity.at.to_string(), "stages.yaml:11:15");
}

TEST(PlanStages, ValidateReadsTheLayoutsRequirementsAndReportsInLineOrder) {
  Findings findings("stages.yaml");
  const PlanDocument doc = decode_plan(kPlan, findings, kNow);
  const ResolvedPlan resolved = resolve_plan(doc, findings, kNow);
  validate_plan(doc, resolved, findings, kNow);
  const auto errors = findings.sorted();
  ASSERT_EQ(errors.size(), 3u) << testing::PrintToString(errors);
  EXPECT_EQ(errors[0].rfind("stages.yaml:7:20: root.key.algorithm: is ecdsa-p384, but meshes[0] writes the linkerd layout", 0), 0u);
  EXPECT_EQ(errors[1].rfind("stages.yaml:17:37: meshes[0].intermediate.key.algorithm: is rsa-3072", 0), 0u);
  EXPECT_NE(errors[1].find("this affects 1 cluster: prod/east"), std::string::npos);
  EXPECT_EQ(errors[2].rfind("stages.yaml:21:41: meshes[0].clusters[1].intermediate.key.algorithm: is ecdsa-p384", 0), 0u);
}

}  // namespace
}  // namespace meshca::ceremony
