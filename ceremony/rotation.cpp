#include "ceremony/rotation.hpp"

#include <algorithm>
#include <array>
#include <mutex>

#include "ceremony/conformance.hpp"
#include "ceremony/external_root.hpp"
#include "ceremony/revocation.hpp"
#include "ceremony/rotation_checks.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/parallel.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/csr.hpp"
#include "pki/pem_scan.hpp"
#include "plan/profiles.hpp"
#include "verify/bundle_check.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

// The CRLs of `pem` that `issuers` signed, one per issuer in that order:
// what a phase's ca-crl.pem carries above the new root
// (PhaseMaterial::crl_issuers, which the audit expects). Error(internal)
// for an issuer without one: each was required, and refused when missing
// or stale, before.
std::string crls_signed_by(const std::string& pem, const std::vector<const X509*>& issuers) {
  std::vector<pki::X509CrlPtr> crls;
  for (const auto& block : pki::scan_pem(pem).blocks) {
    if (auto crl = pki::crl_from_der(block)) crls.push_back(std::move(crl));
  }
  std::string out;
  for (const X509* ca : issuers) {
    auto it = std::find_if(crls.begin(), crls.end(), [&](const pki::X509CrlPtr& c) { return pki::crl_signed_by(c.get(), ca); });
    if (it == crls.end()) throw Error(ErrorKind::internal, "no CRL of " + pki::subject_string(ca) + " to carry in the rotation's phases");
    out += pki::crl_to_pem(it->get());
  }
  return out;
}

class Rotation {
 public:
  Rotation(const Plan& plan, const RotationOptions& options)
      : plan_(plan), opt_(options), out_(options.out_dir), now_(options.now ? options.now : now_utc()) {}
  ~Rotation() {
    // The staging area beside OUT goes too when nothing else is in it.
    transcript_.reset();
    staging_.reset();
    std::error_code ignored;
    if (!out_.empty()) fs::remove(fs::absolute(out_, ignored).parent_path() / kStagingDirName, ignored);
  }
  Rotation(const Rotation&) = delete;
  Rotation& operator=(const Rotation&) = delete;

  RotationResult run() {
    if (!plan_.rotation) {
      throw Error(ErrorKind::invalid_input, "the plan has no rotation section (see `meshca plan init --template rotation`)",
                  plan_.source.string());
    }
    const RotationPlan& rotation = *plan_.rotation;
    if (!rotation.current_ca) {
      current_ = rotation.current_output.is_relative() ? plan_.base_dir / rotation.current_output : rotation.current_output;
    }
    auto approved = approve_plan(plan_, opt_, "start the root rotation");
    result_.plan_digest = approved.digest;
    prepare_output_directory();
    survey_current_output();
    record_opening(approved);
    open_new_root_key();
    if (plan_.rotation->new_root.issuer == RootIssuer::external) {
      take_imported_new_root();
    } else {
      issue_new_root();
    }
    if (rotation.cross_sign) cross_sign_new_root();
    prepare_crls();
    rotate_clusters();
    write_root_and_runbook();
    close_and_publish();
    return std::move(result_);
  }

 private:
  void emit(CeremonyEvent::Kind kind, const std::string& message) {
    std::lock_guard lock(record_mutex_);
    if (opt_.on_event) opt_.on_event({kind, message, done_, clusters_.size()});
  }

  PhaseTrust phase_trust() const {
    return {.cross_signed = cross_ != nullptr,
            .shared_anchor = X509_cmp(old_.anchor(), new_.anchor()) == 0};  // as rotation_phase_material() decides it
  }

  static std::string pem_of(const std::vector<const X509*>& certs) {
    std::string pem;
    for (const X509* c : certs) pem += pki::certificate_to_pem(c);
    return pem;
  }

  // Phase 0: the cluster's current bundle; 1 to 3: its bundle in that phase.
  ol::LayoutOptions layout_options(const RotationCluster& c, int phase) const {
    return ceremony::layout_options(*c.mesh, *c.cluster, result_.plan_digest, phase);
  }

  // OUT appears whole or not at all: it is assembled in a staging directory
  // beside it and renamed into place at the end.
  void prepare_output_directory() {
    emit(CeremonyEvent::Kind::step, "preparing output directory " + out_.string());
    const fs::file_status status = symlink_status_of(out_, ErrorKind::output);
    if (fs::exists(status)) {
      std::error_code ec;
      const bool empty = fs::is_directory(status) && fs::is_empty(out_, ec);
      if (ec) throw_path_error(ErrorKind::output, "cannot read the directory", out_, ec);
      if (!empty) {
        throw Error(ErrorKind::output, "exists and is not an empty directory; a rotation is written into a new directory", out_.string());
      }
      fs::remove(out_, ec);
      if (ec) throw_path_error(ErrorKind::output, "cannot remove the empty directory", out_, ec);
    }
    fs::path parent = absolute_path(out_, ErrorKind::output).parent_path();
    ensure_directory(parent, kPrivateDirMode);
    refuse_root_key_inside(plan_.rotation->new_root.key, plan_.base_dir, out_);
    // One writer: the staging area beside OUT belongs to whoever holds the
    // parent directory; the current output is read under a shared lock, so
    // no revocation or renewal changes it while the rotation reads it.
    const bool external_new_root = plan_.rotation->new_root.issuer == RootIssuer::external;
    if (external_new_root == opt_.new_root_dir.empty()) {
      throw Error(ErrorKind::invalid_input,
                  external_new_root ? "rotation.new_root is certified by the corporate CA (issuer: external): give the directory "
                                      "where meshca root csr --new-root and meshca root import --new-root prepared it "
                                      "(--new-root-dir)"
                                    : "--new-root-dir is only for a rotation.new_root with issuer: external; this plan's new "
                                      "root is self-signed and issued by this run",
                  plan_.source.string());
    }
    lock_ = OutputLock::exclusive(parent, lock_request(opt_, "meshca rotate phases"));
    if (!adopted()) current_lock_ = OutputLock::shared(current_ / kOutputLockFile, lock_request(opt_, "meshca rotate phases"));
    if (external_new_root) {
      new_root_lock_ = OutputLock::shared(opt_.new_root_dir / kOutputLockFile, lock_request(opt_, "meshca rotate phases"));
    }
    clean_staging_area(parent);
    staging_ = std::make_unique<StagingDirectory>(parent);
  }

  bool adopted() const { return plan_.rotation->current_ca.has_value(); }

  // The current output, or the adopted CA, before a key store is opened
  // (rotation_checks).
  void survey_current_output() {
    CurrentOutput current =
        adopted() ? survey_adopted_ca(plan_, now_) : ceremony::survey_current_output(plan_, current_, now_, result_.plan_digest);
    old_ = std::move(current.root);
    adopted_ = std::move(current.adopted);
    clusters_ = std::move(current.clusters);
    result_.old_root = record_of(old_.root.get());
  }

  void record_opening(const ApprovedPlan& approved) {
    const RotationPlan& r = *plan_.rotation;
    nlohmann::json opening{{"session", "rotation"},
                           {"old_root", to_json(result_.old_root)},
                           {"new_root_key", hsm::describe_key_reference(r.new_root.key)},
                           {"cross_sign", r.cross_sign},
                           {"clusters", clusters_.size()}};
    if (adopted_) {
      // What was adopted, and that its key stayed where it is.
      opening["current_ca"] = {{"kind", adopted_ca_kind_name(r.current_ca->kind)},
                               {"path", adopted_ca_path(*r.current_ca, plan_.base_dir).string()},
                               {"sha256", r.current_ca->sha256},
                               {"signing", to_json(record_of(adopted_->signing.get()))},
                               {"key", "never in the room; phase 1 is public-only, completed near the cluster"}};
    } else {
      opening["current_output"] = current_.string();
    }
    transcript_ = std::make_unique<SessionTranscript>(staging_->path() / kTranscriptFile, staging_->path(), plan_, opt_, approved, now_,
                                                      std::move(opening));
  }

  void open_new_root_key() {
    emit(CeremonyEvent::Kind::step, "opening the new root key");
    // A new root under the corporate CA was certified for a key `meshca root
    // csr --new-root` made: it must be there.
    const bool imported = plan_.rotation->new_root.issuer == RootIssuer::external;
    new_key_ = hsm::open_key_store(plan_.rotation->new_root.key,
                                   imported ? hsm::KeyPresence::must_exist : hsm::KeyPresence::create_if_missing, opt_.key_context);
    result_.new_root_key_store = new_key_->description();
    result_.new_root_key_generated = new_key_->generated();
    if (pki::key_matches_certificate(new_key_->public_key(), old_.root.get())) {
      throw Error(ErrorKind::invalid_input, "rotation.new_root.key holds the current root's key; a rotation needs a new key",
                  plan_.source.string());
    }
    transcript_->record("new-root-key", {{"store", new_key_->description()},
                                         {"generated", new_key_->generated()},
                                         {"facts", nlohmann::json::parse(new_key_->facts_json())}});
    emit(CeremonyEvent::Kind::root_key,
         std::string(new_key_->generated() ? "generated " : "loaded ") + new_key_->description());
  }

  // The new root the corporate CA certified, as `meshca root import
  // --new-root` checked it, checked again at the rotation time: the plan's
  // subject and key algorithm, pathLen room, the strict chain to the pinned
  // anchor, every new intermediate inside its validity, and the key store's
  // key.
  void take_imported_new_root() {
    const RootPlan& spec = plan_.rotation->new_root;
    new_ = load_external_root(opt_.new_root_dir);
    const fs::path cert_file = opt_.new_root_dir / kRootDir / ol::kRootCertFile;
    ExternalRootCheck check{.root = new_.root.get(),
                            .issuer_chain = new_.chain(),
                            .intermediates_at = now_,
                            .at = now_,
                            .spec = &spec,
                            .field = "rotation.new_root",
                            .least_path_len = 0};
    std::vector<std::string> details;
    for (const auto& f : external_root_conformance(check, plan_)) details.push_back(cert_file.string() + ": " + f.message());
    if (!details.empty()) {
      throw MultiError(ErrorKind::invalid_input, "the imported new root is not the plan's rotation.new_root under the corporate CA",
                       details);
    }
    if (!pki::key_matches_certificate(new_key_->public_key(), new_.root.get())) {
      throw Error(ErrorKind::invalid_input,
                  "certifies another key than rotation.new_root.key in " + new_key_->description() + "; nothing was written",
                  cert_file.string());
    }
    result_.new_root = record_of(new_.root.get());
    nlohmann::json chain = nlohmann::json::array();
    for (const X509* c : new_.chain()) chain.push_back(to_json(record_of(c)));
    transcript_->record("new-root-certificate", {{"action", "imported"},
                                                 {"certificate", to_json(result_.new_root)},
                                                 {"issuer_chain", chain},
                                                 {"anchor_sha256", spec.anchor_sha256}});
    emit(CeremonyEvent::Kind::root_certificate,
         "took the new root " + result_.new_root.subject + " certified by " + pki::subject_string(new_.chain().front()));
  }

  void issue_new_root() {
    const RootPlan& spec = plan_.rotation->new_root;
    new_.root = pki::issue_certificate(root_profile(spec, now_), new_key_->public_key(), nullptr, new_key_->signing_key());
    const X509* new_root = new_.root.get();
    auto warnings = verify_before_writing({.cert = new_root,
                                           .subject_key = new_key_->public_key(),
                                           .issuer = new_root,
                                           .anchor = new_root,
                                           .anchor_signature = pki::AnchorSignature::check,
                                           .role = pki::CaRole::root,
                                           .what = "new root certificate",
                                           .lint_warnings = spec.lint_warnings});
    // The same check the audit applies to it afterwards: a finding here is a
    // bug, never a certificate on disk.
    if (auto findings = root_conformance(new_root, spec, plan_.profile, "rotation.new_root"); !findings.empty()) {
      throw Error(ErrorKind::internal, "the new root certificate does not conform to the plan: " + findings.front().message());
    }
    result_.new_root = record_of(new_root);
    transcript_->record("new-root-certificate",
                        {{"certificate", to_json(result_.new_root)}, {"profile", profile_json(plan_.profile, warnings)}});
    emit(CeremonyEvent::Kind::root_certificate,
         "issued new root certificate " + result_.new_root.subject + " (serial " + result_.new_root.serial + ")");
  }

  // The new root's name and key, certified by the old root: a peer that
  // trusts only the old root can build new-intermediate -> cross -> old.
  void cross_sign_new_root() {
    emit(CeremonyEvent::Kind::step, "opening the current root key to cross-sign the new root");
    // Opened through the same context as the new root's store: when both
    // roots live behind one PKCS#11 module, both stores hold that one
    // Pkcs11Module (loaded once for the run, finalized after both close).
    old_key_ = hsm::open_key_store(plan_.root.key, hsm::KeyPresence::must_exist, opt_.key_context);
    hsm::KeyStore* old_key = old_key_.get();
    if (!pki::key_matches_certificate(old_key->public_key(), old_.root.get())) {
      throw Error(ErrorKind::key_store, "the plan's root key is not the key of the current root certificate; cannot cross-sign",
                  (current_ / kRootDir / ol::kRootCertFile).string());
    }
    auto profile = root_profile(plan_.rotation->new_root, now_);
    // The corporate CA may identify the new root's key otherwise than
    // meshca: the new intermediates' authorityKeyIdentifier must match the
    // cross certificate too.
    profile.subject_key_id = pki::subject_key_id(new_.root.get());
    // Nothing the old root certifies may outlive it, nor any corporate CA above it.
    for (const X509* ca : old_.chain_from_root()) {
      profile.not_before = std::max(profile.not_before, pki::not_before(ca));
      profile.not_after = std::min(profile.not_after, pki::not_after(ca));
    }
    cross_ = pki::issue_certificate(profile, new_key_->public_key(), old_.root.get(), old_key->signing_key());
    auto warnings = verify_before_writing({.cert = cross_.get(),
                                           .subject_key = new_key_->public_key(),
                                           .issuer = old_.root.get(),
                                           .anchor = old_.anchor(),
                                           .untrusted = old_.untrusted(),
                                           .role = pki::CaRole::intermediate,
                                           .certifies_cas = true,
                                           .what = "cross-signed new root",
                                           .lint_warnings = plan_.rotation->new_root.lint_warnings});
    result_.cross_signed = record_of(cross_.get());
    transcript_->record("cross-signed-root", {{"certificate", to_json(*result_.cross_signed)},
                                              {"issuer_key", old_key->description()},
                                              {"profile", profile_json(plan_.profile, warnings)}});
    emit(CeremonyEvent::Kind::root_certificate, "cross-signed the new root with the current root (serial " +
                                                    result_.cross_signed->serial + ")");
  }

  // With revocation.crl the new PKI starts its own ledger: the new root's
  // CRL and each new intermediate's (no entries yet). Above the new root,
  // each phase carries the CRLs of the CAs its chain runs through
  // (PhaseMaterial::crl_issuers, the list the audit expects), picked by
  // signer from the CRLs at hand: the new root's corporate CAs' (imported
  // into --new-root-dir); in phase 2 with a cross-signed root the current
  // root's CRL and its corporate CAs' instead. Corporate CRLs must be valid
  // now, as for every writer of bundles.
  void prepare_crls() {
    if (!plan_.revocation.crl) return;
    if (!new_.issuer_chain.empty()) refuse_stale_issuer_crls(new_, opt_.new_root_dir, now_, RootTarget::rotation_new_root);
    if (cross_ && !old_.issuer_chain.empty()) refuse_stale_issuer_crls(old_, current_, now_);
    ledger_.emplace();
    new_root_crl_ = issue_ledger_crl(*ledger_, new_.root.get(), new_key_->signing_key(), plan_.revocation, now_);
    if (cross_) {
      auto current = current_root_crl(current_, old_.root.get(), now_);
      if (!current) {
        throw Error(ErrorKind::invalid_input,
                    "is missing or stale, and phase 2's chain runs through the current root; run `meshca crl refresh` "
                    "on the current output first",
                    (current_ / kRootDir / kRootCrlFile).string());
      }
      old_root_crl_ = *current;
    }
    const auto material = rotation_phase_material(old_, new_, cross_.get());
    const std::string known = old_root_crl_ + old_.issuer_crls + new_.issuer_crls;
    for (int phase : {2, 3}) crls_above_new_root_[phase - 2] = crls_signed_by(known, material[phase - 1].crl_issuers);
    transcript_->record("crl", {{"issuer", "new root"},
                                {"number", 1},
                                {"next_update", format_rfc3339(add_duration(now_, plan_.revocation.next_update))}});
  }

  // ca-crl.pem of a new intermediate (phases 2 and 3) up to the new root,
  // "" without CRLs.
  std::string new_intermediate_crl(const X509* cert, EVP_PKEY* key) {
    if (!ledger_) return {};
    // Plan validation refuses pinned keys with revocation.crl: the room
    // cannot sign a pinned intermediate's CRL.
    if (key == nullptr) throw Error(ErrorKind::internal, "an intermediate CRL needs the intermediate's key");
    std::lock_guard lock(ledger_mutex_);
    return issue_ledger_crl(*ledger_, cert, key, plan_.revocation, now_) + new_root_crl_;
  }

  // Cluster 0 first: its bundles are the reference every other cluster's
  // phases are checked against.
  void rotate_clusters() {
    result_.clusters.resize(clusters_.size());
    const PhaseTrust trust = phase_trust();
    reference_ = rotate_cluster(0, new_key_->signing_key(), nullptr);
    check_phase_interop(clusters_[0], clusters_[0], reference_, reference_, trust);
    parallel_for(clusters_.size() - 1, opt_.jobs, [&]() -> ItemWork {
      std::shared_ptr<EVP_PKEY> own_signer = new_key_->worker_signing_key();
      return [this, own_signer, trust](std::size_t n) {
        auto reports = rotate_cluster(n + 1, own_signer.get(), own_signer ? nullptr : &sign_mutex_);
        check_phase_interop(clusters_[0], clusters_[n + 1], reference_, reports, trust);
      };
    });
    sync_filesystem(staging_->path());
    transcript_->record("verified", interop_json());
  }

  // Phase 1 of a meshca output: the cluster's current bundle, its key too.
  // Its phase-0 report is the verify engine's verdict on it.
  CertificateRecord write_current_phase(const RotationCluster& c, const PhaseMaterial& material, verify::BundleReport& phase0) {
    fs::path current_dir = current_ / c.mesh->name / c.cluster->name;
    ol::IstioBundle current = ol::read_layout_bundle(current_dir, layout_options(c, 0));
    std::vector<const X509*> current_chain;
    for (std::size_t i = 1; i < current.cert_chain.size(); ++i) current_chain.push_back(current.cert_chain[i].get());
    if (!pki::verify_chain(current.ca_cert.get(), current_chain, {old_.anchor()}, now_).ok) {
      throw Error(ErrorKind::invalid_input, "the intermediate does not verify under the current root", current_dir.string());
    }
    write_phase(1, c, current.ca_cert.get(), current.ca_key.get(), current_chain, material.trusted, current.ca_crl, layout_options(c, 1));
    phase0 = verified_report(c, current_dir, 0);
    return record_of(current.ca_cert.get());
  }

  // Phase 1 of an adopted CA: its signing certificate and chain, both roots
  // trusted, public-only (the key stays in the cluster, which completes the
  // bundle with `meshca bundle assemble`). Phase 0 is the CA as it runs.
  CertificateRecord write_adopted_phase(const RotationCluster& c, const PhaseMaterial& material, verify::BundleReport& phase0) {
    ol::LayoutOptions options = layout_options(c, 1);
    options.key_custody = ol::KeyCustody::cluster;
    options.key_spki_sha256 = pki::spki_sha256(X509_get0_pubkey(adopted_->signing.get()));
    write_phase(1, c, adopted_->signing.get(), nullptr, adopted_->chain_view(), material.trusted, "", options);
    phase0 = adopted_phase_report(*adopted_, now_);
    return record_of(adopted_->signing.get());
  }

  PhaseReports rotate_cluster(std::size_t index, EVP_PKEY* signer, std::mutex* shared_signer) {
    const RotationCluster& c = clusters_[index];

    // A pinned cluster keeps its key: every phase is a public-only bundle,
    // assembled near the cluster, and the new intermediate certifies the
    // same pinned key (a new key is pinned afterwards, by a renewal).
    const auto& pinned = c.cluster->intermediate.pinned_key;
    auto key = pinned ? pki::public_key_from_der(pinned->public_key_der, c.name() + " pinned key")
                      : pki::generate_key(c.cluster->intermediate.algorithm);
    const EVP_PKEY* bundle_key = pinned ? nullptr : key.get();
    pki::X509Ptr cert = sign_intermediate(c, key.get(), signer ? signer : new_key_->signing_key(), shared_signer);
    const auto material = rotation_phase_material(old_, new_, cross_.get());
    const std::string crl = new_intermediate_crl(cert.get(), pinned ? nullptr : key.get());
    PhaseReports reports;
    const CertificateRecord current =
        adopted_ ? write_adopted_phase(c, material[0], reports[0]) : write_current_phase(c, material[0], reports[0]);
    for (int phase : {2, 3}) {
      write_phase(phase, c, cert.get(), bundle_key, material[phase - 1].chain, material[phase - 1].trusted,
                  crl.empty() ? crl : crl + crls_above_new_root_[phase - 2], layout_options(c, phase));
    }

    for (int phase = 1; phase < kPhaseCount; ++phase) {
      reports[phase] = verified_report(c, staging_->path() / rotation_phase_dir(phase) / c.mesh->name / c.cluster->name, phase);
    }
    record_cluster(index, current, record_of(cert.get()));
    return reports;
  }

  pki::X509Ptr sign_intermediate(const RotationCluster& c, const EVP_PKEY* key, EVP_PKEY* signer, std::mutex* shared_signer) {
    auto profile = intermediate_profile(*c.mesh, *c.cluster, now_);
    pki::X509Ptr cert;
    if (shared_signer) {
      std::lock_guard lock(*shared_signer);
      cert = pki::issue_certificate(profile, key, new_.root.get(), signer);
    } else {
      cert = pki::issue_certificate(profile, key, new_.root.get(), signer);
    }
    verify_before_writing({.cert = cert.get(),
                           .subject_key = key,
                           .issuer = new_.root.get(),
                           .anchor = new_.anchor(),
                           .untrusted = new_.untrusted(),
                           .what = "new intermediate for " + c.name(),
                           .lint_warnings = c.cluster->intermediate.lint_warnings});
    return cert;
  }

  void write_phase(int phase, const RotationCluster& c, const X509* cert, const EVP_PKEY* key, const std::vector<const X509*>& chain,
                   const std::vector<const X509*>& roots, const std::string& crl, const ol::LayoutOptions& options) {
    fs::path relative = fs::path(rotation_phase_dir(phase)) / c.mesh->name / c.cluster->name;
    fs::path dir = staging_->path() / relative;
    ensure_directory(dir, kPrivateDirMode);
    auto files = ol::make_istio_bundle(cert, key, chain, roots);
    files.ca_crl = crl;
    auto digests = ol::write_layouts(dir, files, options);
    std::lock_guard lock(record_mutex_);
    for (const auto& [file, digest] : digests) transcript_->note_digest((relative / file).string(), digest);
  }

  // The verify engine's verdict on one bundle; a FAIL is never published.
  verify::BundleReport verified_report(const RotationCluster& c, const fs::path& dir, int phase) {
    verify::BundleReport report = verified_phase_report(c, dir, phase, now_);
    std::lock_guard lock(record_mutex_);
    ++result_.bundles_verified;
    return report;
  }

  nlohmann::json interop_json() {
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& pair : checked_phase_pairs(phase_trust())) {
      result_.interop.push_back(pair);
      pairs.push_back({{"phases", {pair.a, pair.b}}, {"mutual_trust", pair.expected}});
    }
    return {{"bundles", result_.bundles_verified}, {"clusters", clusters_.size()}, {"interop", pairs}};
  }

  void record_cluster(std::size_t index, CertificateRecord current, CertificateRecord issued) {
    const RotationCluster& c = clusters_[index];
    std::lock_guard lock(record_mutex_);
    result_.clusters[index] = {c.mesh->name, c.cluster->name, current, issued};
    nlohmann::json details{{"mesh", c.mesh->name},        {"cluster", c.cluster->name},     {"action", "rotated"},
                           {"current", to_json(current)}, {"certificate", to_json(issued)}, {"profile", profile_json(c.mesh->profile, {})}};
    add_key_facts(details, c.cluster->intermediate);
    transcript_->record("intermediate", std::move(details), Sync::deferred);
    ++done_;
    if (opt_.on_event) {
      opt_.on_event({CeremonyEvent::Kind::cluster_issued,
                     c.name() + ": phases written, new intermediate " + issued.subject + " (serial " + issued.serial + ")",
                     done_, clusters_.size()});
    }
  }

  void write_staged(const fs::path& relative, std::string_view text) {
    fs::path path = staging_->path() / relative;
    ensure_directory(path.parent_path(), kPrivateDirMode);
    write_new_file_durable(path, text, kPublicFileMode);
    transcript_->note_digest(relative.string(), sha256_hex(text));
  }

  void write_root_and_runbook() {
    write_staged(fs::path(kRootDir) / ol::kRootCertFile, pki::certificate_to_pem(new_.root.get()));
    write_staged(fs::path(kRootDir) / kPreviousRootFile, pki::certificate_to_pem(old_.root.get()));
    if (!new_.issuer_chain.empty()) write_staged(fs::path(kRootDir) / kIssuerChainFile, pem_of(new_.chain()));
    if (!old_.issuer_chain.empty()) write_staged(fs::path(kRootDir) / kPreviousIssuerChainFile, pem_of(old_.chain()));
    if (cross_) write_staged(fs::path(kRootDir) / kCrossSignedFile, pki::certificate_to_pem(cross_.get()));
    // Phase 3 is the new PKI as a ceremony output: a plan whose root is the
    // new root adopts it with `meshca ceremony run NEXT.yaml --out phase-3`.
    const fs::path phase3 = rotation_phase_dir(kRotationPhases);
    write_staged(phase3 / kRootDir / ol::kRootCertFile, pki::certificate_to_pem(new_.root.get()));
    if (!new_.issuer_chain.empty()) write_staged(phase3 / kRootDir / kIssuerChainFile, pem_of(new_.chain()));
    if (ledger_) {
      write_staged(fs::path(kRootDir) / kRootCrlFile, new_root_crl_);
      write_staged(phase3 / kRootDir / kRootCrlFile, new_root_crl_);
      // The corporate CRLs the phases carry, where the audit (and, for
      // phase 3, the successor plan's ceremony) reads them.
      if (!new_.issuer_crls.empty()) {
        write_staged(fs::path(kRootDir) / kIssuerCrlsFile, new_.issuer_crls);
        write_staged(phase3 / kRootDir / kIssuerCrlsFile, new_.issuer_crls);
      }
      if (!old_.issuer_crls.empty()) write_staged(fs::path(kRootDir) / kPreviousIssuerCrlsFile, old_.issuer_crls);
      ledger_->save(staging_->path() / phase3);
      transcript_->note_written(staging_->path() / phase3 / kRevocationLedgerFile);
    }
    write_staged(kRotationRunbookFile, rotation_runbook_markdown(plan_));
    write_staged(kPlanCopy, plan_.text);
  }

  void close_and_publish() {
    const auto manifest = ol::write_checksums(staging_->path());
    result_.files_checksummed = manifest.size();
    transcript_->note_written(staging_->path() / ol::kChecksumsFile);
    result_.transcript_head = transcript_->close("completed", "", {{"rotated", clusters_.size()}}, &manifest);
    transcript_.reset();
    staging_->publish(out_);
    emit(CeremonyEvent::Kind::step, "published " + out_.string());
  }

  const Plan& plan_;
  const RotationOptions& opt_;
  fs::path out_;
  fs::path current_;
  UnixTime now_;
  OutputLock lock_;
  OutputLock current_lock_;
  std::unique_ptr<StagingDirectory> staging_;
  std::unique_ptr<SessionTranscript> transcript_;
  std::unique_ptr<hsm::KeyStore> new_key_;
  std::unique_ptr<hsm::KeyStore> old_key_;  // only to cross-sign
  OutputLock new_root_lock_;                // --new-root-dir, read under a shared lock
  ExternalRoot old_;                        // the current root (and its corporate chain)
  std::optional<AdoptedCa> adopted_;        // rotation.current_ca
  ExternalRoot new_;                        // the new root (and its corporate chain)
  pki::X509Ptr cross_;
  std::optional<RevocationLedger> ledger_;  // with revocation.crl: the new PKI's
  std::string new_root_crl_;
  std::string old_root_crl_;  // phase 2 with a cross-signed root
  // ca-crl.pem of phases 2 and 3 after the new intermediate's and the new
  // root's CRLs.
  std::array<std::string, 2> crls_above_new_root_;
  std::mutex ledger_mutex_;
  std::vector<RotationCluster> clusters_;
  PhaseReports reference_;
  std::mutex record_mutex_;
  std::mutex sign_mutex_;
  std::size_t done_ = 0;
  RotationResult result_;
};

}  // namespace

std::array<PhaseMaterial, kRotationPhases> rotation_phase_material(const ExternalRoot& old_root, const ExternalRoot& new_root,
                                                                   const X509* cross_signed) {
  // Peers trust anchors: a root under the corporate CA through the
  // corporate anchor its chain ends at.
  auto anchors = [](const X509* first, const X509* second) {
    return X509_cmp(first, second) == 0 ? std::vector<const X509*>{first} : std::vector<const X509*>{first, second};
  };
  const X509* old_anchor = old_root.anchor();
  const X509* new_anchor = new_root.anchor();
  std::vector<const X509*> phase2_chain = new_root.chain_from_root();
  std::vector<const X509*> phase2_crl_issuers = new_root.chain();
  if (cross_signed != nullptr) {
    // Through the cross-signed root to the old anchor, for phase-0 peers;
    // phase-3 peers find the (self-signed: plan validation refuses
    // cross_sign for a new root under the corporate CA) new root among
    // their anchors.
    phase2_chain = {cross_signed};
    for (const X509* ca : old_root.chain_from_root()) phase2_chain.push_back(ca);
    phase2_crl_issuers = old_root.chain_from_root();
  }
  return {PhaseMaterial{old_root.chain_from_root(), anchors(old_anchor, new_anchor), old_root.chain()},
          PhaseMaterial{phase2_chain, anchors(new_anchor, old_anchor), phase2_crl_issuers},
          PhaseMaterial{new_root.chain_from_root(), {new_anchor}, new_root.chain()}};
}

RotationResult run_rotation(const Plan& plan, const RotationOptions& options) { return Rotation(plan, options).run(); }

}  // namespace meshca::ceremony
