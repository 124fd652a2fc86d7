#include "ceremony/external_root.hpp"

#include <openssl/x509v3.h>

#include <algorithm>

#include "ceremony/conformance.hpp"
#include "ceremony/output_tree.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/output_lock.hpp"
#include "pki/csr.hpp"
#include "pki/verify.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

void require_external(const Plan& plan, RootTarget target, const std::string& command) {
  if (target == RootTarget::rotation_new_root && !plan.rotation) {
    throw Error(ErrorKind::invalid_input, "--new-root is for a plan with a rotation section, whose new_root the corporate CA certifies",
                plan.source.string());
  }
  if (target_root(plan, target).issuer == RootIssuer::external) return;
  const std::string field = target_field(target);
  throw Error(ErrorKind::invalid_input,
              "the plan's " + field + " is self-signed (" + field + ".issuer: self); " + command +
                  " is for a root under the corporate CA (issuer: external); " +
                  (target == RootTarget::root ? "meshca ceremony run" : "meshca rotate phases") + " issues a self-signed root",
              plan.source.string());
}

std::string comma_joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// What every command that writes OUT/root does first: the approval, the
// root key outside OUT, the lock, OUT's tree.
struct RootSession {
  ApprovedPlan approved;
  OutputLock lock;
};

RootSession open_root_session(const Plan& plan, RootTarget target, const SigningSessionOptions& opt, const std::string& command,
                              const std::string& action) {
  require_external(plan, target, command);
  RootSession s{approve_plan(plan, opt, action), {}};
  refuse_root_key_inside(target_root(plan, target).key, plan.base_dir, opt.out_dir);
  s.lock = lock_output_directory(opt.out_dir, lock_request(opt, command));
  refuse_output_tree_problems(plan, opt.out_dir);
  remove_stale_temp_files({opt.out_dir / kRootDir / kRootCsrFile, opt.out_dir / kRootDir / ol::kRootCertFile,
                           opt.out_dir / kRootDir / kIssuerChainFile, opt.out_dir / kRootDir / kIssuerCrlsFile});
  return s;
}

}  // namespace

std::vector<const X509*> ExternalRoot::chain() const {
  std::vector<const X509*> out;
  out.reserve(issuer_chain.size());
  for (const auto& c : issuer_chain) out.push_back(c.get());
  return out;
}

std::vector<const X509*> ExternalRoot::chain_from_root() const {
  std::vector<const X509*> out{root.get()};
  for (const auto& c : issuer_chain) out.push_back(c.get());
  return out;
}

std::vector<const X509*> ExternalRoot::untrusted() const {
  if (issuer_chain.empty()) return {};
  std::vector<const X509*> out = chain_from_root();
  out.pop_back();
  return out;
}

void refuse_stale_issuer_crls(const ExternalRoot& root, const fs::path& out, UnixTime now, RootTarget target) {
  const fs::path file = out / kRootDir / kIssuerCrlsFile;
  std::vector<std::string> details;
  for (const auto& f : issuer_crls_conformance(root.root.get(), root.chain(), root.issuer_crls, now)) {
    details.push_back(file.string() + ": " + f.message());
  }
  if (details.empty()) return;
  throw MultiError(ErrorKind::invalid_input,
                   std::string("the corporate CAs' CRLs every bundle must carry are missing or not valid now; import fresh ones "
                               "from the corporate CA first: meshca crl import PLAN ") +
                       (target == RootTarget::root ? "" : "--new-root ") + "--out " + out.string() + " --crl FILE (nothing was written)",
                   details);
}

const RootPlan& target_root(const Plan& plan, RootTarget target) {
  if (target == RootTarget::root) return plan.root;
  if (!plan.rotation) throw Error(ErrorKind::internal, "no rotation section");
  return plan.rotation->new_root;
}

std::string target_field(RootTarget target) { return target == RootTarget::root ? "root" : "rotation.new_root"; }

ExternalRoot load_external_root(const fs::path& out) {
  const fs::path cert = out / kRootDir / ol::kRootCertFile, chain = out / kRootDir / kIssuerChainFile;
  auto cert_pem = read_file_if_exists(cert);
  auto chain_pem = read_file_if_exists(chain);
  if (!cert_pem || !chain_pem) {
    throw Error(ErrorKind::output,
                "no imported root certificate" + std::string(cert_pem ? " chain (" + std::string(kIssuerChainFile) + ")" : "") +
                    ": the plan's root is certified by the corporate CA (root.issuer: external); run meshca root csr, have "
                    "the corporate CA sign " +
                    (out / kRootDir / kRootCsrFile).string() +
                    ", then import the certificate and its chain with meshca root import before meshca ceremony run",
                (cert_pem ? chain : cert).string());
  }
  ExternalRoot r;
  r.root = pki::certificate_from_pem(*cert_pem, cert.string());
  r.issuer_chain = pki::certificates_from_pem(*chain_pem, chain.string());
  if (r.issuer_chain.empty()) throw Error(ErrorKind::output, "holds no certificate", chain.string());
  if (auto crls = read_file_if_exists(out / kRootDir / kIssuerCrlsFile)) r.issuer_crls = std::move(*crls);
  return r;
}

std::vector<pki::X509Ptr> order_issuer_chain(const X509* cert, std::vector<pki::X509Ptr> certs, const std::string& where) {
  std::vector<pki::X509Ptr> ordered;
  const X509* current = cert;
  while (!certs.empty() && !(current != cert && pki::is_self_signed(current))) {
    auto it = std::find_if(certs.begin(), certs.end(), [&](const pki::X509Ptr& c) {
      return X509_NAME_cmp(X509_get_issuer_name(current), X509_get_subject_name(c.get())) == 0 && pki::signed_by(current, c.get());
    });
    if (it == certs.end()) break;
    ordered.push_back(std::move(*it));
    certs.erase(it);
    current = ordered.back().get();
  }
  if (!certs.empty()) {
    std::vector<std::string> stray;
    stray.reserve(certs.size());
    for (const auto& c : certs) stray.push_back(pki::subject_string(c.get()));
    throw Error(ErrorKind::invalid_input,
                "holds certificates that are not on the path from the root certificate to a self-signed anchor: " + comma_joined(stray) +
                    " (give the corporate CAs that issued the root, up to and including the anchor)",
                where);
  }
  return ordered;
}

RootCsrResult create_root_csr(const Plan& plan, const SigningSessionOptions& opt, RootTarget target) {
  auto session = open_root_session(plan, target, opt, "meshca root csr", "make the root key and its CSR");
  const RootPlan& spec = target_root(plan, target);
  const fs::path out = opt.out_dir;
  const fs::path csr_file = out / kRootDir / kRootCsrFile;
  refuse_existing_path(out / kRootDir / ol::kRootCertFile,
                       "the root certificate was imported; a CSR is made only before the import (nothing is overwritten)");
  refuse_existing_path(csr_file, "the root's CSR was made; give it to the corporate CA (nothing is overwritten)");
  const UnixTime now = opt.now ? opt.now : now_utc();
  SessionTranscript transcript(
      out / kTranscriptFile, out, plan, opt, session.approved, now,
      {{"command", "root csr"}, {"root", target_field(target)}, {"root_key", hsm::describe_key_reference(spec.key)}});
  RootCsrResult result;
  result.csr_file = csr_file;
  run_recorded_session(
      [&] {
        auto store = hsm::open_key_store(spec.key, hsm::KeyPresence::create_if_missing, opt.key_context);
        result.key_store = store->description();
        result.key_generated = store->generated();
        transcript.record(
            "root-key",
            {{"store", store->description()}, {"generated", store->generated()}, {"facts", nlohmann::json::parse(store->facts_json())}});
        std::string pem = pki::make_csr_pem(store->signing_key(), spec.subject);
        // The CSR as the corporate CA will read it: proof of possession, the
        // store's key.
        auto read = pki::read_csr(pem, csr_file.string());
        result.spki_sha256 = pki::spki_sha256(store->public_key());
        if (read.spki_sha256 != result.spki_sha256) {
          throw Error(ErrorKind::key_store, "the CSR the key store signed does not carry the root key", csr_file.string());
        }
        ensure_directory(out / kRootDir, kPrivateDirMode);
        write_file_atomic(csr_file, pem, kPublicFileMode);
        transcript.note_written(csr_file);
        transcript.record("root-csr", {{"file", fs::relative(csr_file, out).string()},
                                       {"subject", spec.subject.to_string()},
                                       {"key_spki_sha256", result.spki_sha256},
                                       {"anchor_sha256", spec.anchor_sha256}});
      },
      [&](const std::string& outcome, const std::string& error) { result.transcript_head = transcript.close(outcome, error); });
  return result;
}

RootImportResult import_root(const Plan& plan, const SigningSessionOptions& opt, const fs::path& cert_file, const fs::path& chain_file,
                             const fs::path& crl_file, RootTarget target) {
  auto session = open_root_session(plan, target, opt, "meshca root import", "import the root certificate");
  const RootPlan& spec = target_root(plan, target);
  const fs::path out = opt.out_dir;
  RootImportResult result;
  result.root_file = out / kRootDir / ol::kRootCertFile;
  result.chain_file = out / kRootDir / kIssuerChainFile;
  refuse_existing_path(result.root_file, "a root certificate was imported; meshca never replaces a root (nothing was written)");
  const UnixTime now = opt.now ? opt.now : now_utc();
  if (plan.revocation.crl == crl_file.empty()) {
    throw Error(ErrorKind::usage, plan.revocation.crl ? "--crl: the plan enables CRLs (revocation.crl): give the CRLs of the corporate CAs "
                                                        "above the root, one from each, the anchor's included"
                                                      : "--crl: the plan does not enable CRLs (revocation.crl); leave --crl out");
  }

  // Everything that can be judged from the files and the plan, before the
  // transcript and the key store are opened.
  auto certs = pki::certificates_from_pem(read_file(cert_file), cert_file.string());
  if (certs.size() != 1) {
    throw Error(ErrorKind::invalid_input,
                "holds " + std::to_string(certs.size()) +
                    " certificates; give the root certificate alone (--cert) and the corporate "
                    "CAs above it with --chain",
                cert_file.string());
  }
  pki::X509Ptr root = std::move(certs.front());
  auto chain = order_issuer_chain(root.get(), pki::certificates_from_pem(read_file(chain_file), chain_file.string()), chain_file.string());
  ExternalRootCheck check{.root = root.get(),
                          .issuer_chain = {},
                          .intermediates_at = now,
                          .at = now,
                          .spec = &spec,
                          .field = target_field(target),
                          .least_path_len = 0};
  for (const auto& c : chain) check.issuer_chain.push_back(c.get());
  auto findings = external_root_conformance(check, plan);
  std::string crls;
  if (!crl_file.empty()) {
    crls = read_file(crl_file);
    for (auto& f : issuer_crls_conformance(root.get(), check.issuer_chain, crls, now)) findings.push_back(std::move(f));
  }
  if (!findings.empty()) {
    std::vector<std::string> details;
    for (const auto& f : findings) details.push_back(cert_file.string() + ": " + f.message());
    throw MultiError(ErrorKind::invalid_input,
                     "the certificate is not the plan's " + target_field(target) + " under the corporate CA in " +
                         std::to_string(findings.size()) + " respect(s); nothing was written",
                     details);
  }

  SessionTranscript transcript(
      out / kTranscriptFile, out, plan, opt, session.approved, now,
      {{"command", "root import"}, {"root", target_field(target)}, {"root_key", hsm::describe_key_reference(spec.key)}});
  run_recorded_session(
      [&] {
        auto store = hsm::open_key_store(spec.key, hsm::KeyPresence::must_exist, opt.key_context);
        transcript.record("root-key",
                          {{"store", store->description()}, {"generated", false}, {"facts", nlohmann::json::parse(store->facts_json())}});
        if (!pki::key_matches_certificate(store->public_key(), root.get())) {
          throw Error(ErrorKind::invalid_input,
                      "certifies another key (SPKI SHA-256 " + pki::spki_sha256(X509_get0_pubkey(root.get())) +
                          ") than the plan's root key in " + store->description() + " (SPKI SHA-256 " +
                          pki::spki_sha256(store->public_key()) + "); nothing was written",
                      cert_file.string());
        }
        std::string chain_pem;
        for (const auto& c : chain) chain_pem += pki::certificate_to_pem(c.get());
        ensure_directory(out / kRootDir, kPrivateDirMode);
        // The chain (and CRLs) first: a root certificate without them is
        // never left behind (what is left without the root is replaced by
        // the next import).
        write_file_atomic(result.chain_file, chain_pem, kPublicFileMode, Replace::allowed);
        transcript.note_written(result.chain_file);
        if (!crls.empty()) {
          result.crls_file = out / kRootDir / kIssuerCrlsFile;
          write_file_atomic(result.crls_file, crls, kPublicFileMode, Replace::allowed);
          transcript.note_written(result.crls_file);
        }
        write_file_atomic(result.root_file, pki::certificate_to_pem(root.get()), kPublicFileMode);
        transcript.note_written(result.root_file);
        result.root = record_of(root.get());
        nlohmann::json chain_json = nlohmann::json::array();
        for (const auto& c : chain) {
          result.issuer_chain.push_back(record_of(c.get()));
          chain_json.push_back(to_json(result.issuer_chain.back()));
        }
        transcript.record("root-certificate", {{"action", "imported"},
                                               {"certificate", to_json(result.root)},
                                               {"issuer_chain", chain_json},
                                               {"anchor_sha256", spec.anchor_sha256}});
      },
      [&](const std::string& outcome, const std::string& error) { result.transcript_head = transcript.close(outcome, error); });
  return result;
}

NewRootCrlsResult import_new_root_crls(const Plan& plan, const SigningSessionOptions& opt, const fs::path& crl_file) {
  const RootTarget target = RootTarget::rotation_new_root;
  if (!plan.revocation.crl) {
    throw Error(ErrorKind::usage, "--crl: the plan does not enable CRLs (revocation.crl); the new root's bundles carry none");
  }
  auto session = open_root_session(plan, target, opt, "meshca crl import --new-root", "import the new root's corporate CRLs");
  const fs::path out = opt.out_dir;
  ExternalRoot root = load_external_root(out);
  const UnixTime now = opt.now ? opt.now : now_utc();
  const std::string crls = read_file(crl_file);
  std::vector<std::string> details;
  for (const auto& f : issuer_crls_conformance(root.root.get(), root.chain(), crls, now)) {
    details.push_back(crl_file.string() + ": " + f.message());
  }
  if (!details.empty()) {
    throw MultiError(ErrorKind::invalid_input, "not the corporate CAs' CRLs for the new root, valid now; nothing was written", details);
  }
  NewRootCrlsResult result{out / kRootDir / kIssuerCrlsFile, sha256_hex(crls), {}};
  SessionTranscript transcript(out / kTranscriptFile, out, plan, opt, session.approved, now,
                               {{"command", "crl import"}, {"root", target_field(target)}});
  run_recorded_session(
      [&] {
        // CRLs are public and superseded, not archived: the transcript
        // keeps the SHA-256 of every set imported.
        write_file_atomic(result.crls_file, crls, kPublicFileMode, Replace::allowed);
        transcript.note_written(result.crls_file);
        transcript.record("issuer-crls", {{"file", (fs::path(kRootDir) / kIssuerCrlsFile).string()}, {"sha256", result.sha256}});
      },
      [&](const std::string& outcome, const std::string& error) { result.transcript_head = transcript.close(outcome, error); });
  return result;
}

}  // namespace meshca::ceremony
