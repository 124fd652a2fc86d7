#include "ceremony/issuance.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/secure_buffer.hpp"
#include "output_layout/checksums.hpp"
#include "pki/certificate.hpp"
#include "plan/plan_digest.hpp"

namespace meshca::ceremony {
namespace {

std::string describe_findings(const std::vector<pki::LintFinding>& findings) {
  std::string s;
  for (const auto& f : findings) {
    s += (s.empty() ? "" : "; ") + std::string(pki::severity_name(f.severity)) + " " + f.check + ": " + f.message;
  }
  return s;
}

}  // namespace

ApprovedPlan approve_plan(const Plan& plan, const PlanApproval& approval, const std::string& action) {
  ApprovedPlan approved{plan_digest(plan.text, plan.source.string()), ""};
  if (!approval.expected_digest.empty() && approval.expected_digest != approved.digest) {
    throw Error(ErrorKind::invalid_input,
                "plan digest is " + approved.digest + ", not the approved " + approval.expected_digest +
                    "; the plan changed after the auditor signed off",
                plan.source.string());
  }
  if (approval.assume_yes) {
    approved.method = "--yes (unattended)";
    return approved;
  }
  if (!approval.confirm) {
    throw Error(ErrorKind::usage, "the operator must confirm the plan digest on a terminal; pass --yes for an unattended run");
  }
  std::string question = "Plan '" + plan.name + "' has digest " + approved.digest +
                         ".\nCompare it with the digest the auditor approved, then type its first " +
                         std::to_string(kConfirmDigestChars) + " characters to " + action;
  if (!approval.confirm(question, approved.digest.substr(0, kConfirmDigestChars))) {
    throw Error(ErrorKind::usage, "the operator did not confirm the plan digest; nothing was signed");
  }
  approved.method = "typed by the operator";
  return approved;
}

SessionTranscript::SessionTranscript(const std::filesystem::path& file, const std::filesystem::path& out, const Plan& plan,
                                     const SigningSessionOptions& options, const ApprovedPlan& approved, UnixTime now,
                                     const nlohmann::json& session_facts, const CeremonyScript* script)
    : script_(script), writer_(file), out_(out) {
  nlohmann::json details{{"plan", plan.name},
                         {"plan_file", plan.source.string()},
                         {"plan_digest", approved.digest},
                         {"ceremony_time", format_rfc3339(now)},
                         {"out", options.out_dir.string()},
                         {"versions", options.versions},
                         {"operator", options.operator_name},
                         {"witnesses", options.witnesses}};
  details.update(session_facts);
  if (!writer_.torn_tail().is_null()) details["cut_torn_line"] = writer_.torn_tail();
  record("open", std::move(details));
  record("confirm", {{"plan_digest", approved.digest}, {"method", approved.method}});
}

void SessionTranscript::note_written(const std::filesystem::path& path) {
  std::string content = read_file(path, 64 * 1024 * 1024);
  written_[path.lexically_relative(out_).string()] = sha256_hex(content);
  cleanse(content);
}

LockRequest lock_request(const SigningSessionOptions& options, const std::string& command) {
  return {command, options.wait_for_lock, options.on_lock_wait};
}

std::string SessionTranscript::close(const std::string& outcome, const std::string& error, nlohmann::json facts,
                                     const output_layout::FileDigests* manifest) {
  if (manifest != nullptr) {
    for (const auto& [file, digest] : *manifest) written_[file] = digest;  // OUT as the session leaves it
  }
  // The file list is the largest record of a big ceremony: its entries move
  // from the map into the record one by one instead of existing twice.
  nlohmann::json files = nlohmann::json::object();
  while (!written_.empty()) {
    auto entry = written_.extract(written_.begin());
    files.emplace(std::move(entry.key()), std::move(entry.mapped()));
  }
  nlohmann::json details{{"outcome", outcome}, {"files", std::move(files)}};
  if (manifest != nullptr) details["manifest"] = "complete";
  if (!error.empty()) details["error"] = error;
  details.update(facts);
  try {
    record("close", std::move(details));
  } catch (const Error&) {
    if (outcome == "completed") throw;
  }
  return writer_.head();
}

CertificateRecord record_of(const X509* cert) {
  return {pki::subject_string(cert), pki::serial_hex(cert), pki::sha256_fingerprint(cert), pki::not_before(cert),
          pki::not_after(cert)};
}

nlohmann::json to_json(const CertificateRecord& r) {
  return {{"subject", r.subject},
          {"serial", r.serial},
          {"sha256", r.sha256},
          {"not_before", format_rfc3339(r.not_before)},
          {"not_after", format_rfc3339(r.not_after)}};
}

std::vector<std::string> verify_before_writing(const IssuedCertificateCheck& c) {
  if (c.subject_key && !pki::key_matches_certificate(c.subject_key, c.cert)) {
    throw Error(ErrorKind::internal, "the " + c.what + " does not carry the public key it was issued for");
  }
  // The strict chain check verifies the signature with the issuer's public
  // key from its certificate (a software key, never the token's object).
  auto verdict =
      pki::verify_chain(c.cert, c.untrusted, {c.anchor}, std::max(pki::not_before(c.cert), now_utc()), c.anchor_signature);
  if (!verdict.ok && !pki::signed_by(c.cert, c.issuer)) {
    throw Error(ErrorKind::key_store,
                "the signature on the " + c.what + " does not verify with the issuer's public key; the key store signed with another key");
  }
  if (!verdict.ok) throw Error(ErrorKind::internal, "the " + c.what + " fails OpenSSL strict verification: " + verdict.error);
  auto findings = pki::lint_ca_certificate(c.cert, c.issuer, c.role, false, pki::IssuerSignature::already_verified);
  if (c.certifies_cas) {
    std::erase_if(findings, [](const pki::LintFinding& f) { return f.check == "path-length"; });
  }
  if (!lints_acceptable(c.lint_warnings, findings)) {
    throw Error(ErrorKind::internal, "the " + c.what + " fails lints: " + describe_findings(findings));
  }
  std::vector<std::string> warnings;
  for (const auto& f : findings) warnings.push_back(f.check + ": " + f.message);
  return warnings;
}

bool lints_acceptable(LintWarnings lint_warnings, const std::vector<pki::LintFinding>& findings) {
  return lint_warnings == LintWarnings::fatal ? findings.empty() : !pki::has_failure(findings);
}

void refuse_root_key_inside(const hsm::RootKeyRef& key, const std::filesystem::path& base_dir,
                            const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  if (key.kind != hsm::KeyStoreKind::file) return;
  fs::path file = key.file.path.is_relative() ? base_dir / key.file.path : key.file.path;
  auto key_abs = resolved_path(file, ErrorKind::invalid_input).string();
  auto out_abs = resolved_path(out_dir, ErrorKind::output).string() + "/";
  if (key_abs.starts_with(out_abs)) {
    throw Error(ErrorKind::output, "the root key file lies inside the output directory; the root private key must never enter OUT",
                file.string());
  }
}

nlohmann::json profile_json(std::string_view profile, const std::vector<std::string>& lint_warnings) {
  nlohmann::json j{{"name", profile}};
  if (!lint_warnings.empty()) j["lint_warnings"] = lint_warnings;
  return j;
}

void add_key_facts(nlohmann::json& details, const IntermediatePlan& intermediate) {
  details["key"] = std::string(pki::key_algorithm_name(intermediate.algorithm));
  details["key_custody"] = intermediate.pinned_key ? "cluster" : "bundle";
  if (const auto& pin = intermediate.pinned_key) details["key_spki_sha256"] = pin->spki_sha256;
}

}  // namespace meshca::ceremony
