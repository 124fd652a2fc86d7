#include "plan/ceremony_script.hpp"

#include <algorithm>

#include "pki/key.hpp"
#include "plan/plan_digest.hpp"
#include "plan/plan_view.hpp"

namespace meshca::ceremony {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

std::string script_step_key(std::string_view record, std::string_view subject) { return std::string(record) + "\n" + std::string(subject); }

ScriptStep open_step(const Plan& plan, const std::string& digest) {
  return {.record = "open",
          .subject = {},
          .title = "Start the run",
          .duties = {{"operator", "runs: meshca ceremony run " + plan.source.filename().string() + " --out OUT --expect-digest " + digest +
                                      " --operator NAME --witness NAME (one --witness per witness present)"},
                     {"witnesses", "check that the command names the approved digest, the operator and every witness present"}},
          .expected = {{"plan", plan.name},
                       {"plan digest", digest},
                       {"meshes / clusters", std::to_string(plan.meshes.size()) + " / " + std::to_string(plan.cluster_count())}},
          .blanks = {}};
}

ScriptStep confirm_step(const std::string& digest) {
  return {.record = "confirm",
          .subject = {},
          .title = "Confirm the plan digest",
          .duties = {{"operator",
                      "reads the displayed digest aloud and types its first " + std::to_string(kConfirmDigestChars) + " characters"},
                     {"witnesses", "compare the displayed digest, character by character, with the one below"}},
          .expected = {{"plan digest", digest}, {"typed", digest.substr(0, kConfirmDigestChars)}},
          .blanks = {}};
}

ScriptStep root_key_step(const Plan& plan) {
  return {.record = "root-key",
          .subject = {},
          .title = "Open the root key",
          .duties = {{"custodians", "provide the root key's secret when the tool asks for it; nobody else sees or types it"},
                     {"operator", "reads the key store the tool names (the summary's key: line)"},
                     {"witnesses", "check the store against the one below; note whether the key was generated or loaded"}},
          .expected = {{"root key", root_key_location(plan.root.key)},
                       {"algorithm", std::string(pki::key_algorithm_name(plan.root.key.algorithm))}},
          .blanks = {"generated in this run / loaded"}};
}

ScriptStep root_certificate_step(const Plan& plan) {
  const bool external = plan.root.issuer == RootIssuer::external;
  ScriptStep step{.record = "root-certificate",
                  .subject = {},
                  .title = external ? "Reuse the root imported from the corporate CA" : "Issue (or reuse) the root certificate",
                  .duties = {{"operator", "reads the root's sha256: line from the summary"},
                             {"witnesses", "copy the root certificate's SHA-256 (first 8 bytes)"}},
                  .expected = {{"subject", plan.root.subject.to_string()}, {"validity", plan.root.validity.to_string()}},
                  .blanks = {"root certificate SHA-256 (first 8 bytes)"}};
  if (external) step.expected.emplace_back("corporate anchor SHA-256", plan.root.anchor_sha256);
  return step;
}

ScriptStep crl_step(const Plan& plan) {
  return {.record = "crl",
          .subject = {},
          .title = "Issue (or reuse) the root CRL",
          .duties = {{"operator", "lets the tool issue the root CRL, or reuse the fresh one in OUT/root/"}},
          .expected = {{"CRL valid for", plan.revocation.next_update.to_string()}},
          .blanks = {}};
}

ScriptStep cluster_step(const MeshPlan& mesh, const ClusterPlan& cluster) {
  const auto& inter = cluster.intermediate;
  const std::string id = mesh.name + "/" + cluster.name;
  std::string key = std::string(pki::key_algorithm_name(inter.algorithm));
  key += inter.pinned_key ? ", the cluster's own key (pinned by its CSR; no private key in the bundle)"
                          : ", generated in the room, leaves only in the bundle";
  ScriptStep step{.record = "intermediate",
                  .subject = id,
                  .title = "Intermediate CA " + id,
                  .duties = {{"witnesses", "copy the certificate's SHA-256 (first 8 bytes) as transcript verify prints it (step C1)"}},
                  .expected = {{"subject", inter.subject.to_string()},
                               {"trust domain", mesh.trust_domain},
                               {"key", key},
                               {"validity", inter.validity.to_string()},
                               {"layouts", joined(mesh.outputs.layout_names())},
                               {"bundle", "OUT/" + id + "/"}},
                  .blanks = {"certificate SHA-256 (first 8 bytes)"}};
  if (inter.pinned_key) step.expected.emplace_back("pinned SPKI SHA-256", inter.pinned_key->spki_sha256);
  return step;
}

ScriptStep close_step(const Plan& plan) {
  return {.record = "close",
          .subject = {},
          .title = "Close the transcript",
          .duties = {{"operator", "reads the transcript head from the summary's transcript: line"},
                     {"witnesses", "each writes the head down in full and keeps this sheet"}},
          .expected = {{"outcome", "completed"}, {"bundles issued, renewed or kept", std::to_string(plan.cluster_count())}},
          .blanks = {"files checksummed (SHA256SUMS)", "transcript head (64 hex digits)"}};
}

}  // namespace

std::optional<std::size_t> CeremonyScript::number_of(std::string_view record, std::string_view subject) const {
  auto it = numbers_.find(script_step_key(record, subject));
  if (it == numbers_.end()) return std::nullopt;
  return it->second;
}

const ScriptStep* CeremonyScript::step(std::size_t number) const {
  return number >= 1 && number <= steps.size() ? &steps[number - 1] : nullptr;
}

CeremonyScript ceremony_steps(const Plan& plan) {
  CeremonyScript script;
  script.plan_name = plan.name;
  script.plan_digest = plan_digest(plan.text, plan.source.string());
  script.meshes = plan.meshes.size();
  script.clusters = plan.cluster_count();
  const std::string& digest = script.plan_digest;

  script.preparation = {
      {.record = {},
       .subject = {},
       .title = "Identify the people in the room",
       .duties = {{"witnesses", "write each person's name and role on the cover of this sheet"},
                  {"custodians", "show their tokens or sealed secrets unopened"}},
       .expected = {},
       .blanks = {}},
      {.record = {},
       .subject = {},
       .title = "Check the plan",
       .duties = {{"operator", "runs: meshca plan digest " + plan.source.filename().string()},
                  {"witnesses", "compare the printed digest with the one below and with the auditor's approval"}},
       .expected = {{"plan digest", digest}},
       .blanks = {}},
  };

  script.steps.push_back(open_step(plan, digest));
  script.steps.push_back(confirm_step(digest));
  script.steps.push_back(root_key_step(plan));
  script.steps.push_back(root_certificate_step(plan));
  if (plan.revocation.crl) script.steps.push_back(crl_step(plan));
  for (const auto& mesh : plan.meshes) {
    for (const auto& cluster : mesh.clusters) script.steps.push_back(cluster_step(mesh, cluster));
  }
  script.steps.push_back(close_step(plan));
  for (std::size_t i = 0; i < script.steps.size(); ++i) {
    script.steps[i].number = i + 1;
    script.numbers_[script_step_key(script.steps[i].record, script.steps[i].subject)] = i + 1;
  }

  const std::string last = std::to_string(script.steps.size());
  script.closing = {
      {.record = {},
       .subject = {},
       .title = "Verify the transcript",
       .duties = {{"operator", "runs: meshca transcript verify OUT/transcript.jsonl --out OUT --plan " + plan.source.filename().string() +
                                   " --expect-head HEAD (the head from step " + last + ")"},
                  {"witnesses", "compare the printed steps 1 to " + last + ", line by line, with this sheet; fill in what is blank"}},
       .expected = {{"result", "PASS"}, {"steps", "1 to " + last}},
       .blanks = {}},
      {.record = {},
       .subject = {},
       .title = "Sign off",
       .duties = {{"operator", "signs this sheet"}, {"witnesses", "sign this sheet and take their copy of the transcript head"}},
       .expected = {},
       .blanks = {}},
  };
  return script;
}

std::optional<ScriptFormat> parse_script_format(std::string_view name) {
  if (name == "markdown") return ScriptFormat::markdown;
  if (name == "html") return ScriptFormat::html;
  return std::nullopt;
}

}  // namespace meshca::ceremony
