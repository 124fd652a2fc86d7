// Strict plan parsing and validation (plan/plan_reader.hpp,
// docs/plan-reference.md).
//
// Bad plans are one valid base plan with a single defect spliced in; each
// case names the line, the field path and a fragment of the message the
// operator must see. Good plans check that every default and subject
// template is resolved as documented.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/exit_codes.hpp"
#include "core/error.hpp"
#include "plan/plan_reader.hpp"
#include "templates/embedded.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca::ceremony {
namespace {

using test::at;

// The ceremony's reference time for every test.
UnixTime now() {
  static const UnixTime t = at("2026-11-24T12:00:00Z");
  return t;
}

const std::filesystem::path kBaseDir = "/plans";

// A valid plan. The line numbers in the comments are the ones the bad-plan
// cases below refer to; defects that delete a line replace it by kRemoved so
// the numbering stays put.
constexpr std::string_view kBasePlan =
    "apiVersion: meshca/v1\n"                                                    //  1
    "kind: CeremonyPlan\n"                                                       //  2
    "metadata:\n"                                                                //  3
    "  name: test-plan\n"                                                        //  4
    "organization: Acme Corp\n"                                                  //  5
    "root:\n"                                                                    //  6
    "  subject: {CN: Test Root CA, O: Acme Corp, C: US}\n"                       //  7
    "  key:\n"                                                                   //  8
    "    algorithm: ecdsa-p384\n"                                                //  9
    "    store: file\n"                                                          // 10
    "    file:\n"                                                                // 11
    "      path: keys/root.pem\n"                                                // 12
    "      passphrase: env:MESHCA_ROOT_PASS\n"                                   // 13
    "  validity: 10y\n"                                                          // 14
    "  path_len: 1\n"                                                            // 15
    "defaults:\n"                                                                // 16
    "  intermediate:\n"                                                          // 17
    "    key: {algorithm: ecdsa-p256}\n"                                         // 18
    "    validity: 1y\n"                                                         // 19
    "    subject: {O: Acme Corp, OU: \"{mesh}\", CN: \"{cluster} Intermediate CA\"}\n"  // 20
    "outputs:\n"                                                                 // 21
    "  layouts: [istio-cacerts, k8s-secret]\n"                                   // 22
    "  namespace: istio-system\n"                                                // 23
    "meshes:\n"                                                                  // 24
    "  - name: prod\n"                                                           // 25
    "    trust_domain: prod.example.org\n"                                       // 26
    "    clusters:\n"                                                            // 27
    "      - name: east\n"                                                       // 28
    "      - name: west\n";                                                      // 29

// The whole meshes section (lines 24-29), for defects that rewrite it.
constexpr std::string_view kMeshesSection =
    "meshes:\n"
    "  - name: prod\n"
    "    trust_domain: prod.example.org\n"
    "    clusters:\n"
    "      - name: east\n"
    "      - name: west\n";

// The whole root section (lines 6-15).
constexpr std::string_view kRootSection =
    "root:\n"
    "  subject: {CN: Test Root CA, O: Acme Corp, C: US}\n"
    "  key:\n"
    "    algorithm: ecdsa-p384\n"
    "    store: file\n"
    "    file:\n"
    "      path: keys/root.pem\n"
    "      passphrase: env:MESHCA_ROOT_PASS\n"
    "  validity: 10y\n"
    "  path_len: 1\n";

// The root key's store and file lines (10-13).
constexpr std::string_view kFileStore =
    "    store: file\n"
    "    file:\n"
    "      path: keys/root.pem\n"
    "      passphrase: env:MESHCA_ROOT_PASS\n";

// A rotation section spliced in before `outputs:` (it takes lines 21-27 and
// moves the rest down by seven).
constexpr std::string_view kRotation =
    "rotation:\n"                                                                 // 21
    "  current_output: out\n"                                                     // 22
    "  new_root:\n"                                                               // 23
    "    subject: {CN: Test Root CA 2031, O: Acme Corp, C: US}\n"                 // 24
    "    key: {algorithm: ecdsa-p384, store: file, file: {path: keys/root-2031.pem}}\n"  // 25
    "    validity: 10y\n"                                                         // 26
    "  cross_sign: false\n"                                                       // 27
    "outputs:\n";

constexpr std::string_view kRemoved = "# removed\n";

struct Edit {
  std::string from;
  std::string to;
};

Edit with_rotation() { return {"outputs:\n", std::string(kRotation)}; }

// root.issuer: external with the anchor `pin` (lines 16-17).
const std::string kAnchor = std::string(64, 'a');
Edit external_root(const std::string& pin) {
  return {"  path_len: 1\n", "  path_len: 1\n  issuer: external\n  external: {anchor_sha256: \"" + pin + "\"}\n"};
}

// rotation.current_ca of `kind` instead of current_output (line 22), the
// file absent from kBaseDir.
const std::string kPin = std::string(64, 'a');
Edit adopted_ca(const std::string& kind) {
  return {"  current_output: out\n", "  current_ca: {kind: " + kind + ", path: current/root.pem, sha256: " + kPin + "}\n"};
}

// The base plan with each edit applied; every `from` must occur exactly once.
std::string plan_with(const std::vector<Edit>& edits) {
  std::string text(kBasePlan);
  for (const auto& e : edits) {
    auto pos = text.find(e.from);
    if (pos == std::string::npos || text.find(e.from, pos + 1) != std::string::npos) {
      ADD_FAILURE() << "edit target must occur exactly once in the plan: '" << e.from << "'";
      continue;
    }
    text.replace(pos, e.from.size(), e.to);
  }
  return text;
}

std::string lines(const std::vector<std::string>& details) {
  std::string s;
  for (const auto& d : details) s += "\n  " + d;
  return s;
}

// Parses text that must be rejected; returns the MultiError's details.
std::vector<std::string> rejection_of(std::string_view text) {
  try {
    parse_plan(text, "plan.yaml", kBaseDir, now());
  } catch (const MultiError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_EQ(exit_code_for(e.kind()), ExitCode::invalid_input);
    EXPECT_FALSE(e.details().empty());
    return e.details();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a MultiError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "the plan was accepted:\n" << text;
  return {};
}

Plan parse_ok(std::string_view text, const std::string& name = "plan.yaml") {
  try {
    return parse_plan(text, name, kBaseDir, now());
  } catch (const MultiError& e) {
    ADD_FAILURE() << name << " was rejected: " << e.what() << lines(e.details());
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << " was rejected: " << e.what();
  }
  return {};
}

TEST(PlanValidationBase, BasePlanIsValid) {
  Plan plan = parse_ok(kBasePlan);
  EXPECT_EQ(plan.name, "test-plan");
  ASSERT_EQ(plan.meshes.size(), 1u);
  EXPECT_EQ(plan.cluster_count(), 2u);
}

// ---------------------------------------------------------------------------
// One defect per plan.

struct BadPlan {
  std::string name;
  std::vector<Edit> edits;
  int line;              // 0: the finding has no line (e.g. an empty document)
  std::string path;      // "" for findings about the whole document
  std::string fragment;  // part of the message
};

void PrintTo(const BadPlan& c, std::ostream* os) { *os << c.name; }

const std::vector<BadPlan>& bad_plans() {
  // A table, one case per row or two: clang-format would reflow every row around one added.
  // clang-format off
  static const std::vector<BadPlan> cases = {
      // Unknown keys and wrong types.
      {"UnknownTopLevelKey", {{"organization: Acme Corp\n", "colour: blue\n"}}, 5, "colour", "unknown field"},
      {"UnknownNestedKey", {{"    store: file\n", "    store: file\n    colour: red\n"}}, 11, "root.key.colour",
       "unknown field"},
      {"UnknownIntermediateKey", {{"    validity: 1y\n", "    validty: 1y\n"}}, 19, "defaults.intermediate.validty",
       "unknown field; expected one of"},
      {"MeshesIsAMapping", {{std::string(kMeshesSection), "meshes:\n  prod: {trust_domain: prod.example.org}\n"}}, 25,
       "meshes", "must be a non-empty list"},
      {"MeshesIsEmpty", {{std::string(kMeshesSection), "meshes: []\n"}}, 24, "meshes", "must be a non-empty list"},
      {"ClustersIsEmpty", {{"    clusters:\n      - name: east\n      - name: west\n", "    clusters: []\n"}}, 27,
       "meshes[0].clusters", "must be a non-empty list of clusters"},
      {"MetadataIsAScalar", {{"metadata:\n  name: test-plan\n", "metadata: test-plan\n# removed\n"}}, 3, "metadata",
       "must be a mapping, found a scalar"},
      {"PathLenIsAWord", {{"  path_len: 1\n", "  path_len: one\n"}}, 15, "root.path_len", "must be a whole number"},
      {"PathLenIsQuoted", {{"  path_len: 1\n", "  path_len: \"1\"\n"}}, 15, "root.path_len", "must be a whole number"},
      {"PathLenOutOfRange", {{"  path_len: 1\n", "  path_len: 9\n"}}, 15, "root.path_len", "must be between 0 and 8"},
      {"DuplicateYamlKey", {{"  path_len: 1\n", "  path_len: 1\n  path_len: 2\n"}}, 16, "root.path_len",
       "duplicate key"},

      // Missing required fields.
      {"MissingApiVersion", {{"apiVersion: meshca/v1\n", std::string(kRemoved)}}, 2, "apiVersion",
       "missing required field"},
      {"MissingKind", {{"kind: CeremonyPlan\n", std::string(kRemoved)}}, 1, "kind", "missing required field"},
      {"MissingMetadataName", {{"  name: test-plan\n", "  description: no name\n"}}, 4, "metadata.name",
       "missing required field"},
      {"MissingRoot", {{std::string(kRootSection), std::string(kRemoved)}}, 1, "root", "missing required field"},
      {"MissingRootSubjectCN", {{"{CN: Test Root CA, O: Acme Corp, C: US}", "{O: Acme Corp, C: US}"}}, 7,
       "root.subject.CN", "missing required field"},
      {"MissingRootKeyAlgorithm", {{"    algorithm: ecdsa-p384\n", std::string(kRemoved)}}, 10, "root.key.algorithm",
       "missing required field"},
      {"MissingRootKeyStore", {{"    store: file\n", std::string(kRemoved)}}, 9, "root.key.store",
       "missing required field"},
      {"MissingRootValidity", {{"  validity: 10y\n", std::string(kRemoved)}}, 7, "root.validity",
       "missing required field"},
      {"MissingMeshes", {{std::string(kMeshesSection), ""}}, 1, "meshes", "missing required field"},
      {"MissingTrustDomain", {{"    trust_domain: prod.example.org\n", std::string(kRemoved)}}, 25,
       "meshes[0].trust_domain", "missing required field"},
      {"MissingClusterName", {{"      - name: west\n", "      - intermediate: {validity: 30d}\n"}}, 29,
       "meshes[0].clusters[1].name", "missing required field"},

      // Version and kind.
      {"WrongApiVersion", {{"meshca/v1", "meshca/v2"}}, 1, "apiVersion", "unsupported version 'meshca/v2'"},
      {"WrongKind", {{"kind: CeremonyPlan", "kind: Plan"}}, 2, "kind", "must be CeremonyPlan"},

      // Names.
      {"DuplicateMeshName",
       {{std::string(kMeshesSection),
         std::string(kMeshesSection) + "  - name: prod\n    trust_domain: other.example.org\n    clusters: [{name: x}]\n"}},
       30, "meshes[1].name", "duplicate mesh name 'prod' (also meshes[0])"},
      {"DuplicateClusterName", {{"      - name: west\n", "      - name: east\n"}}, 29, "meshes[0].clusters[1].name",
       "duplicate cluster name 'east' in mesh (also meshes[0].clusters[0])"},
      {"MeshNameUppercase", {{"  - name: prod\n", "  - name: Prod\n"}}, 25, "meshes[0].name",
       "'Prod' is not a DNS-1123 label"},
      {"ClusterNameUnderscore", {{"      - name: east\n", "      - name: us_east\n"}}, 28,
       "meshes[0].clusters[0].name", "'us_east' is not a DNS-1123 label"},
      {"MeshNameTooLong", {{"  - name: prod\n", "  - name: " + std::string(64, 'a') + "\n"}}, 25, "meshes[0].name",
       "is not a DNS-1123 label"},
      {"ClusterNameLeadingDash", {{"      - name: east\n", "      - name: \"-east\"\n"}}, 28,
       "meshes[0].clusters[0].name", "'-east' is not a DNS-1123 label"},
      {"MeshNamedRoot", {{"  - name: prod\n", "  - name: root\n"}}, 25, "meshes[0].name", "'root' is reserved"},
      {"MetadataNameNotALabel", {{"  name: test-plan\n", "  name: Test Plan\n"}}, 4, "metadata.name",
       "is not a DNS-1123 label"},

      // Trust domains.
      {"TrustDomainWithSpiffeScheme", {{"trust_domain: prod.example.org", "trust_domain: spiffe://prod.example.org"}},
       26, "meshes[0].trust_domain", "without spiffe://"},
      {"TrustDomainWithPort", {{"trust_domain: prod.example.org", "trust_domain: prod.example.org:8080"}}, 26,
       "meshes[0].trust_domain", "contains ':'"},
      {"TrustDomainWithPath", {{"trust_domain: prod.example.org", "trust_domain: prod.example.org/x"}}, 26,
       "meshes[0].trust_domain", "contains '/'"},
      {"TrustDomainUppercase", {{"trust_domain: prod.example.org", "trust_domain: Prod.example.org"}}, 26,
       "meshes[0].trust_domain", "contains 'P'"},
      {"TrustDomainEmptyLabel", {{"trust_domain: prod.example.org", "trust_domain: a..b"}}, 26,
       "meshes[0].trust_domain", "empty DNS label"},
      {"DuplicateTrustDomain",
       {{std::string(kMeshesSection),
         std::string(kMeshesSection) + "  - name: staging\n    trust_domain: prod.example.org\n    clusters: [{name: x}]\n"}},
       31, "meshes[1].trust_domain", "'prod.example.org' is already used by meshes[0]"},

      // Durations and times.
      {"DurationWithWords", {{"  validity: 10y\n", "  validity: 20 years\n"}}, 14, "root.validity",
       "'20 years' is not a duration"},
      {"DurationZero", {{"  validity: 10y\n", "  validity: 0y\n"}}, 14, "root.validity", "longer than zero"},
      {"DurationUnknownUnit", {{"    validity: 1y\n", "    validity: 5w\n"}}, 19, "defaults.intermediate.validity",
       "unknown unit 'w'"},
      {"DurationNegative", {{"  validity: 10y\n", "  validity: -1y\n"}}, 14, "root.validity",
       "'-1y' is not a duration"},
      {"NotAfterNotRfc3339", {{"  validity: 10y\n", "  not_after: next tuesday\n"}}, 14, "root.not_after",
       "is not an RFC 3339 time"},
      {"NotAfterImpossibleDate", {{"  validity: 10y\n", "  not_after: 2030-13-01T00:00:00Z\n"}}, 14,
       "root.not_after", "not a valid date and time"},
      {"NotAfterInThePast", {{"  validity: 10y\n", "  not_after: 2020-01-01T00:00:00Z\n"}}, 14, "root.not_after",
       "is in the past"},
      {"NotAfterBeforeNotBefore",
       {{"  validity: 10y\n", "  not_before: 2030-01-01T00:00:00Z\n  not_after: 2029-01-01T00:00:00Z\n"}}, 15,
       "root.not_after", "must be later than not_before"},
      {"ValidityAndNotAfter", {{"  validity: 10y\n", "  validity: 10y\n  not_after: 2040-01-01T00:00:00Z\n"}}, 15,
       "root.not_after", "either validity or not_after, not both"},

      // Keys and secrets.
      {"UnknownAlgorithm", {{"algorithm: ecdsa-p384", "algorithm: ed25519"}}, 9, "root.key.algorithm",
       "unknown algorithm 'ed25519'"},
      {"Rsa1024", {{"algorithm: ecdsa-p384", "algorithm: rsa-1024"}}, 9, "root.key.algorithm",
       "shorter than 2048 bits"},
      {"UnknownIntermediateAlgorithm", {{"{algorithm: ecdsa-p256}", "{algorithm: ecdsa-p521}"}}, 18,
       "defaults.intermediate.key.algorithm", "unknown algorithm 'ecdsa-p521'"},
      {"StoreNeitherFileNorPkcs11", {{"    store: file\n", "    store: hsm\n"}}, 10, "root.key.store",
       "'hsm' is not a key store; use pkcs11 or file"},
      {"StoreFileWithoutFileSection",
       {{"    file:\n      path: keys/root.pem\n      passphrase: env:MESHCA_ROOT_PASS\n",
         "# removed\n# removed\n# removed\n"}},
       9, "root.key.file", "missing required field"},
      {"FileSectionWithoutPath", {{"      path: keys/root.pem\n", std::string(kRemoved)}}, 13, "root.key.file.path",
       "missing required field"},
      {"Pkcs11MissingToken",
       {{std::string(kFileStore), "    store: pkcs11\n    pkcs11:\n      module: /usr/lib/p11.so\n      label: root\n"}},
       12, "root.key.pkcs11.token", "name the token by label (token) or serial"},
      {"Pkcs11MissingModule",
       {{std::string(kFileStore), "    store: pkcs11\n    pkcs11:\n      token: acme\n      label: root\n"}}, 12,
       "root.key.pkcs11.module", "missing required field"},
      {"Pkcs11IdNotHex",
       {{std::string(kFileStore),
         "    store: pkcs11\n    pkcs11:\n      module: /usr/lib/p11.so\n      token: acme\n      id: xyz\n"}},
       14, "root.key.pkcs11.id", "even number of hex digits"},
      {"Pkcs11WithFileSection",
       {{"    store: file\n", "    store: pkcs11\n    pkcs11: {module: /usr/lib/p11.so, token: acme, label: root}\n"}},
       13, "root.key.file", "not allowed with store: pkcs11"},
      {"PassphraseIsALiteral", {{"passphrase: env:MESHCA_ROOT_PASS", "passphrase: hunter2"}}, 13,
       "root.key.file.passphrase", "must be a reference"},
      {"PinIsALiteral",
       {{std::string(kFileStore),
         "    store: pkcs11\n    pkcs11: {module: /usr/lib/p11.so, token: acme, label: root, pin: \"1234\"}\n"}},
       11, "root.key.pkcs11.pin", "must be a reference"},

      // Subjects.
      {"CountryNotTwoLetters", {{"C: US}", "C: USA}"}}, 7, "root.subject.C", "not a two-letter ISO 3166 country code"},
      {"UnknownSubjectAttribute", {{"C: US}", "C: US, E: ca@example.org}"}}, 7, "root.subject.E", "unknown field"},
      {"PlaceholderInRootSubject", {{"CN: Test Root CA,", "CN: \"{mesh} Root\","}}, 7, "root.subject.CN",
       "only allowed in intermediate subjects"},
      {"UnknownSubjectPlaceholder",
       {{"      - name: east\n", "      - {name: east, intermediate: {subject: {OU: \"{region}\"}}}\n"}}, 28,
       "meshes[0].clusters[0].intermediate.subject.OU", "unknown placeholder '{region}'"},
      {"IntermediateSubjectWithoutCN",
       {{"      - name: east\n", "      - {name: east, intermediate: {subject: {CN: \"{organization}\"}}}\n"},
        {"organization: Acme Corp\n", std::string(kRemoved)}},
       28, "meshes[0].clusters[0].intermediate.subject.CN", "has no CN"},
      {"UnknownNameConstraintsMode", {{"    validity: 1y\n", "    validity: 1y\n    name_constraints: strict\n"}}, 20,
       "defaults.intermediate.name_constraints", "'strict' is not a name constraints mode"},

      // The hierarchy as a whole.
      {"IntermediateOutlivesRoot", {{"  validity: 10y\n", "  validity: 1y\n"}, {"    validity: 1y\n", "    validity: 2y\n"}},
       19, "defaults.intermediate.validity", "must lie inside the root's validity"},  // once, where it is written
      {"ClusterOverrideOutlivesRoot", {{"      - name: west\n", "      - {name: west, intermediate: {validity: 11y}}\n"}},
       29, "meshes[0].clusters[1].intermediate.validity", "must lie inside the root's validity"},
      {"PathLenZero", {{"  path_len: 1\n", "  path_len: 0\n"}}, 15, "root.path_len",
       "0 forbids the per-cluster intermediate CAs"},
      {"ClusterSubjectsCollide", {{"CN: \"{cluster} Intermediate CA\"", "CN: \"{mesh} Intermediate CA\""}}, 29,
       "meshes[0].clusters[1].intermediate.subject",
       "resolves to 'O=Acme Corp, OU=prod, CN=prod Intermediate CA', the same subject as meshes[0].clusters[0]"},
      {"IntermediateSubjectEqualsRoot",
       {{"{CN: Test Root CA, O: Acme Corp, C: US}", "{CN: east Intermediate CA, O: Acme Corp, OU: prod}"}},
       28, "meshes[0].clusters[0].intermediate.subject", "the same subject as root"},

      // Outputs.
      {"UnknownLayout", {{"[istio-cacerts, k8s-secret]", "[istio-cacerts, helm]"}}, 22, "outputs.layouts[1]",
       "unknown layout"},
      {"DuplicateLayout", {{"[istio-cacerts, k8s-secret]", "[istio-cacerts, istio-cacerts]"}}, 22,
       "outputs.layouts[1]", "duplicate layout"},
      {"LayoutsWithoutIstioCacerts", {{"[istio-cacerts, k8s-secret]", "[k8s-secret]"}}, 22, "outputs.layouts",
       "must include istio-cacerts"},
      {"NamespaceNotADnsLabel", {{"namespace: istio-system", "namespace: istio_system"}}, 23, "outputs.namespace",
       "'istio_system' is not a DNS-1123 label"},
      {"UnknownLayoutNamesTheChoices", {{"[istio-cacerts, k8s-secret]", "[istio-cacerts, envoy]"}}, 22,
       "outputs.layouts[1]", "this version writes istio-cacerts, k8s-secret, istio-tls, linkerd, cert-manager and spire"},
      {"K8sSecretWithoutAnIstioLayout", {{"[istio-cacerts, k8s-secret]", "[linkerd, k8s-secret]"}}, 22, "outputs.layouts",
       "must include istio-cacerts (the bundle files) or istio-tls"},
      {"LinkerdWithRsaIntermediate",
       {{"[istio-cacerts, k8s-secret]", "[linkerd]"}, {"algorithm: ecdsa-p384", "algorithm: ecdsa-p256"},
        {"      - name: west\n", "      - {name: west, intermediate: {key: {algorithm: rsa-2048}}}\n"}},
       29, "meshes[0].clusters[1].intermediate.key.algorithm",
       "is rsa-2048, but mesh 'prod' writes the linkerd layout: Linkerd accepts only an ECDSA P-256 issuer key"},
      {"LinkerdWithRsaDefaults", {{"[istio-cacerts, k8s-secret]", "[linkerd]"}, {"algorithm: ecdsa-p256}", "algorithm: rsa-3072}"}},
       18, "defaults.intermediate.key.algorithm", "Linkerd accepts only an ECDSA P-256 issuer key; use ecdsa-p256; this affects 2 clusters: prod/east, prod/west"},
      {"LinkerdWithP384Root", {{"[istio-cacerts, k8s-secret]", "[linkerd]"}}, 9, "root.key.algorithm",
       "so the root key must be ecdsa-p256"},
      {"LinkerdPerMeshWithRsaIntermediate",
       {{"  - name: prod\n", "  - name: prod\n    outputs: {layouts: [linkerd]}\n"},
        {"algorithm: ecdsa-p256}", "algorithm: rsa-4096}"}},
       18, "defaults.intermediate.key.algorithm", "Linkerd accepts only an ECDSA P-256 issuer key; use ecdsa-p256; this affects 2 clusters"},
      {"SpireWithMeshcaProfile", {{"[istio-cacerts, k8s-secret]", "[spire]"}}, 28, "meshes[0].profile",
       "profile 'meshca' gives its intermediates pathLen 0"},
      {"SpireWithRootPathLenOne", {{"[istio-cacerts, k8s-secret]", "[spire]"}, {"  - name: prod\n", "  - name: prod\n    profile: spire\n"}},
       15, "root.path_len", "needs root.path_len: 2"},
      {"UnknownPlanProfile", {{"organization: Acme Corp\n", "profile: hardened\n"}}, 5, "profile",
       "unknown profile 'hardened'; built-in profiles: istio-tools-certs, linkerd, meshca, spire"},
      {"UnknownMeshProfile", {{"  - name: prod\n", "  - name: prod\n    profile: [meshca]\n"}}, 26, "meshes[0].profile",
       "must be a string"},
      {"UnknownMeshOutputsKey", {{"  - name: prod\n", "  - name: prod\n    outputs: {colour: blue}\n"}}, 26,
       "meshes[0].outputs.colour", "unknown field"},
      {"CertManagerBadKind", {{"  namespace: istio-system\n", "  cert_manager: {kind: Certificate}\n"}}, 23,
       "outputs.cert_manager.kind", "'Certificate' is not Issuer or ClusterIssuer"},
      {"CertManagerBadName", {{"  namespace: istio-system\n", "  cert_manager: {name: Mesh_CA}\n"}}, 23,
       "outputs.cert_manager.name", "is not a DNS-1123 label"},
      {"SpireRelativeDirectory", {{"  namespace: istio-system\n", "  spire: {directory: spire/upstream}\n"}}, 23,
       "outputs.spire.directory", "must be an absolute path"},
      {"SpireDirectoryWithQuote", {{"  namespace: istio-system\n", "  spire: {directory: '/opt/a\"b'}\n"}}, 23,
       "outputs.spire.directory", "must be an absolute path"},

      // Not a plan at all.
      {"YamlSyntaxError", {{"  validity: 10y\n", "  validity: 10y: 5\n"}}, 14, "", "YAML syntax error"},
      {"YamlUnclosedFlowMapping", {{"    key: {algorithm: ecdsa-p256}\n", "    key: {algorithm: ecdsa-p256\n"}}, 19, "",
       "YAML syntax error"},
      {"EmptyDocument", {{std::string(kBasePlan), ""}}, 0, "", "the plan is empty"},
      {"CommentOnlyDocument", {{std::string(kBasePlan), "# nothing here\n"}}, 0, "", "the plan is empty"},
      {"DocumentIsAList", {{std::string(kBasePlan), "- apiVersion: meshca/v1\n"}}, 1, "",
       "must be a mapping, found a list"},

      // Revocation.
      {"RevocationUnknownField", {{"outputs:\n", "revocation: {crl: true, lifetime: 7d}\noutputs:\n"}}, 21,
       "revocation.lifetime", "unknown field"},
      {"RevocationCrlNotABoolean", {{"outputs:\n", "revocation: {crl: yes please}\noutputs:\n"}}, 21, "revocation.crl",
       "must be true or false"},
      {"RevocationNextUpdateZero", {{"outputs:\n", "revocation: {crl: true, next_update: 0d}\noutputs:\n"}}, 21,
       "revocation.next_update", "longer than zero"},
      {"RevocationNextUpdateTooLong", {{"outputs:\n", "revocation: {crl: true, next_update: 2y}\noutputs:\n"}}, 21,
       "revocation.next_update", "must be between 1h and 1y"},
      {"RevocationWithoutCrlSignProfile",
       {{"organization: Acme Corp\n", "profile: istio-tools-certs\n"},
        {"outputs:\n", "revocation: {crl: true}\noutputs:\n"}},
       21, "revocation.crl", "cannot sign CRLs"},

      // Root rotation.
      {"RotationUnknownField", {with_rotation(), {"  cross_sign: false\n", "  cross_sign: false\n  old_root: x\n"}}, 28,
       "rotation.old_root", "unknown field"},
      {"RotationWithoutNewRoot", {with_rotation(), {"  new_root:\n", "  new_rooot:\n"}}, 23, "rotation.new_rooot",
       "unknown field"},
      {"RotationWithoutCurrentOutput", {with_rotation(), {"  current_output: out\n", std::string(kRemoved)}}, 23,
       "rotation.current_output", "missing required field"},
      {"RotationNewRootKeepsTheSubject", {with_rotation(), {"CN: Test Root CA 2031,", "CN: Test Root CA,"}}, 24,
       "rotation.new_root.subject", "is the current root's subject"},
      {"RotationNewRootKeepsTheKey", {with_rotation(), {"path: keys/root-2031.pem", "path: keys/root.pem"}}, 25,
       "rotation.new_root.key", "names the current root's key"},
      {"RotationNewRootWithoutKey",
       {with_rotation(), {"    key: {algorithm: ecdsa-p384, store: file, file: {path: keys/root-2031.pem}}\n", std::string(kRemoved)}},
       24, "rotation.new_root.key", "missing required field"},
      {"RotationNewRootBadAlgorithm", {with_rotation(), {"{algorithm: ecdsa-p384, store: file, file", "{algorithm: dsa, store: file, file"}},
       25, "rotation.new_root.key.algorithm", "unknown algorithm 'dsa'"},
      {"RotationNewRootPathLenZero", {with_rotation(), {"    validity: 10y\n", "    validity: 10y\n    path_len: 0\n"}}, 27,
       "rotation.new_root.path_len", "0 forbids"},
      {"RotationPinNotAFingerprint", {with_rotation(), {"  current_output: out\n", "  current_output: out\n  current_root_sha256: abc\n"}},
       23, "rotation.current_root_sha256", "must be the SHA-256 fingerprint"},
      {"RotationCrossSignNotABoolean", {with_rotation(), {"  cross_sign: false\n", "  cross_sign: maybe\n"}}, 27,
       "rotation.cross_sign", "must be true or false"},
      {"RotationCrossSignBelowPathLenTwo", {with_rotation(), {"  cross_sign: false\n", "  cross_sign: true\n"}}, 27,
       "rotation.cross_sign", "needs the current root's pathLen to be 2 or more (root.path_len is 1)"},
      {"RotationNewRootShorterThanIntermediates", {with_rotation(), {"    validity: 10y\n", "    validity: 180d\n"}}, 19,
       "defaults.intermediate.validity", "must lie inside the new root's validity (rotation.new_root)"},
      // Names an auditor can read (issue 15): invisible, bidirectional and
      // control characters are refused with the code point named.
      {"RootSubjectRightToLeftOverride", {{"CN: Test Root CA,", "CN: \"Test \\u202ERoot CA\","}}, 7, "root.subject.CN",
       "contains U+202E RIGHT-TO-LEFT OVERRIDE at character 6"},
      {"MeshNameZeroWidthSpace", {{"  - name: prod\n", "  - name: \"pr\\u200Bod\"\n"}}, 25, "meshes[0].name",
       "contains U+200B ZERO WIDTH SPACE at character 3"},
      {"ClusterNameRightToLeftMark", {{"      - name: west\n", "      - name: \"we\\u200Fst\"\n"}}, 29,
       "meshes[0].clusters[1].name", "contains U+200F RIGHT-TO-LEFT MARK"},
      {"TrustDomainWordJoiner", {{"prod.example.org\n", "\"prod.example\\u2060.org\"\n"}}, 26, "meshes[0].trust_domain",
       "contains U+2060 WORD JOINER"},
      {"DefaultsSubjectSoftHyphen", {{"OU: \"{mesh}\"", "OU: \"{mesh}\\u00AD\""}}, 20, "defaults.intermediate.subject.OU",
       "contains U+00AD SOFT HYPHEN"},
      {"OrganizationTagCharacter", {{"organization: Acme Corp\n", "organization: \"Acme\\U000E0041 Corp\"\n"}}, 5,
       "organization", "contains U+E0041 TAG character"},
      {"PlanNameEscapeControl", {{"  name: test-plan\n", "  name: \"test\\eplan\"\n"}}, 4, "metadata.name",
       "contains U+001B control character"},
      {"ClusterSubjectFirstStrongIsolate", {{"      - name: west\n", "      - name: west\n        intermediate: {subject: {CN: \"\\u2068w\"}}\n"}},
       30, "meshes[0].clusters[1].intermediate.subject.CN", "contains U+2068 FIRST STRONG ISOLATE"},
      // A root under the corporate CA (root.issuer: external).
      {"ExternalRootUnknownIssuer", {{"  path_len: 1\n", "  path_len: 1\n  issuer: corporate\n"}}, 16, "root.issuer",
       "'corporate' is not a root issuer"},
      {"ExternalRootAnchorNotAFingerprint", {external_root("12:34")}, 17, "root.external.anchor_sha256",
       "must be the SHA-256 fingerprint of the corporate trust anchor"},
      {"ExternalRootExternalWithSelf", {{"  path_len: 1\n", "  path_len: 1\n  external: {anchor_sha256: AB}\n"}}, 16,
       "root.external", "only with issuer: external"},
      {"ExternalNewRootWithoutAnchor", {with_rotation(), {"    validity: 10y\n", "    validity: 10y\n    issuer: external\n"}}, 24,
       "rotation.new_root.external", "missing required field"},
      {"ExternalNewRootCrossSigned", {{"  path_len: 1\n", "  path_len: 2\n"}, with_rotation(),
                                      {"    validity: 10y\n", "    validity: 10y\n    issuer: external\n    external: {anchor_sha256: " + std::string(64, 'c') + "}\n"},
                                      {"  cross_sign: false\n", "  cross_sign: true\n"}}, 29,
       "rotation.cross_sign", "cannot cross-sign a new root under the corporate CA"},
      // Adopting the CA a mesh runs (rotation.current_ca).
      {"RotationCurrentCaWithCurrentOutput",
       {with_rotation(), {"  current_output: out\n", "  current_output: out\n  current_ca: {kind: pem-root, path: r.pem, sha256: " + kPin + "}\n"}},
       23, "rotation.current_ca", "a rotation starts from one of them"},
      {"RotationCurrentCaUnknownKind", {with_rotation(), adopted_ca("vault")}, 22, "rotation.current_ca.kind",
       "unknown kind 'vault'; one of istiod-self-signed, istio-cacerts or pem-root"},
      {"RotationCurrentCaPinNotAFingerprint",
       {with_rotation(), {"  current_output: out\n", "  current_ca: {kind: pem-root, path: r.pem, sha256: abc}\n"}}, 22,
       "rotation.current_ca.sha256", "must be the SHA-256 fingerprint of the adopted root certificate"},
      {"RotationCurrentCaWithRootSection", {with_rotation(), adopted_ca("pem-root")}, 7, "root", "has no root section"},
      {"RotationCurrentCaCrossSigned", {with_rotation(), adopted_ca("pem-root"), {"  cross_sign: false\n", "  cross_sign: true\n"}},
       27, "rotation.cross_sign", "cannot cross-sign from an adopted CA"},
      {"RotationCurrentCaFileMissing", {with_rotation(), adopted_ca("pem-root")}, 22, "rotation.current_ca.path", "does not exist"},
      {"RotationCurrentCaWithOldPin",
       {with_rotation(), adopted_ca("pem-root"), {"  new_root:\n", "  current_root_sha256: " + kPin + "\n  new_root:\n"}}, 23,
       "rotation.current_root_sha256", "an adopted CA is pinned by rotation.current_ca.sha256"},
      {"UnknownKeyIsEscapedInTheMessage", {{"organization: Acme Corp\n", "\"colo\\u202Eur\": blue\n"}}, 5,
       "colo\\u{202E}ur", "unknown field"},
  };
  // clang-format on
  return cases;
}

class PlanValidationBadPlan : public ::testing::TestWithParam<BadPlan> {};

TEST_P(PlanValidationBadPlan, ReportsLineFieldAndMessage) {
  const BadPlan& c = GetParam();
  const std::string text = plan_with(c.edits);
  const auto details = rejection_of(text);

  const std::string where = c.line > 0 ? "plan.yaml:" + std::to_string(c.line) + ":" : "plan.yaml: ";
  const std::string field = c.path.empty() ? "" : ": " + c.path + ": ";
  const bool found = std::any_of(details.begin(), details.end(), [&](const std::string& d) {
    return d.starts_with(where) && d.find(field) != std::string::npos && d.find(c.fragment) != std::string::npos;
  });
  EXPECT_TRUE(found) << "expected a finding starting with '" << where << "', naming '" << c.path
                     << "' and containing '" << c.fragment << "'; got:" << lines(details) << "\nplan:\n"
                     << text;
}

INSTANTIATE_TEST_SUITE_P(PlanValidation, PlanValidationBadPlan, ::testing::ValuesIn(bad_plans()),
                         [](const ::testing::TestParamInfo<BadPlan>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------------------
// A root under the corporate CA.

TEST(PlanValidationExternalRoot, DecodesIssuerAndNormalizesTheAnchor) {
  Plan self = parse_ok(plan_with({}));
  EXPECT_EQ(self.root.issuer, RootIssuer::self);
  EXPECT_TRUE(self.root.anchor_sha256.empty());
  Plan external = parse_ok(plan_with({external_root(std::string(64, 'b'))}));
  EXPECT_EQ(external.root.issuer, RootIssuer::external);
  EXPECT_EQ(external.root.anchor_sha256.size(), 95u);
  EXPECT_TRUE(external.root.anchor_sha256.starts_with("BB:BB:"));
}

TEST(PlanValidationExternalRoot, AnExternalRootRotatesAndANewRootMayBeExternal) {
  const std::string anchor(64, 'd');
  Plan plan = parse_ok(
      plan_with({external_root(kAnchor),
                 with_rotation(),
                 {"    validity: 10y\n", "    validity: 10y\n    issuer: external\n    external: {anchor_sha256: " + anchor + "}\n"}}));
  ASSERT_TRUE(plan.rotation.has_value());
  EXPECT_EQ(plan.root.issuer, RootIssuer::external);
  EXPECT_EQ(plan.rotation->new_root.issuer, RootIssuer::external);
  EXPECT_TRUE(plan.rotation->new_root.anchor_sha256.starts_with("DD:DD:"));
}

// ---------------------------------------------------------------------------
// A valid revocation section.

TEST(PlanValidationRevocation, DefaultsAndExplicitLifetime) {
  Plan without = parse_plan(plan_with({}), "plan.yaml", kBaseDir, now());
  EXPECT_FALSE(without.revocation.crl);
  Plan with = parse_plan(plan_with({{"outputs:\n", "revocation: {crl: true, next_update: 12h}\noutputs:\n"}}), "plan.yaml",
                         kBaseDir, now());
  EXPECT_TRUE(with.revocation.crl);
  EXPECT_EQ(with.revocation.next_update.hours, 12);
  Plan defaulted = parse_plan(plan_with({{"outputs:\n", "revocation: {crl: true}\noutputs:\n"}}), "plan.yaml", kBaseDir, now());
  EXPECT_EQ(defaulted.revocation.next_update.days, 30);
}

// ---------------------------------------------------------------------------
// A valid rotation section.

TEST(PlanValidationRotation, ResolvesTheNewRootAndInheritsPathLen) {
  Plan plan = parse_plan(plan_with({with_rotation(), {"  path_len: 1\n", "  path_len: 2\n"},
                                    {"  cross_sign: false\n", "  cross_sign: true\n  current_root_sha256: \"" +
                                                                    std::string(64, 'a') + "\"\n"}}),
                         "plan.yaml", kBaseDir, now());
  ASSERT_TRUE(plan.rotation.has_value());
  const RotationPlan& r = *plan.rotation;
  EXPECT_EQ(r.current_output, "out");
  EXPECT_TRUE(r.cross_sign);
  EXPECT_EQ(r.current_root_sha256.size(), 95u);  // 32 bytes "AA:AA:..."
  EXPECT_TRUE(r.current_root_sha256.starts_with("AA:AA:"));
  EXPECT_EQ(r.new_root.subject.to_string(), "C=US, O=Acme Corp, CN=Test Root CA 2031");
  EXPECT_EQ(r.new_root.key.file.path, "keys/root-2031.pem");
  EXPECT_EQ(r.new_root.path_len, 2);  // the current root's, as none is given
  EXPECT_TRUE(r.new_root.key_usage.key_cert_sign);
  EXPECT_TRUE(r.new_root.key_usage.crl_sign);
  EXPECT_FALSE(plan_with({}).find("rotation") != std::string::npos);
  EXPECT_FALSE(parse_plan(plan_with({}), "plan.yaml", kBaseDir, now()).rotation.has_value());
}

// ---------------------------------------------------------------------------
// Collecting every finding.

TEST(PlanValidationCollect, ReportsEveryIndependentDefectInOneError) {
  const std::string text = plan_with({
      {"meshca/v1", "meshca/v9"},                                            // line 1
      {"organization: Acme Corp\n", "colour: blue\n"},                       // line 5
      {"algorithm: ecdsa-p384", "algorithm: rsa-512"},                       // line 9
      {"  - name: prod\n", "  - name: Prod_Mesh\n"},                         // line 25
      {"namespace: istio-system", "namespace: Istio"},                       // line 23
  });
  try {
    parse_plan(text, "plan.yaml", kBaseDir, now());
    FAIL() << "the plan was accepted";
  } catch (const MultiError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_EQ(e.message(), "the plan has 5 errors");
    const auto& d = e.details();
    ASSERT_EQ(d.size(), 5u) << lines(d);
    auto has = [&](const std::string& prefix, const std::string& fragment) {
      return std::any_of(d.begin(), d.end(), [&](const std::string& s) {
        return s.starts_with(prefix) && s.find(fragment) != std::string::npos;
      });
    };
    EXPECT_TRUE(has("plan.yaml:1:", "apiVersion: unsupported version 'meshca/v9'")) << lines(d);
    EXPECT_TRUE(has("plan.yaml:5:", "colour: unknown field")) << lines(d);
    EXPECT_TRUE(has("plan.yaml:9:", "root.key.algorithm: RSA keys shorter than 2048 bits")) << lines(d);
    EXPECT_TRUE(has("plan.yaml:25:", "meshes[0].name: 'Prod_Mesh' is not a DNS-1123 label")) << lines(d);
    EXPECT_TRUE(has("plan.yaml:23:", "outputs.namespace: 'Istio' is not a DNS-1123 label")) << lines(d);
  }
}

TEST(PlanValidationCollect, FindingsCarryLineAndColumn) {
  // "file:line:column: field.path: message", column 1-based.
  const auto details = rejection_of(plan_with({{"  - name: prod\n", "  - name: Prod\n"}}));
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_EQ(details[0].substr(0, details[0].find(" meshes")), "plan.yaml:25:11:");
}

TEST(PlanValidationCollect, ASingleDefectGivesASingleFinding) {
  // One mistake should not drown the operator in follow-on findings.
  for (const auto& edits : std::vector<std::vector<Edit>>{
           {{"  path_len: 1\n", "  path_len: one\n"}},
           {{"  - name: prod\n", "  - name: root\n"}},
           {{"trust_domain: prod.example.org", "trust_domain: a..b"}},
           {{"algorithm: ecdsa-p384", "algorithm: rsa-1024"}},
           {{"  validity: 10y\n", "  not_after: 2020-01-01T00:00:00Z\n"}},
           {{"  validity: 10y\n", "  validity: 10y\n  not_after: 2040-01-01T00:00:00Z\n"}},
       }) {
    const auto details = rejection_of(plan_with(edits));
    EXPECT_EQ(details.size(), 1u) << edits.front().to << lines(details);
  }
}

// A malformed not_after is one mistake: no second finding about a
// not_before alone (the failed parse leaves neither a duration nor an end).
TEST(PlanValidationCollect, AMalformedNotAfterGivesASingleFinding) {
  for (const char* replacement : {"  not_after: next tuesday\n", "  not_before: 2026-01-01T00:00:00Z\n  not_after: soon\n"}) {
    const auto details = rejection_of(plan_with({{"  validity: 10y\n", replacement}}));
    EXPECT_EQ(details.size(), 1u) << replacement << lines(details);
  }
}

// not_before + validity whose end has already passed is refused like an
// explicit not_after in the past: a hierarchy that expired in 2001 is not a
// plan.
TEST(PlanValidationValidity, NotBeforeAndValidityEndingInThePastAreRejected) {
  const auto details = rejection_of(plan_with({{"  validity: 10y\n", "  not_before: 2000-01-01T00:00:00Z\n  validity: 1y\n"},
                                               {"    validity: 1y\n", "    not_before: 2000-02-01T00:00:00Z\n    validity: 180d\n"}}));
  const bool root_flagged = std::any_of(details.begin(), details.end(), [](const std::string& d) {
    return d.starts_with("plan.yaml:") && d.find(": root.validity: ") != std::string::npos &&
           d.find("past") != std::string::npos;
  });
  EXPECT_TRUE(root_flagged) << lines(details);
}

// An unknown placeholder written once in defaults.intermediate.subject is
// reported once, where it is written (line 20) and under the defaults' field
// path, not once per cluster.
TEST(PlanValidationOnePass, APlaceholderInDefaultsIsReportedOnceWhereWritten) {
  const auto details = rejection_of(plan_with({{"OU: \"{mesh}\"", "OU: \"{region}\""}}));
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_TRUE(details[0].starts_with("plan.yaml:20:")) << details[0];
  EXPECT_NE(details[0].find(": defaults.intermediate.subject.OU: unknown placeholder '{region}'"), std::string::npos)
      << details[0];
}

TEST(PlanValidationCollect, LiteralSecretIsNeverEchoed) {
  const auto details = rejection_of(plan_with({{"passphrase: env:MESHCA_ROOT_PASS", "passphrase: hunter2"}}));
  ASSERT_FALSE(details.empty());
  for (const auto& d : details) EXPECT_EQ(d.find("hunter2"), std::string::npos) << d;
}

TEST(PlanValidationCollect, SourceNameIsUsedInFindings) {
  try {
    parse_plan(plan_with({{"kind: CeremonyPlan", "kind: Plan"}}), "plans/acme.yaml", kBaseDir, now());
    FAIL() << "the plan was accepted";
  } catch (const MultiError& e) {
    ASSERT_EQ(e.details().size(), 1u) << lines(e.details());
    EXPECT_TRUE(e.details()[0].starts_with("plans/acme.yaml:2:")) << e.details()[0];
  }
}

// ---------------------------------------------------------------------------
// Good plans.

TEST(PlanValidationGood, EveryEmbeddedTemplateParses) {
  const auto names = templates::plan_template_names();
  ASSERT_FALSE(names.empty());
  for (const char* expected : {"single-mesh", "two-meshes", "rsa-root"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), templates::kDefaultPlanTemplate), names.end());
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto text = templates::plan_template(name);
    ASSERT_TRUE(text.has_value());
    Plan plan = parse_ok(*text, name + ".yaml");
    EXPECT_FALSE(plan.name.empty());
    EXPECT_FALSE(plan.meshes.empty());
    EXPECT_GT(plan.cluster_count(), 0u);
    EXPECT_EQ(plan.source, name + ".yaml");
    EXPECT_EQ(plan.base_dir, kBaseDir);
    EXPECT_EQ(plan.text, *text);
  }
}

TEST(PlanValidationGood, SingleMeshTemplateIsFullyResolved) {
  auto text = templates::plan_template("single-mesh");
  ASSERT_TRUE(text.has_value());
  Plan plan = parse_ok(*text);

  EXPECT_EQ(plan.name, "acme-mesh-2026");
  EXPECT_EQ(plan.organization, "Acme Corp");
  EXPECT_EQ(plan.root.subject.to_string(), "C=US, O=Acme Corp, CN=Acme Mesh Root CA 2026");
  EXPECT_EQ(plan.root.key.algorithm, pki::KeyAlgorithm::ecdsa_p384);
  EXPECT_EQ(plan.root.key.kind, hsm::KeyStoreKind::file);
  EXPECT_EQ(plan.root.key.file.path, "keys/root-key.pem");
  EXPECT_EQ(plan.root.key.file.passphrase.kind, SecretKind::env);
  EXPECT_EQ(plan.root.key.file.passphrase.value, "MESHCA_ROOT_PASS");
  ASSERT_TRUE(plan.root.validity.duration.has_value());
  EXPECT_EQ(plan.root.validity.duration->years, 20);
  EXPECT_EQ(plan.root.path_len, 1);

  ASSERT_EQ(plan.meshes.size(), 1u);
  const MeshPlan& mesh = plan.meshes[0];
  EXPECT_EQ(mesh.name, "prod");
  EXPECT_EQ(mesh.trust_domain, "prod.acme.internal");
  EXPECT_EQ(plan.cluster_count(), 3u);
  ASSERT_EQ(mesh.clusters.size(), 3u);
  EXPECT_EQ(mesh.clusters[0].name, "us-east-1");
  EXPECT_EQ(mesh.clusters[1].name, "us-west-2");
  EXPECT_EQ(mesh.clusters[2].name, "eu-west-1");
  EXPECT_EQ(mesh.clusters[2].field_path, "meshes[0].clusters[2]");
  EXPECT_EQ(mesh.clusters[0].location.file, "plan.yaml");
  EXPECT_GT(mesh.clusters[0].location.line, 0);

  const IntermediatePlan& first = mesh.clusters[0].intermediate;
  EXPECT_EQ(first.subject.to_string(), "O=Acme Corp, OU=prod, CN=us-east-1 Intermediate CA");
  EXPECT_EQ(first.algorithm, pki::KeyAlgorithm::ecdsa_p256);
  EXPECT_EQ(first.name_constraints, NameConstraintsMode::trust_domain);
  ASSERT_TRUE(first.validity.duration.has_value());
  EXPECT_EQ(first.validity.duration->years, 2);

  const IntermediatePlan& eu = mesh.clusters[2].intermediate;
  ASSERT_TRUE(eu.validity.duration.has_value());
  EXPECT_EQ(eu.validity.duration->years, 1);
  EXPECT_EQ(eu.validity.duration->days, 0);
  auto window = eu.validity.resolve(now());
  EXPECT_EQ(window.not_before, now());
  EXPECT_EQ(format_rfc3339(window.not_after), "2027-11-24T12:00:00Z");
  // The override touched only the validity.
  EXPECT_EQ(eu.subject.to_string(), "O=Acme Corp, OU=prod, CN=eu-west-1 Intermediate CA");
  EXPECT_EQ(eu.name_constraints, NameConstraintsMode::trust_domain);

  EXPECT_EQ(plan.outputs.namespace_name, "istio-system");
  EXPECT_EQ(plan.outputs.layout_names(), (std::vector<std::string>{"istio-cacerts", "k8s-secret"}));
}

TEST(PlanValidationGood, TwoMeshesTemplateResolvesPerMeshSubjectsAndOverrides) {
  auto text = templates::plan_template("two-meshes");
  ASSERT_TRUE(text.has_value());
  Plan plan = parse_ok(*text);
  ASSERT_EQ(plan.meshes.size(), 2u);
  EXPECT_EQ(plan.cluster_count(), 6u);
  EXPECT_EQ(plan.root.key.kind, hsm::KeyStoreKind::pkcs11);
  const MeshPlan& staging = plan.meshes[1];
  EXPECT_EQ(staging.trust_domain, "staging.acme.internal");
  ASSERT_EQ(staging.clusters.size(), 3u);
  // Same cluster name in two meshes is fine: {mesh} keeps the subjects apart.
  EXPECT_EQ(plan.meshes[0].clusters[0].intermediate.subject.to_string(),
            "O=Acme Corp, OU=prod, CN=us-east-1 Intermediate CA");
  EXPECT_EQ(staging.clusters[0].intermediate.subject.to_string(),
            "O=Acme Corp, OU=staging, CN=us-east-1 Intermediate CA");
  ASSERT_TRUE(staging.clusters[0].intermediate.validity.duration.has_value());
  EXPECT_EQ(staging.clusters[0].intermediate.validity.duration->days, 180);
  EXPECT_EQ(staging.clusters[2].intermediate.algorithm, pki::KeyAlgorithm::ecdsa_p384);
  EXPECT_EQ(staging.clusters[1].intermediate.algorithm, pki::KeyAlgorithm::ecdsa_p256);
}

constexpr std::string_view kMinimalPlan =
    "apiVersion: meshca/v1\n"
    "kind: CeremonyPlan\n"
    "metadata: {name: minimal}\n"
    "root:\n"
    "  subject: {CN: Minimal Root}\n"
    "  key: {algorithm: ecdsa-p384, store: file, file: {path: root.pem}}\n"
    "  validity: 5y\n"
    "meshes:\n"
    "  - name: prod\n"
    "    trust_domain: prod.example.org\n"
    "    clusters: [{name: east}, {name: west}]\n";

TEST(PlanValidationGood, MinimalPlanGetsBuiltInDefaults) {
  Plan plan = parse_ok(kMinimalPlan);
  EXPECT_EQ(plan.organization, "");
  EXPECT_EQ(plan.description, "");
  EXPECT_EQ(plan.root.path_len, 1);
  EXPECT_EQ(plan.root.subject.to_string(), "CN=Minimal Root");
  // An omitted passphrase defaults to the documented environment variable.
  EXPECT_EQ(plan.root.key.file.passphrase.kind, SecretKind::env);
  EXPECT_EQ(plan.root.key.file.passphrase.value, "MESHCA_ROOT_PASS");
  ASSERT_EQ(plan.cluster_count(), 2u);
  for (const auto& cluster : plan.meshes[0].clusters) {
    SCOPED_TRACE(cluster.name);
    const IntermediatePlan& i = cluster.intermediate;
    EXPECT_EQ(i.algorithm, pki::KeyAlgorithm::ecdsa_p256);
    EXPECT_EQ(i.name_constraints, NameConstraintsMode::none);
    ASSERT_TRUE(i.validity.duration.has_value());
    EXPECT_EQ(i.validity.duration->years, 1);
    EXPECT_EQ(i.validity.duration->days, 0);
    EXPECT_EQ(i.validity.duration->hours, 0);
    EXPECT_FALSE(i.validity.not_before.has_value());
    EXPECT_FALSE(i.validity.not_after.has_value());
    // O={organization} vanishes when the plan has no organization.
    EXPECT_EQ(i.subject.to_string(), "OU=prod, CN=" + cluster.name + " Intermediate CA");
  }
  EXPECT_EQ(plan.outputs.layout_names(), (std::vector<std::string>{"istio-cacerts", "k8s-secret"}));
  EXPECT_EQ(plan.outputs.namespace_name, "istio-system");
}

TEST(PlanValidationGood, BuiltInSubjectUsesOrganization) {
  Plan plan = parse_ok("organization: Example Org\n" + std::string(kMinimalPlan));
  ASSERT_EQ(plan.cluster_count(), 2u);
  EXPECT_EQ(plan.meshes[0].clusters[1].intermediate.subject.to_string(),
            "O=Example Org, OU=prod, CN=west Intermediate CA");
}

TEST(PlanValidationGood, ClusterSubjectOverrideKeepsOtherAttributes) {
  Plan plan = parse_ok(plan_with({{"      - name: west\n", "      - {name: west, intermediate: {subject: {OU: special}}}\n"}}));
  ASSERT_EQ(plan.cluster_count(), 2u);
  const auto& clusters = plan.meshes[0].clusters;
  EXPECT_EQ(clusters[1].intermediate.subject.to_string(), "O=Acme Corp, OU=special, CN=west Intermediate CA");
  // The sibling keeps the defaults.
  EXPECT_EQ(clusters[0].intermediate.subject.to_string(), "O=Acme Corp, OU=prod, CN=east Intermediate CA");
}

TEST(PlanValidationGood, SubjectPlaceholdersExpand) {
  Plan plan = parse_ok(plan_with(
      {{"{O: Acme Corp, OU: \"{mesh}\", CN: \"{cluster} Intermediate CA\"}",
        "{O: \"{organization}\", OU: \"{trust_domain}\", CN: \"{mesh}-{cluster} CA\", C: DE}"}}));
  ASSERT_EQ(plan.cluster_count(), 2u);
  EXPECT_EQ(plan.meshes[0].clusters[0].intermediate.subject.to_string(),
            "C=DE, O=Acme Corp, OU=prod.example.org, CN=prod-east CA");
}

TEST(PlanValidationGood, AbsoluteValidityResolvesToExactTimes) {
  Plan plan = parse_ok(plan_with(
      {{"  validity: 10y\n", "  not_before: 2026-01-01T00:00:00Z\n  not_after: 2046-01-01T00:00:00Z\n"},
       {"      - name: west\n",
        "      - {name: west, intermediate: {not_before: \"2026-12-01T00:00:00+02:00\", not_after: 2027-06-01T00:00:00Z}}\n"}}));
  const auto root = plan.root.validity.resolve(now());
  EXPECT_EQ(root.not_before, at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(root.not_after, at("2046-01-01T00:00:00Z"));
  EXPECT_FALSE(plan.root.validity.duration.has_value());

  ASSERT_EQ(plan.cluster_count(), 2u);
  const auto west = plan.meshes[0].clusters[1].intermediate.validity.resolve(now());
  EXPECT_EQ(format_rfc3339(west.not_before), "2026-11-30T22:00:00Z");
  EXPECT_EQ(format_rfc3339(west.not_after), "2027-06-01T00:00:00Z");
  // The other cluster keeps the 1y default, counted from the ceremony.
  const auto east = plan.meshes[0].clusters[0].intermediate.validity.resolve(now());
  EXPECT_EQ(east.not_before, now());
  EXPECT_EQ(format_rfc3339(east.not_after), "2027-11-24T12:00:00Z");
}

TEST(PlanValidationGood, NotBeforeWithDurationCountsFromNotBefore) {
  Plan plan = parse_ok(plan_with({{"  validity: 10y\n", "  not_before: 2026-06-01T00:00:00Z\n  validity: 10y\n"}}));
  const auto root = plan.root.validity.resolve(now());
  EXPECT_EQ(format_rfc3339(root.not_before), "2026-06-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(root.not_after), "2036-06-01T00:00:00Z");
}

TEST(PlanValidationGood, Pkcs11RootKeyParses) {
  Plan plan = parse_ok(plan_with(
      {{std::string(kFileStore),
        "    store: pkcs11\n"
        "    pkcs11:\n"
        "      module: /usr/lib/softhsm/libsofthsm2.so\n"
        "      token: acme-root\n"
        "      label: root-2026\n"
        "      id: 0a1B\n"
        "      pin: file:/run/secrets/pin\n"}}));
  EXPECT_EQ(plan.root.key.kind, hsm::KeyStoreKind::pkcs11);
  EXPECT_EQ(plan.root.key.algorithm, pki::KeyAlgorithm::ecdsa_p384);
  const hsm::Pkcs11KeyRef& ref = plan.root.key.pkcs11;
  EXPECT_EQ(ref.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(ref.token, "acme-root");
  EXPECT_EQ(ref.label, "root-2026");
  EXPECT_EQ(ref.id_hex, "0a1B");
  EXPECT_EQ(ref.pin.kind, SecretKind::file);
  EXPECT_EQ(ref.pin.value, "/run/secrets/pin");
}

TEST(PlanValidationGood, Pkcs11TokenBySerialAndKeyByIdParse) {
  Plan plan = parse_ok(plan_with(
      {{std::string(kFileStore),
        "    store: pkcs11\n    pkcs11: {module: /usr/lib/p11.so, serial: 0123abcd, id: \"01\", pin: prompt}\n"}}));
  const hsm::Pkcs11KeyRef& ref = plan.root.key.pkcs11;
  EXPECT_TRUE(ref.token.empty());
  EXPECT_EQ(ref.serial, "0123abcd");
  EXPECT_TRUE(ref.label.empty());
  EXPECT_EQ(ref.id_hex, "01");
  EXPECT_EQ(ref.pin.kind, SecretKind::prompt);
}

TEST(PlanValidationGood, RsaAlgorithmsAndPathLenAreRead) {
  Plan plan = parse_ok(plan_with({{"algorithm: ecdsa-p384", "algorithm: rsa-4096"},
                                  {"{algorithm: ecdsa-p256}", "{algorithm: rsa-2048}"},
                                  {"  path_len: 1\n", "  path_len: 2\n"},
                                  {"    validity: 1y\n", "    validity: 1y\n    name_constraints: none\n"}}));
  EXPECT_EQ(plan.root.key.algorithm, pki::KeyAlgorithm::rsa_4096);
  EXPECT_EQ(plan.root.path_len, 2);
  ASSERT_EQ(plan.cluster_count(), 2u);
  EXPECT_EQ(plan.meshes[0].clusters[0].intermediate.algorithm, pki::KeyAlgorithm::rsa_2048);
  EXPECT_EQ(plan.meshes[0].clusters[0].intermediate.name_constraints, NameConstraintsMode::none);
}

TEST(PlanValidationGood, OutputsCanBeNarrowed) {
  Plan plan = parse_ok(plan_with({{"[istio-cacerts, k8s-secret]", "[istio-cacerts]"},
                                  {"namespace: istio-system", "namespace: mesh-ca"}}));
  EXPECT_EQ(plan.outputs.layout_names(), (std::vector<std::string>{"istio-cacerts"}));
  EXPECT_TRUE(plan.outputs.has_layout(output_layout::Layout::istio_cacerts));
  EXPECT_FALSE(plan.outputs.has_layout(output_layout::Layout::k8s_secret));
  EXPECT_EQ(plan.outputs.namespace_name, "mesh-ca");
}

// ---------------------------------------------------------------------------
// Name rules.

TEST(PlanValidationGood, MeshOutputsOverrideThePlansFieldByField) {
  Plan plan = parse_ok(plan_with({{"  namespace: istio-system\n",
                                   "  namespace: istio-system\n  cert_manager: {kind: Issuer, namespace: apps}\n"},
                                  {"  - name: prod\n",
                                   "  - name: prod\n    outputs: {layouts: [linkerd, cert-manager, spire], cert_manager: {name: mesh-ca}, "
                                   "spire: {directory: /opt/spire/up}}\n    profile: spire\n"},
                                  {"algorithm: ecdsa-p384", "algorithm: ecdsa-p256"},
                                  {"  path_len: 1\n", "  path_len: 2\n"}}));
  EXPECT_EQ(plan.outputs.layout_names(), (std::vector<std::string>{"istio-cacerts", "k8s-secret"}));
  ASSERT_EQ(plan.meshes.size(), 1u);
  const auto& out = plan.meshes[0].outputs;
  EXPECT_EQ(out.layout_names(), (std::vector<std::string>{"linkerd", "cert-manager", "spire"}));
  EXPECT_EQ(out.namespace_name, "istio-system");
  EXPECT_EQ(out.cert_manager.kind, "Issuer");
  EXPECT_EQ(out.cert_manager.namespace_name, "apps");
  EXPECT_EQ(out.cert_manager.name, "mesh-ca");
  EXPECT_EQ(out.spire.directory, "/opt/spire/up");
  EXPECT_EQ(plan.meshes[0].profile, "spire");
  EXPECT_EQ(plan.meshes[0].clusters[0].intermediate.path_len, 1);
}

TEST(PlanValidationGood, IstioCacertsIsNoLongerRequired) {
  Plan plan = parse_ok(plan_with({{"[istio-cacerts, k8s-secret]", "[istio-tls, k8s-secret]"}}));
  EXPECT_EQ(plan.meshes[0].outputs.layout_names(), (std::vector<std::string>{"istio-tls", "k8s-secret"}));
  EXPECT_EQ(plan.meshes[0].outputs.cert_manager.kind, "ClusterIssuer");
  EXPECT_EQ(plan.meshes[0].outputs.cert_manager.name, "meshca-ca");
  EXPECT_EQ(plan.meshes[0].profile, "meshca");
}

TEST(PlanValidationNames, Dns1123Label) {
  for (const char* good : {"a", "prod", "us-east-1", "0", "1abc", "a-b-c", "x9"}) {
    EXPECT_TRUE(is_dns1123_label(good)) << good;
  }
  EXPECT_TRUE(is_dns1123_label(std::string(63, 'a')));
  for (const char* bad : {"", "Prod", "us_east", "-east", "east-", "a.b", "a b", "é"}) {
    EXPECT_FALSE(is_dns1123_label(bad)) << bad;
  }
  EXPECT_FALSE(is_dns1123_label(std::string(64, 'a')));
}

TEST(PlanValidationGood, DescriptionMayHoldLineBreaksAndTabs) {
  Plan plan = parse_ok(plan_with({{"  name: test-plan\n", "  name: test-plan\n  description: \"line one\\n\\tline two\"\n"}}));
  EXPECT_EQ(plan.description, "line one\n\tline two");
}

TEST(PlanValidationNames, TrustDomain) {
  for (const char* good : {"prod.example.org", "cluster.local", "a", "my_domain-1.internal"}) {
    EXPECT_EQ(trust_domain_problem(good), "") << good;
  }
  EXPECT_EQ(trust_domain_problem(std::string(255, 'a')), "");

  auto problem = [](std::string_view s) { return trust_domain_problem(s); };
  EXPECT_NE(problem("spiffe://prod.example.org").find("without spiffe://"), std::string::npos);
  EXPECT_NE(problem("").find("1 to 255 characters"), std::string::npos);
  EXPECT_NE(problem(std::string(256, 'a')).find("1 to 255 characters"), std::string::npos);
  EXPECT_NE(problem("prod.example.org:8080").find("contains ':'"), std::string::npos);
  EXPECT_NE(problem("prod.example.org/x").find("contains '/'"), std::string::npos);
  EXPECT_NE(problem("Prod.example.org").find("contains 'P'"), std::string::npos);
  for (const char* empty_label : {"a..b", ".example.org", "example.org."}) {
    EXPECT_NE(problem(empty_label).find("empty DNS label"), std::string::npos) << empty_label;
  }
  // The reason quotes the offending value.
  EXPECT_TRUE(problem("a..b").starts_with("'a..b'"));
}


// ---------------------------------------------------------------------------
// One run reports every independent error, in line order (issue 18, items 2,
// 3 and 9).

// The line of a detail "plan.yaml:LINE:COLUMN: ...", 0 when it has none.
int line_of(const std::string& detail) {
  auto colon = detail.find(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(detail.c_str() + colon + 1);
}

std::vector<std::string> matching(const std::vector<std::string>& details, const std::string& fragment) {
  std::vector<std::string> found;
  for (const auto& d : details) {
    if (d.find(fragment) != std::string::npos) found.push_back(d);
  }
  return found;
}

TEST(PlanValidationOnePass, BadCountryAndOverlongValidityAreReportedTogetherInLineOrder) {
  // The country is wrong (line 7) and the defaults' validity outlives the
  // root's 10y (line 19): independent, so both in one run.
  auto details = rejection_of(plan_with({{"C: US}\n  key:", "C: USA}\n  key:"}, {"    validity: 1y\n", "    validity: 20y\n"}}));
  ASSERT_EQ(details.size(), 2u) << lines(details);
  EXPECT_NE(details[0].find("plan.yaml:7:"), std::string::npos) << details[0];
  EXPECT_NE(details[0].find("root.subject.C"), std::string::npos) << details[0];
  EXPECT_NE(details[1].find("plan.yaml:19:"), std::string::npos) << details[1];
  EXPECT_NE(details[1].find("must lie inside the root's validity"), std::string::npos) << details[1];
}

TEST(PlanValidationOnePass, DetailsAreInLineOrder) {
  // Defects written bottom-up: a bad cluster name (line 29), an unknown
  // field (line 22), a bad metadata name (line 4).
  auto details = rejection_of(plan_with({{"      - name: west\n", "      - name: West_1\n"},
                                         {"  namespace: istio-system\n", "  namespace: istio-system\n  colour: red\n"},
                                         {"  name: test-plan\n", "  name: Test_Plan\n"}}));
  ASSERT_EQ(details.size(), 3u) << lines(details);
  EXPECT_TRUE(std::is_sorted(details.begin(), details.end(),
                             [](const auto& a, const auto& b) { return line_of(a) < line_of(b); }))
      << lines(details);
  EXPECT_EQ(line_of(details.front()), 4) << lines(details);
}

TEST(PlanValidationOnePass, DefaultsErrorIsReportedOnceWhereItIsWrittenNamingTheClusters) {
  auto details = rejection_of(plan_with({{"    validity: 1y\n", "    validity: 20y\n"}}));
  auto validity = matching(details, "must lie inside");
  ASSERT_EQ(validity.size(), 1u) << lines(details);
  EXPECT_NE(validity[0].find("plan.yaml:19:15: defaults.intermediate.validity:"), std::string::npos) << validity[0];
  EXPECT_NE(validity[0].find("affects 2 clusters: prod/east, prod/west"), std::string::npos) << validity[0];
  EXPECT_TRUE(matching(details, "clusters[").empty()) << "blamed on a cluster line:" << lines(details);
}

TEST(PlanValidationOnePass, AClustersOwnValidityIsReportedAtIt) {
  auto details = rejection_of(plan_with({{"      - name: west\n", "      - name: west\n        intermediate: {validity: 20y}\n"}}));
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_NE(details[0].find("plan.yaml:30:34: meshes[0].clusters[1].intermediate.validity:"), std::string::npos)
      << details[0];
}

TEST(PlanValidationOnePass, ADependentCheckStaysSilentWhenItsInputIsWrong) {
  // The root's validity itself is wrong: "the intermediate must lie inside
  // the root's validity" would only repeat that.
  auto details = rejection_of(plan_with({{"  validity: 10y\n", "  validity: ten years\n"}}));
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_NE(details[0].find("root.validity"), std::string::npos) << details[0];
}

TEST(PlanValidationYaml, ATabInTheIndentationIsNamed) {
  auto details = rejection_of(plan_with({{"      - name: west\n", "\t- name: west\n"}}));
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_NE(details[0].find("plan.yaml:29:1: a tab character in the indentation"), std::string::npos) << details[0];
}

TEST(PlanValidationYaml, NestingDeeperThanTheParserAllowsIsNamed) {
  std::string deep = std::string(kBasePlan) + "description: " + std::string(10000, '[') + std::string(10000, ']') + "\n";
  auto details = rejection_of(deep);
  ASSERT_EQ(details.size(), 1u) << lines(details);
  EXPECT_NE(details[0].find("nests collections deeper than the YAML parser allows"), std::string::npos) << details[0];
  EXPECT_EQ(details[0].find("bad file"), std::string::npos) << details[0];
}

TEST(PlanValidationSecrets, AReferenceThatIsNoNameIsRefusedWithoutEchoingIt) {
  for (const char* ref : {"env:987654", "env:1PIN", "env:PIN-CODE", "env:12 34"}) {
    auto details = rejection_of(plan_with({{"passphrase: env:MESHCA_ROOT_PASS", std::string("passphrase: \"") + ref + "\""}}));
    ASSERT_EQ(details.size(), 1u) << ref << lines(details);
    EXPECT_NE(details[0].find("plan.yaml:13:19: root.key.file.passphrase: env: must name an environment variable"),
              std::string::npos)
        << details[0];
    EXPECT_EQ(details[0].find(std::string(ref).substr(4)), std::string::npos) << "echoed: " << details[0];
  }
  EXPECT_NO_THROW(parse_plan(plan_with({{"passphrase: env:MESHCA_ROOT_PASS", "passphrase: env:_ROOT_PASS_2"}}),
                             "plan.yaml", kBaseDir, now()));
}

TEST(PlanValidationNames, TrustDomainProblemNeverSplitsACharacter) {
  // "é" is two bytes: the message shows it whole (or escaped), never one half.
  const std::string problem = trust_domain_problem("caf\xc3\xa9.example");
  ASSERT_FALSE(problem.empty());
  for (std::size_t i = 0; i < problem.size(); ++i) {
    const auto c = static_cast<unsigned char>(problem[i]);
    if (c == 0xc3) {
      ASSERT_LT(i + 1, problem.size()) << problem;
      EXPECT_EQ(static_cast<unsigned char>(problem[i + 1]), 0xa9) << problem;
    }
    if (c == 0xa9) {
      ASSERT_GT(i, 0u) << problem;
      EXPECT_EQ(static_cast<unsigned char>(problem[i - 1]), 0xc3) << problem;
    }
  }
}

}  // namespace
}  // namespace meshca::ceremony
