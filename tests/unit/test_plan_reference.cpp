// docs/plan-reference.md must document every field the parser accepts: the
// fields are collected from the parser itself while it reads every example
// plan, every built-in profile and a plan that reaches the remaining
// sections, so a new field without documentation fails this test.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "plan/plan_reader.hpp"
#include "templates/embedded.hpp"

namespace meshca::ceremony {
namespace {

// Sections no example plan uses.
constexpr const char* kRemainingSections = R"(apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: all-fields}
root:
  subject: {CN: R}
  key:
    algorithm: ecdsa-p384
    store: pkcs11
    pkcs11: {uri: "pkcs11:token=t;object=o?module-path=/m.so", module: /m.so, token: t, serial: "1", label: o, id: "01",
              pin: {initial: prompt, shares: {threshold: 2, custodians: [a, b]}}}
  not_before: 2030-01-01T00:00:00Z
  not_after: 2040-01-01T00:00:00Z
meshes:
  - name: m
    trust_domain: m.internal
    clusters:
      - {name: c, intermediate: {not_before: 2030-01-01T00:00:00Z, not_after: 2031-01-01T00:00:00Z}}
      - {name: d, intermediate: {csr: {path: d.csr.pem, spki_sha256: 3f1c000000000000000000000000000000000000000000000000000000000000}}}
revocation: {crl: true, next_update: 7d}
federation:
  - name: f
    meshes: [m]
    external_roots: [{name: p, file: p.pem, sha256: "3f1c000000000000000000000000000000000000000000000000000000000000", trust_domains: [p.internal]}]
)";

// A file root whose passphrase custodians hold as shares.
constexpr const char* kSharesSection = R"(apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: shares}
root:
  subject: {CN: R}
  key:
    algorithm: ecdsa-p384
    store: file
    file: {path: root.pem, passphrase: {shares: {threshold: 2, custodians: [a, b, c]}}}
  validity: 10y
meshes: [{name: m, trust_domain: m.internal, clusters: [{name: c}]}]
)";

std::string reference() {
  std::ifstream in(std::string(MESHCA_SOURCE_DIR) + "/docs/plan-reference.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool documented(const std::string& doc, const std::string& field) {
  std::string leaf = field.substr(field.find_last_of('.') + 1);
  if (auto bracket = leaf.find('['); bracket != std::string::npos) leaf = leaf.substr(0, bracket);
  // In a table cell or prose: `leaf`, `a.b.leaf` or `leaf:`.
  return doc.find("`" + leaf + "`") != std::string::npos || doc.find("." + leaf + "`") != std::string::npos ||
         doc.find("`" + leaf + ":") != std::string::npos || doc.find("`" + leaf + ".") != std::string::npos;
}

TEST(PlanReference, DocumentsEveryFieldTheParserAccepts) {
  std::set<std::string> fields;
  auto merge = [&](const std::set<std::string>& more) { fields.insert(more.begin(), more.end()); };
  for (const auto& name : templates::plan_template_names()) {
    merge(accepted_fields(*templates::plan_template(name), DocumentKind::plan));
  }
  for (const auto& name : templates::profile_names()) {
    merge(accepted_fields(*templates::profile_text(name), DocumentKind::profile));
  }
  merge(accepted_fields(kRemainingSections, DocumentKind::plan));
  merge(accepted_fields(kSharesSection, DocumentKind::plan));
  ASSERT_GE(fields.size(), 50u) << "the parser should report its fields";
  EXPECT_TRUE(fields.count("meshes[].clusters[].intermediate.key.algorithm"));
  EXPECT_TRUE(fields.count("root.key.pkcs11.uri"));
  EXPECT_TRUE(fields.count("root.key.file.passphrase.shares.custodians"));
  EXPECT_TRUE(fields.count("root.key.pkcs11.pin.shares.threshold"));
  EXPECT_TRUE(fields.count("root.key.pkcs11.pin.initial"));

  const std::string doc = reference();
  ASSERT_FALSE(doc.empty());
  for (const auto& field : fields) EXPECT_TRUE(documented(doc, field)) << field << " is not in docs/plan-reference.md";
}

TEST(PlanReference, TheCheckCatchesAnUndocumentedField) {
  EXPECT_FALSE(documented(reference(), "root.key.no_such_field_in_the_reference"));
}

}  // namespace
}  // namespace meshca::ceremony
