#include "ceremony/revocation.hpp"


#include <nlohmann/json.hpp>

#include "ceremony/conformance.hpp"
#include "ceremony/external_root.hpp"
#include "ceremony/output_tree.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "pki/certificate.hpp"
#include "pki/pem_scan.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

constexpr int kLedgerVersion = 1;

bool issued_by(const X509* cert, const X509* ca) {
  return X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) == 0 && pki::signed_by(cert, ca);
}

std::string canonical_serial_text(std::string_view hex) {
  std::string out;
  for (char c : hex) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

// The first CRL block of `pem`, or null.
pki::X509CrlPtr first_crl(std::string_view pem) {
  for (const auto& block : pki::scan_pem(pem).blocks) {
    if (auto crl = pki::crl_from_der(block)) return crl;
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------- ledger

RevocationLedger RevocationLedger::load(const fs::path& out) {
  RevocationLedger ledger;
  const fs::path path = out / kRevocationLedgerFile;
  auto text = read_file_if_exists(path);
  if (!text) return ledger;
  auto damaged = [&](const std::string& why) {
    return Error(ErrorKind::invalid_input, "damaged revocation ledger: " + why, path.string());
  };
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object() || doc.value("version", 0) != kLedgerVersion) throw damaged("not a meshca ledger of version 1");
  try {
    for (const auto& [issuer, number] : doc.at("crl_numbers").items()) ledger.crl_numbers[issuer] = number.get<long>();
    if (doc.contains("pending")) {
      const auto& p = doc.at("pending");
      std::string error;
      auto started = parse_rfc3339(p.at("started").get<std::string>(), error);
      if (!started) throw damaged("pending.started: " + error);
      ledger.pending = PendingCrlSession{p.at("session").get<std::string>(), p.at("target").get<std::string>(), *started};
    }
    for (const auto& e : doc.at("revoked")) {
      LedgerEntry entry{e.at("issuer").get<std::string>(), e.at("issuer_sha256").get<std::string>(),
                        e.at("serial").get<std::string>(), e.value("subject", ""), pki::RevocationReason::unspecified, 0};
      auto reason = pki::parse_revocation_reason(e.at("reason").get<std::string>());
      if (!reason) throw damaged("unknown reason '" + e.at("reason").get<std::string>() + "'");
      entry.reason = *reason;
      std::string error;
      auto when = parse_rfc3339(e.at("revoked_at").get<std::string>(), error);
      if (!when) throw damaged("revoked_at: " + error);
      entry.revoked_at = *when;
      ledger.revoked.push_back(std::move(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    throw damaged(e.what());
  }
  return ledger;
}

void RevocationLedger::save(const fs::path& out) const {
  nlohmann::json doc{{"version", kLedgerVersion}, {"crl_numbers", crl_numbers}, {"revoked", nlohmann::json::array()}};
  if (pending) {
    doc["pending"] = {{"session", pending->session}, {"target", pending->target}, {"started", format_rfc3339(pending->started)}};
  }
  for (const auto& e : revoked) {
    doc["revoked"].push_back({{"issuer", e.issuer},
                              {"issuer_sha256", e.issuer_sha256},
                              {"serial", e.serial},
                              {"subject", e.subject},
                              {"reason", std::string(pki::revocation_reason_name(e.reason))},
                              {"revoked_at", format_rfc3339(e.revoked_at)}});
  }
  write_file_atomic(out / kRevocationLedgerFile, doc.dump(2) + "\n", kPublicFileMode, Replace::allowed);
}

const LedgerEntry* RevocationLedger::find(const std::string& issuer_sha256, const std::string& serial) const {
  for (const auto& e : revoked)
    if (e.issuer_sha256 == issuer_sha256 && pki::same_serial(e.serial, serial)) return &e;
  return nullptr;
}

long RevocationLedger::next_crl_number(const X509* issuer) { return ++crl_numbers[pki::sha256_fingerprint(issuer)]; }

pki::CrlProfile ledger_crl_content(const RevocationLedger& ledger, const X509* issuer, const RevocationPlan& plan, UnixTime now,
                                   long number) {
  pki::CrlProfile profile{.this_update = now, .next_update = add_duration(now, plan.next_update), .revoked = {}};
  const std::string fingerprint = pki::sha256_fingerprint(issuer);
  for (const auto& e : ledger.revoked)
    if (e.issuer_sha256 == fingerprint) profile.entries.push_back({e.serial, e.revoked_at, e.reason});
  profile.number = number;
  return profile;
}

std::string issue_ledger_crl(RevocationLedger& ledger, const X509* issuer, EVP_PKEY* signer, const RevocationPlan& plan, UnixTime now,
                             std::optional<long> reserved) {
  const long number = reserved ? *reserved : ledger.next_crl_number(issuer);
  auto crl = pki::issue_crl(ledger_crl_content(ledger, issuer, plan, now, number), issuer, signer);
  if (!pki::crl_signed_by(crl.get(), issuer)) {
    throw Error(ErrorKind::key_store, "the CRL of " + pki::subject_string(issuer) +
                                          " does not verify with its public key; the key store signed with another key");
  }
  return pki::crl_to_pem(crl.get());
}

void refuse_unfinished_revocation(const fs::path& out) {
  auto ledger = RevocationLedger::load(out);
  if (!ledger.pending) return;
  const auto& p = *ledger.pending;
  throw Error(ErrorKind::output,
              "holds an unfinished " + p.session + " session" + (p.target.empty() ? "" : " (" + p.target + ")") + ", started " +
                  format_rfc3339(p.started) + ": its CRLs may not all be published. Finish it first: meshca revoke PLAN --out " +
                  out.string() + " --resume",
              (out / kRevocationLedgerFile).string());
}

std::optional<std::string> current_root_crl(const fs::path& out, const X509* root, UnixTime now) {
  auto pem = read_file_if_exists(out / kRootDir / kRootCrlFile);
  auto crl = pem ? first_crl(*pem) : nullptr;
  if (!crl || !pki::crl_signed_by(crl.get(), root)) return std::nullopt;
  auto next = pki::crl_next_update(crl.get());
  if (!next || *next <= now) return std::nullopt;
  return pem;
}

// ---------------------------------------------------------------- revoke / refresh

namespace {

constexpr const char* kImportSession = "crl-import";

class Revocation {
 public:
  Revocation(const Plan& plan, const RevocationOptions& options)
      : plan_(plan), opt_(options), out_(options.out_dir), now_(options.now ? options.now : now_utc()) {}

  RevocationResult run() {
    if (!opt_.issuer_crls_file.empty() && plan_.root.issuer != RootIssuer::external) {
      throw Error(ErrorKind::invalid_input,
                  "meshca crl import is for a root under the corporate CA (root.issuer: external); this plan's root signs "
                  "its own CRLs (meshca crl refresh)",
                  plan_.source.string());
    }
    if (!plan_.revocation.crl) {
      throw Error(ErrorKind::invalid_input,
                  "the plan does not enable CRLs; set revocation.crl: true (docs/plan-reference.md) before revoking",
                  plan_.source.string());
    }
    const bool importing = !opt_.issuer_crls_file.empty();
    auto approved = approve_plan(plan_, opt_,
                                 opt_.resume   ? "finish the unfinished revocation session"
                                 : opt_.target ? "revoke the certificate"
                                 : importing   ? "import the corporate CAs' CRLs"
                                               : "reissue every CRL");
    result_.plan_digest = approved.digest;
    lock_ = lock_output_directory(out_, lock_request(opt_, opt_.resume   ? "meshca revoke --resume"
                                                           : opt_.target ? "meshca revoke"
                                                           : importing   ? "meshca crl import"
                                                                         : "meshca crl refresh"));
    refuse_output_tree_problems(plan_, out_);
    clean_staging_area(out_);  // the lock holder removes what a dead run left
    load_output();
    ledger_ = RevocationLedger::load(out_);
    if (opt_.resume) return resume(approved);
    if (ledger_.pending) refuse_unfinished_revocation(out_);
    if (importing) return import_issuer_crls(approved);
    refuse_stale_issuer_crls();
    std::optional<LedgerEntry> entry;
    if (opt_.target) {
      entry = resolve(*opt_.target);
      if (ledger_.find(entry->issuer_sha256, entry->serial)) {
        result_.already_revoked = true;
        result_.revoked = *ledger_.find(entry->issuer_sha256, entry->serial);
        return std::move(result_);
      }
    }
    open_transcript(approved, entry);
    run_recorded_session(
        [&] {
          // Write-ahead: the revocation and the session's intent are durable
          // in the ledger before any CRL that carries them is published.
          if (entry) {
            ledger_.revoked.push_back(*entry);
            result_.revoked = entry;
          }
          ledger_.pending = PendingCrlSession{entry ? "revocation" : "crl-refresh", entry ? describe(*entry) : "", now_};
          ledger_.save(out_);
          reissue_crls(!entry || entry->issuer == "root", entry ? entry->issuer : "");
          finish_session();
        },
        [&](const std::string& outcome, const std::string& error) { close_transcript(outcome, error); });
    return std::move(result_);
  }

  // `revoke --resume`: every CRL reissued from the ledger (which holds the
  // unfinished session's revocation), then the session is cleared.
  RevocationResult resume(const ApprovedPlan& approved) {
    if (!ledger_.pending) {
      throw Error(ErrorKind::usage, "--resume: no unfinished revocation session is recorded; nothing to resume",
                  (out_ / kRevocationLedgerFile).string());
    }
    open_transcript(approved, std::nullopt);
    transcript_->record("resume", {{"session", ledger_.pending->session},
                                   {"target", ledger_.pending->target},
                                   {"started", format_rfc3339(ledger_.pending->started)}});
    // An interrupted import needs no root key: the corporate CRLs on disk
    // (old or new, each consistent) go into every bundle again.
    const bool import_session = ledger_.pending->session == kImportSession;
    run_recorded_session(
        [&] {
          reissue_crls(!import_session, "", true);
          finish_session();
        },
        [&](const std::string& outcome, const std::string& error) { close_transcript(outcome, error); });
    return std::move(result_);
  }

  // `meshca crl import`: the corporate CAs' CRLs checked against the
  // imported root's chain before anything is written, then (write-ahead:
  // the session is recorded in the ledger first) root/issuer-crls.pem and
  // every bundle's ca-crl.pem, each intermediate's CRL reissued with the
  // bundle's key. No root key.
  RevocationResult import_issuer_crls(const ApprovedPlan& approved) {
    std::string crls = read_file(opt_.issuer_crls_file);
    std::vector<std::string> details;
    for (const auto& f : issuer_crls_conformance(root_.get(), issuer_chain(), crls, now_)) {
      details.push_back(opt_.issuer_crls_file.string() + ": " + f.message());
    }
    if (!details.empty()) {
      throw MultiError(ErrorKind::invalid_input, "not the corporate CAs' CRLs for this root, valid now; nothing was written", details);
    }
    open_transcript(approved, std::nullopt);
    run_recorded_session(
        [&] {
          ledger_.pending = PendingCrlSession{kImportSession, "", now_};
          ledger_.save(out_);
          const fs::path path = out_ / kRootDir / kIssuerCrlsFile;
          write_file_atomic(path, crls, kPublicFileMode, Replace::allowed);
          note_written(path);
          external_.issuer_crls = crls;
          result_.issuer_crls_imported = true;
          transcript_->record("issuer-crls", {{"file", (fs::path(kRootDir) / kIssuerCrlsFile).string()}, {"sha256", sha256_hex(crls)}});
          reissue_crls(false, "", true);
          finish_session();
        },
        [&](const std::string& outcome, const std::string& error) { close_transcript(outcome, error); });
    return std::move(result_);
  }

  // Every other session writes the corporate CRLs on disk into bundles:
  // they must be valid now.
  void refuse_stale_issuer_crls() const {
    if (plan_.root.issuer == RootIssuer::external) ceremony::refuse_stale_issuer_crls(external_, out_, now_);
  }

  std::vector<const X509*> issuer_chain() const { return external_.chain(); }

  void finish_session() {
    ledger_.pending.reset();
    ledger_.save(out_);
    manifest_ = ol::write_checksums(out_);
    result_.files_checksummed = manifest_.size();
    note_written(out_ / ol::kChecksumsFile);
  }

  static std::string describe(const LedgerEntry& e) { return "serial " + e.serial + ", issuer " + e.issuer; }

 private:
  struct Bundle {
    const MeshPlan* mesh;
    const ClusterPlan* cluster;
    fs::path dir;
    ol::IstioBundle files;
    std::string id() const { return mesh->name + "/" + cluster->name; }
  };

  ol::LayoutOptions layouts(const Bundle& b) const { return layout_options(*b.mesh, *b.cluster, result_.plan_digest); }

  void load_output() {
    if (plan_.root.issuer == RootIssuer::external) external_ = load_external_root(out_);
    const fs::path root_path = out_ / kRootDir / ol::kRootCertFile;
    auto pem = read_file_if_exists(root_path);
    if (!pem) throw Error(ErrorKind::invalid_input, "does not exist: OUT must be this plan's ceremony output", root_path.string());
    root_ = pki::certificate_from_pem(*pem, root_path.string());
    auto expected = plan_.root.subject.to_x509_name();
    if (X509_NAME_cmp(X509_get_subject_name(root_.get()), expected.get()) != 0) {
      throw Error(ErrorKind::invalid_input, "is not the plan's root (" + plan_.root.subject.to_string() + ")", root_path.string());
    }
    for (const auto& mesh : plan_.meshes) {
      for (const auto& cluster : mesh.clusters) {
        Bundle b{&mesh, &cluster, out_ / mesh.name / cluster.name, {}};
        b.files = ol::read_layout_bundle(b.dir, layouts(b));
        if (!issued_by(b.files.ca_cert.get(), root_.get())) {
          throw Error(ErrorKind::invalid_input, "the intermediate was not issued by OUT's root", b.dir.string());
        }
        bundles_.push_back(std::move(b));
      }
    }
  }

  const Bundle* bundle_named(const std::string& id) const {
    for (const auto& b : bundles_)
      if (b.id() == id) return &b;
    return nullptr;
  }

  LedgerEntry entry_for(const X509* cert, const std::string& issuer, const X509* issuer_cert) const {
    return {issuer, pki::sha256_fingerprint(issuer_cert), pki::serial_hex(cert), pki::subject_string(cert),
            opt_.target->reason, now_};
  }

  LedgerEntry resolve(const RevokeTarget& t) const {
    if (t.cert) return resolve_certificate(t);
    std::string serial = canonical_serial_text(*t.serial);
    if (serial.empty()) throw Error(ErrorKind::usage, "--serial: '" + *t.serial + "' is not a hexadecimal serial number");
    if (pki::same_serial(serial, pki::serial_hex(root_.get()))) refuse_root();
    if (t.issuer.empty() || t.issuer == "root") {
      for (const auto& b : bundles_) {
        if (pki::same_serial(serial, pki::serial_hex(b.files.ca_cert.get()))) return entry_for(b.files.ca_cert.get(), "root", root_.get());
      }
      if (t.issuer.empty()) {
        throw Error(ErrorKind::invalid_input,
                    "no intermediate of this plan has serial " + serial +
                        "; for a workload certificate name its issuer with --issuer MESH/CLUSTER (or --issuer root for "
                        "an intermediate that was renewed away)");
      }
      return {"root", pki::sha256_fingerprint(root_.get()), serial, "", t.reason, now_};
    }
    const Bundle* b = bundle_named(t.issuer);
    if (!b) throw Error(ErrorKind::usage, "--issuer " + t.issuer + ": no such cluster in the plan (write root or mesh/cluster)");
    return {b->id(), pki::sha256_fingerprint(b->files.ca_cert.get()), serial, "", t.reason, now_};
  }

  LedgerEntry resolve_certificate(const RevokeTarget& t) const {
    auto cert = pki::certificate_from_pem(verify::read_input_file(*t.cert), t.cert->string());
    if (X509_cmp(cert.get(), root_.get()) == 0) refuse_root();
    LedgerEntry entry;
    if (issued_by(cert.get(), root_.get())) {
      entry = entry_for(cert.get(), "root", root_.get());
    } else {
      const Bundle* issuer = nullptr;
      for (const auto& b : bundles_)
        if (issued_by(cert.get(), b.files.ca_cert.get())) issuer = &b;
      if (!issuer) {
        throw Error(ErrorKind::invalid_input, "was not issued by this plan's root or by any intermediate in " + out_.string(),
                    t.cert->string());
      }
      entry = entry_for(cert.get(), issuer->id(), issuer->files.ca_cert.get());
    }
    if (!t.issuer.empty() && t.issuer != entry.issuer) {
      throw Error(ErrorKind::usage, "--issuer " + t.issuer + " contradicts the certificate, which " + entry.issuer + " issued");
    }
    return entry;
  }

  [[noreturn]] void refuse_root() const {
    throw Error(ErrorKind::invalid_input, "that is the root certificate: a root is not revoked, it is replaced (meshca rotate phases)");
  }

  // With `root_too` the root CRL is reissued (root key store) and every
  // bundle rewritten; otherwise only `issuer`'s bundle gets a new CRL.
  // `every_bundle`: every bundle gets a new ca-crl.pem without a new root
  // CRL (the corporate CAs' CRLs changed).
  void reissue_crls(bool root_too, const std::string& issuer, bool every_bundle = false) {
    auto selected = [&](const Bundle& b) { return root_too || every_bundle || b.id() == issuer; };
    // Write-ahead: every CRL number this session uses is reserved in the
    // ledger, durably, before the first CRL is published.
    std::map<const X509*, long> reserved;
    if (root_too) reserved[root_.get()] = ledger_.next_crl_number(root_.get());
    for (const auto& b : bundles_) {
      if (selected(b)) reserved[b.files.ca_cert.get()] = ledger_.next_crl_number(b.files.ca_cert.get());
    }
    ledger_.save(out_);
    std::string root_crl;
    if (root_too) {
      auto store = hsm::open_key_store(plan_.root.key, hsm::KeyPresence::must_exist, opt_.key_context);
      if (!pki::key_matches_certificate(store->public_key(), root_.get())) {
        throw Error(ErrorKind::key_store, "the plan's root key is not the key of OUT/root/root-cert.pem");
      }
      root_crl = issue_ledger_crl(ledger_, root_.get(), store->signing_key(), plan_.revocation, now_, reserved.at(root_.get()));
      const fs::path path = out_ / kRootDir / kRootCrlFile;
      write_file_atomic(path, root_crl, kPublicFileMode, Replace::allowed);
      note_written(path);
      result_.root_crl_issued = true;
      record_crl("root", reserved.at(root_.get()));
    } else {
      root_crl = current_root_crl();
    }
    // A root under the corporate CA: the corporate CAs' CRLs follow the root's.
    root_crl += external_.issuer_crls;
    for (const auto& b : bundles_) {
      if (!selected(b)) continue;
      rewrite_bundle(b, root_crl, reserved.at(b.files.ca_cert.get()));
    }
  }

  std::string current_root_crl() const {
    if (auto pem = ceremony::current_root_crl(out_, root_.get(), now_)) return *pem;
    throw Error(ErrorKind::invalid_input, "is missing, stale or not signed by the root; run `meshca crl refresh` first",
                (out_ / kRootDir / kRootCrlFile).string());
  }

  // The bundle with a new ca-crl.pem (its own CRL, then the root's), staged
  // whole and swapped in: there is never a moment without a complete bundle.
  void rewrite_bundle(const Bundle& b, const std::string& root_crl, long number) {
    std::vector<const X509*> chain;
    for (std::size_t i = 1; i < b.files.cert_chain.size(); ++i) chain.push_back(b.files.cert_chain[i].get());
    std::vector<const X509*> roots;
    for (const auto& r : b.files.roots) roots.push_back(r.get());
    auto files = ol::make_istio_bundle(b.files.ca_cert.get(), b.files.ca_key.get(), chain, roots);
    if (b.cluster->intermediate.pinned_key) {
      // The cluster keeps the key: the public bundle carries the CRL's
      // content, which `bundle assemble` signs near the cluster.
      files.ca_crl = root_crl;
      files.intermediate_crl = ledger_crl_content(ledger_, b.files.ca_cert.get(), plan_.revocation, now_, number);
      record_crl(b.id(), number, true);
    } else {
      files.ca_crl = issue_ledger_crl(ledger_, b.files.ca_cert.get(), b.files.ca_key.get(), plan_.revocation, now_, number) + root_crl;
      record_crl(b.id(), number);
    }

    // The bundle's files are the same but for ca-crl.pem (and the manifests
    // that carry it); the superseded CRL is reproducible from the ledger.
    StagingDirectory staging(out_);
    auto digests = ol::write_layouts(staging.path(), files, layouts(b));
    sync_filesystem(staging.path());
    staging.exchange_synced(b.dir);
    fsync_directory(b.dir.parent_path());
    for (const auto& [file, digest] : digests) transcript_->note_digest(b.id() + "/" + file, digest);
    ++result_.bundles_rewritten;
  }

  void open_transcript(const ApprovedPlan& approved, const std::optional<LedgerEntry>& entry) {
    transcript_ = std::make_unique<SessionTranscript>(out_ / kTranscriptFile, out_, plan_, opt_, approved, now_,
                                                      nlohmann::json{{"session", entry                            ? "revocation"
                                                                                 : !opt_.issuer_crls_file.empty() ? kImportSession
                                                                                                                  : "crl-refresh"},
                                                                     {"root_key", hsm::describe_key_reference(plan_.root.key)}});
    if (entry) {
      transcript_->record("revoke", {{"issuer", entry->issuer},
                                     {"issuer_sha256", entry->issuer_sha256},
                                     {"serial", entry->serial},
                                     {"subject", entry->subject},
                                     {"reason", std::string(pki::revocation_reason_name(entry->reason))},
                                     {"revoked_at", format_rfc3339(entry->revoked_at)}});
    }
  }

  // `to_assemble`: the content went into a public-only bundle, for the
  // cluster's key to sign (meshca bundle assemble).
  void record_crl(const std::string& issuer, long number, bool to_assemble = false) {
    nlohmann::json details{{"issuer", issuer},
                           {"number", number},
                           {"this_update", format_rfc3339(now_)},
                           {"next_update", format_rfc3339(add_duration(now_, plan_.revocation.next_update))}};
    if (to_assemble) details["signed_by"] = "the cluster's key, at bundle assemble";
    transcript_->record("crl", std::move(details), Sync::deferred);
  }

  void note_written(const fs::path& path) { transcript_->note_written(path); }

  void close_transcript(const std::string& outcome, const std::string& error) {
    if (!transcript_) return;
    result_.transcript_head = transcript_->close(outcome, error, {{"bundles_rewritten", result_.bundles_rewritten}},
                                                 outcome == "completed" ? &manifest_ : nullptr);
  }

  const Plan& plan_;
  const RevocationOptions& opt_;
  fs::path out_;
  UnixTime now_;
  pki::X509Ptr root_;
  ExternalRoot external_;  // root.issuer: external: the corporate chain and its CRLs
  std::vector<Bundle> bundles_;
  RevocationLedger ledger_;
  std::unique_ptr<SessionTranscript> transcript_;
  RevocationResult result_;
  OutputLock lock_;
  ol::FileDigests manifest_;
};

}  // namespace

RevocationResult run_revocation(const Plan& plan, const RevocationOptions& options) {
  return Revocation(plan, options).run();
}

}  // namespace meshca::ceremony
