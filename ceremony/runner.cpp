#include "ceremony/runner.hpp"

#include <algorithm>
#include <mutex>
#include <set>

#include "ceremony/conformance.hpp"
#include "ceremony/external_root.hpp"
#include "ceremony/output_tree.hpp"
#include "ceremony/revocation.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/parallel.hpp"
#include "core/secure_buffer.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "pki/lint.hpp"
#include "pki/verify.hpp"
#include "plan/plan_digest.hpp"
#include "plan/profiles.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

// Bundles made durable by one filesystem sync. Larger batches amortise the
// sync further but hold more finished work back from publication.
constexpr std::size_t kPublishBatch = 32;
// Full batches waiting for the publisher before the workers stop issuing.
constexpr std::size_t kPublishQueue = 4;

class Ceremony {
 public:
  Ceremony(const Plan& plan, const CeremonyOptions& options)
      : plan_(plan), script_(ceremony_steps(plan)), opt_(options), out_(options.out_dir), now_(options.now ? options.now : now_utc()) {
    for (const auto& mesh : plan_.meshes) total_ += mesh.clusters.size();
  }

  CeremonyResult run() {
    if (plan_.rotation && plan_.rotation->current_ca) {
      // Its `root` is the new root, copied from rotation.new_root: a ceremony
      // would start a second PKI beside the adopted CA instead of the phases.
      throw Error(ErrorKind::invalid_input,
                  "adopts the CA the mesh runs (rotation.current_ca): its ceremony is `meshca rotate phases`, which "
                  "writes the three phases; nothing was written",
                  plan_.source.string());
    }
    approved_ = approve_plan(plan_, opt_, "start the ceremony");
    result_.plan_digest = approved_.digest;
    refuse_root_key_inside(plan_.root.key, plan_.base_dir, out_);
    // One writer per OUT, from before anything in it is read or cleaned.
    lock_ = lock_output_directory(out_, lock_request(opt_, "meshca ceremony run"));
    prepare_output_directory();
    survey_existing_output();
    open_transcript();
    run_recorded_session(
        [&] {
          open_root_key();
          establish_root_certificate();
          prepare_crls();
          issue_pending_clusters();
          record_plan_and_checksums();
        },
        [&](const std::string& outcome, const std::string& error) { close_transcript(outcome, error); });
    return std::move(result_);
  }

 private:
  struct PendingCluster {
    const MeshPlan* mesh;
    const ClusterPlan* cluster;
    fs::path dir;
    bool exists;
    bool renew = false;  // an existing bundle to be replaced by a fresh one
    std::optional<CertificateRecord> previous;  // the bundle a renewal replaces
    std::optional<CertificateRecord> kept;      // the conforming bundle a re-run keeps
  };

  void emit(CeremonyEvent::Kind kind, const std::string& message) {
    if (opt_.on_event) opt_.on_event({kind, message, done_, total_});
  }

  fs::path cluster_dir(const MeshPlan& mesh, const ClusterPlan& cluster) const { return out_ / mesh.name / cluster.name; }

  // The files a cluster's bundle consists of: the mesh's layouts.
  ol::LayoutOptions layout_options(const MeshPlan& mesh, const ClusterPlan& cluster) const {
    return ceremony::layout_options(mesh, cluster, result_.plan_digest);
  }

  void open_transcript() {
    transcript_ = std::make_unique<SessionTranscript>(
        out_ / kTranscriptFile, out_, plan_, opt_, approved_, now_,
        nlohmann::json{{"root_key", hsm::describe_key_reference(plan_.root.key)}, {"clusters", total_}}, &script_);
  }

  fs::path retired_dir(const PendingCluster& p) const {
    return out_ / kRetiredDir / p.mesh->name / p.cluster->name / p.previous->serial;
  }

  void note_written(const fs::path& path) { transcript_->note_written(path); }

  void close_transcript(const std::string& outcome, const std::string& error) {
    if (!transcript_) return;
    auto issued = std::count_if(result_.clusters.begin(), result_.clusters.end(), [](const auto& c) { return c.issued; });
    result_.transcript_head =
        transcript_->close(outcome, error, {{"issued", issued}}, outcome == "completed" ? &manifest_ : nullptr);
  }

  void prepare_output_directory() {
    emit(CeremonyEvent::Kind::step, "preparing output directory " + out_.string());
    // Nothing in OUT is read or cleaned before it is known to hold only
    // what belongs there (no links, nothing foreign).
    refuse_output_tree_problems(plan_, out_);
    // Only the lock holder cleans, and what it finds was left by a dead run.
    std::size_t stale = remove_stale_temp_files({out_ / kPlanCopy, out_ / ol::kChecksumsFile, out_ / kRootDir / ol::kRootCertFile,
                                                  out_ / kRootDir / kRootCrlFile, out_ / kRevocationLedgerFile});
    stale += clean_staging_area(out_);
    if (stale > 0) {
      emit(CeremonyEvent::Kind::step, "removed " + std::to_string(stale) + " leftover staging entr" + (stale == 1 ? "y" : "ies") + " of an interrupted run");
    }
  }

  // Finds every conflict that can be known before touching the key store.
  void survey_existing_output() {
    std::error_code ec;
    root_cert_path_ = out_ / kRootDir / ol::kRootCertFile;
    have_root_cert_ = fs::exists(fs::symlink_status(root_cert_path_, ec));
    // A root under the corporate CA is never issued here: it was imported
    // (meshca root import), or the run stops before the key store opens.
    if (external()) external_ = load_external_root(out_);
    std::vector<std::string> conflicts;
    refuse_unfinished_revocation(out_);
    for (const auto& mesh : plan_.meshes) {
      for (const auto& cluster : mesh.clusters) {
        fs::path dir = cluster_dir(mesh, cluster);
        bool exists = fs::exists(fs::symlink_status(dir, ec));
        if (exists && !have_root_cert_) {
          conflicts.push_back(dir.string() + ": a bundle exists but " + root_cert_path_.string() + " does not; this output directory was not made by this plan");
        }
        pending_.push_back({&mesh, &cluster, dir, exists, false, std::nullopt, std::nullopt});
      }
    }
    refuse_conflicts(conflicts);
    survey_root();
    select_renewals();
    check_existing_bundles();
    check_external_root_windows();
    // A renewal archives the old bundle before publishing the new one, and
    // never overwrites an archive: every path it needs is free before the
    // key store is opened.
    for (const auto& p : pending_) {
      if (p.renew && fs::exists(fs::symlink_status(retired_dir(p), ec))) {
        conflicts.push_back(retired_dir(p).string() + ": already exists; renewing " + p.mesh->name + "/" + p.cluster->name +
                            " would archive its bundle there (move the existing archive away first)");
      }
    }
    refuse_conflicts(conflicts);
  }

  bool external() const { return plan_.root.issuer == RootIssuer::external; }

  // The validity of a root under the corporate CA is the corporate CA's:
  // every intermediate this run issues must lie inside it and inside every
  // corporate CA's above it (import checked this at its own time; the
  // durations count from now).
  void check_external_root_windows() {
    if (!external_) return;
    std::vector<const X509*> above{root_.get()};
    for (const X509* c : external_->chain()) above.push_back(c);
    std::vector<std::string> conflicts;
    for (const auto& p : pending_) {
      if (p.exists && !p.renew) continue;
      const auto w = p.cluster->intermediate.validity.resolve(now_);
      for (const X509* ca : above) {
        if (w.not_before >= pki::not_before(ca) && w.not_after <= pki::not_after(ca)) continue;
        conflicts.push_back(p.mesh->name + "/" + p.cluster->name + ": the intermediate (" + format_rfc3339(w.not_before) + " .. " +
                            format_rfc3339(w.not_after) + ") would not lie inside " + pki::subject_string(ca) + " (until " +
                            format_rfc3339(pki::not_after(ca)) +
                            "); shorten the cluster's validity, or have the corporate CA "
                            "issue a root that covers it");
        break;
      }
    }
    refuse_conflicts(conflicts);
  }

  // Marks the bundles the operator asked to renew, by name or by expiry.
  void select_renewals() {
    std::set<std::string> named(opt_.renew.begin(), opt_.renew.end());
    for (auto& p : pending_) {
      bool asked = named.erase(p.mesh->name + "/" + p.cluster->name) > 0;
      if (!p.exists || (!asked && !opt_.renew_expiring)) continue;
      auto cert = ol::read_layout_ca_certificate(p.dir, layout_options(*p.mesh, *p.cluster));
      bool expiring = opt_.renew_expiring && pki::not_after(cert.get()) <= add_duration(now_, *opt_.renew_expiring);
      if (asked || expiring) {
        p.renew = true;
        p.previous = record_of(cert.get());
      }
    }
    if (!named.empty()) {
      throw Error(ErrorKind::usage, "--renew " + *named.begin() + ": no such cluster in the plan (write it as mesh/cluster)");
    }
  }

  // An existing root must be the plan's root in every field. A re-run
  // cannot renew a root (every bundle chains to it): that is a rotation.
  void survey_root() {
    if (!have_root_cert_) return;
    root_ = pki::certificate_from_pem(read_file(root_cert_path_), root_cert_path_.string());
    auto findings = external() ? external_root_conformance(
                                     {.root = root_.get(), .issuer_chain = external_->chain(), .intermediates_at = {}, .at = 0}, plan_)
                               : root_conformance(root_.get(), plan_.root, plan_.profile);
    if (findings.empty()) {
      refuse_stale_issuer_crls();
      return;
    }
    std::vector<std::string> details;
    for (const auto& f : findings) details.push_back(root_cert_path_.string() + ": " + f.message());
    throw MultiError(ErrorKind::output,
                     "the existing root certificate differs from the plan's root in " + std::to_string(findings.size()) +
                         " field(s); nothing was written (a re-run never replaces a root: restore the plan's root, "
                         "or replace the root with meshca rotate phases)",
                     details);
  }

  // With CRLs, every bundle of a root under the corporate CA carries the
  // corporate CAs' CRLs: they must be there and valid now, or no bundle is
  // written with them.
  void refuse_stale_issuer_crls() const {
    if (external() && plan_.revocation.crl) ceremony::refuse_stale_issuer_crls(*external_, out_, now_);
  }

  void refuse_conflicts(const std::vector<std::string>& conflicts) {
    if (conflicts.empty()) return;
    throw MultiError(ErrorKind::output,
                     std::to_string(conflicts.size()) + " existing output" + (conflicts.size() == 1 ? " conflicts" : "s conflict") +
                         " with the plan; nothing was written (move them away, or choose another --out)",
                     conflicts);
  }

  void open_root_key() {
    emit(CeremonyEvent::Kind::step, "opening the root key");
    auto presence = have_root_cert_ ? hsm::KeyPresence::must_exist : hsm::KeyPresence::create_if_missing;
    key_store_ = hsm::open_key_store(plan_.root.key, presence, opt_.key_context);
    result_.key_store = key_store_->description();
    result_.root_key_generated = key_store_->generated();
    transcript_->record("root-key", {{"store", key_store_->description()},
                                     {"generated", key_store_->generated()},
                                     {"facts", nlohmann::json::parse(key_store_->facts_json())}});
    emit(CeremonyEvent::Kind::root_key, std::string(key_store_->generated() ? "generated " : "loaded ") + key_store_->description());
  }

  // The root's own self-signature is checked once, when it is issued or
  // loaded, not again for every intermediate.
  IssuedCertificateCheck root_check(const X509* root, const EVP_PKEY* key, const std::string& what) const {
    return {.cert = root,
            .subject_key = key,
            .issuer = root,
            .anchor = root,
            .anchor_signature = pki::AnchorSignature::check,
            .role = pki::CaRole::root,
            .what = what,
            .lint_warnings = plan_.root.lint_warnings};
  }

  void establish_root_certificate() {
    if (have_root_cert_) {
      // survey_root() found it to be the plan's root in every field.
      if (!pki::key_matches_certificate(key_store_->public_key(), root_.get())) {
        throw Error(ErrorKind::output, "was issued for another key than the plan's root key; refusing to mix roots",
                    root_cert_path_.string());
      }
      // An imported root was judged by external_root_conformance() in the
      // survey: strict chain to the pinned anchor and the CA lints.
      if (!external_) verify_before_writing(root_check(root_.get(), nullptr, "existing root certificate"));
      result_.root = record_of(root_.get());
      nlohmann::json details{{"action", external_ ? "reused imported" : "reused"}, {"certificate", to_json(result_.root)}};
      if (external_) details["anchor_sha256"] = plan_.root.anchor_sha256;
      transcript_->record("root-certificate", std::move(details));
      emit(CeremonyEvent::Kind::root_certificate, "reusing root certificate " + result_.root.subject + " (serial " + result_.root.serial + ")");
      return;
    }
    auto profile = root_profile(plan_.root, now_);
    root_ = pki::issue_certificate(profile, key_store_->public_key(), nullptr, key_store_->signing_key());
    auto warnings = verify_before_writing(root_check(root_.get(), key_store_->public_key(), "root certificate"));
    ensure_directory(root_cert_path_.parent_path(), kPrivateDirMode);
    write_file_atomic(root_cert_path_, pki::certificate_to_pem(root_.get()), kPublicFileMode);
    note_written(root_cert_path_);
    result_.root_certificate_issued = true;
    result_.root = record_of(root_.get());
    transcript_->record("root-certificate", {{"action", "issued"},
                                             {"certificate", to_json(result_.root)},
                                             {"profile", profile_json(plan_.profile, warnings)}});
    emit(CeremonyEvent::Kind::root_certificate, "issued root certificate " + result_.root.subject + " (serial " + result_.root.serial + ")");
  }

  // With revocation.crl the root's CRL is reused while it is fresh and
  // signed by this root, and issued (from the ledger) otherwise.
  void prepare_crls() {
    if (!plan_.revocation.crl) return;
    ledger_ = RevocationLedger::load(out_);
    if (auto pem = current_root_crl(out_, root_.get(), now_)) {
      root_crl_ = *pem;
      // The script's CRL step has its record on a re-run too.
      transcript_->record("crl", {{"issuer", "root"}, {"action", "reused"}});
      return;
    }
    root_crl_ = issue_ledger_crl(*ledger_, root_.get(), key_store_->signing_key(), plan_.revocation, now_);
    ledger_->save(out_);  // write-ahead: the CRL number is recorded before the CRL is published
    const fs::path path = out_ / kRootDir / kRootCrlFile;
    write_file_atomic(path, root_crl_, kPublicFileMode, Replace::allowed);
    note_written(path);
    transcript_->record("crl", {{"issuer", "root"},
                                {"number", ledger_->crl_numbers[pki::sha256_fingerprint(root_.get())]},
                                {"next_update", format_rfc3339(add_duration(now_, plan_.revocation.next_update))}});
    emit(CeremonyEvent::Kind::step, "issued the root CRL (" + path.string() + ")");
  }

  // A re-run keeps a bundle only when the conformance check finds nothing;
  // any difference from the plan is a conflict naming every differing field,
  // unless the operator renews that bundle. The root's self-signature was
  // checked by survey_root()'s lints, not again per bundle. The bundles are
  // checked on the --jobs workers: a re-run that keeps a fleet costs a
  // fraction of issuing it.
  void check_existing_bundles() {
    std::vector<std::size_t> existing;
    for (std::size_t i = 0; i < pending_.size(); ++i)
      if (pending_[i].exists && !pending_[i].renew) existing.push_back(i);  // a renewal replaces whatever is there
    std::vector<ConformanceFindings> findings(existing.size());
    const BundleExpectation want{.issuer_root = root_.get(),
                                 .issuer_chain = external_ ? external_->chain() : std::vector<const X509*>{},
                                 .crl = plan_.revocation.crl,
                                 .root_verified = true,
                                 .scope = FindingScope::first};
    parallel_for(existing.size(), opt_.jobs, [&]() -> ItemWork {
      return [&](std::size_t n) {
        auto& p = pending_[existing[n]];
        std::optional<ol::IstioBundle> bundle;
        findings[n] = cluster_conformance(p.dir, *p.mesh, *p.cluster, result_.plan_digest, want, &bundle);
        if (findings[n].empty()) p.kept = record_of(bundle->ca_cert.get());
      };
    });
    std::vector<std::string> conflicts;
    for (std::size_t n = 0; n < existing.size(); ++n) {
      if (findings[n].empty()) continue;
      const auto& p = pending_[existing[n]];
      std::string why;
      for (const auto& f : findings[n]) why += (why.empty() ? "" : "; ") + f.message();
      conflicts.push_back(p.dir.string() + ": exists and does not match the plan: " + why + " (renew it with --renew " +
                          p.mesh->name + "/" + p.cluster->name + ")");
    }
    if (conflicts.empty()) return;
    throw MultiError(ErrorKind::output,
                     std::to_string(conflicts.size()) + " existing bundle" + (conflicts.size() == 1 ? " differs" : "s differ") +
                         " from the plan; nothing was written (renew " + (conflicts.size() == 1 ? "it" : "them") +
                         " with --renew MESH/CLUSTER to reissue as planned, or restore the plan)",
                     conflicts);
  }

  // Kept bundles are recorded in plan order; new ones are issued by a pool
  // of workers. Each worker holds at most one cluster's key at a time, so
  // memory stays flat however large the fleet. Signing uses a per-worker key
  // copy where the store offers one, and is serialised otherwise (one token
  // session is never used from two threads).
  void issue_pending_clusters() {
    result_.clusters.resize(pending_.size());
    std::vector<std::size_t> to_issue;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].exists && !pending_[i].renew) {
        keep_existing(i);
      } else {
        to_issue.push_back(i);
      }
    }
    // Publishing waits on the disk; it runs beside the workers, one batch at
    // a time. Leaving this scope by an exception drops the batches not yet
    // published: they stay staging leftovers, issued again by the next run.
    SerialExecutor publisher(kPublishQueue);
    publisher_ = &publisher;
    parallel_for(to_issue.size(), opt_.jobs, [&]() -> ItemWork {
      std::shared_ptr<EVP_PKEY> own_signer = key_store_->worker_signing_key();
      return [this, &to_issue, own_signer](std::size_t n) { issue_cluster(to_issue[n], own_signer.get()); };
    });
    submit_batch(std::move(batch_));
    publisher.finish();
    publisher_ = nullptr;
  }

  void keep_existing(std::size_t index) {
    const auto& p = pending_[index];
    result_.clusters[index] = {p.mesh->name, p.cluster->name, false, std::nullopt, p.dir, *p.kept};
    transcript_->record("intermediate",
                        {{"mesh", p.mesh->name},
                         {"cluster", p.cluster->name},
                         {"action", "kept existing bundle"},
                         {"certificate", to_json(result_.clusters[index].certificate)}},
                        Sync::deferred,  // durable with the next synced record, as for issued bundles
                        p.mesh->name + "/" + p.cluster->name);
    ++done_;
    emit(CeremonyEvent::Kind::cluster_skipped, p.mesh->name + "/" + p.cluster->name + ": complete bundle kept");
  }

  // The trust anchor of every bundle: the root, or the corporate anchor
  // above an imported root.
  const X509* anchor() const { return external_ ? external_->issuer_chain.back().get() : root_.get(); }
  // What sits between an intermediate and the anchor.
  std::vector<const X509*> above_intermediate() const { return external_ ? external_->untrusted() : std::vector<const X509*>{}; }

  pki::X509Ptr sign_intermediate(const pki::CertificateProfile& profile, const EVP_PKEY* key, EVP_PKEY* own_signer) {
    if (own_signer != nullptr) return pki::issue_certificate(profile, key, root_.get(), own_signer);
    std::lock_guard lock(sign_mutex_);
    return pki::issue_certificate(profile, key, root_.get(), key_store_->signing_key());
  }

  // A cluster whose bundle sits complete in the staging area, waiting for
  // the batch's single filesystem sync before it is renamed into place.
  struct StagedBundle {
    std::size_t index;
    std::unique_ptr<StagingDirectory> staging;
    std::map<std::string, std::string> digests;  // file name -> SHA-256
    CertificateRecord record;
    std::vector<std::string> lint_warnings;  // allowed by a non-default profile
  };

  void issue_cluster(std::size_t index, EVP_PKEY* own_signer) {
    const auto& p = pending_[index];
    const std::string name = p.mesh->name + "/" + p.cluster->name;
    // A pinned cluster's key stays with the cluster: the room certifies the
    // public key of its CSR, checked against the pin when the plan was read.
    const auto& pinned = p.cluster->intermediate.pinned_key;
    auto key = pinned ? pki::public_key_from_der(pinned->public_key_der, name + " pinned key")
                      : pki::generate_key(p.cluster->intermediate.algorithm);
    auto cert = sign_intermediate(intermediate_profile(*p.mesh, *p.cluster, now_), key.get(), own_signer);
    auto warnings = verify_before_writing({.cert = cert.get(),
                                           .subject_key = key.get(),
                                           .issuer = root_.get(),
                                           .anchor = anchor(),
                                           .untrusted = above_intermediate(),
                                           .what = "intermediate for " + name,
                                           .lint_warnings = p.cluster->intermediate.lint_warnings});

    std::vector<const X509*> chain{root_.get()};
    if (external_)
      for (const X509* c : external_->chain()) chain.push_back(c);
    auto files = ol::make_istio_bundle(cert.get(), pinned ? nullptr : key.get(), chain, {anchor()});
    if (ledger_) {
      std::lock_guard lock(ledger_mutex_);
      const std::string above = root_crl_ + (external_ ? external_->issuer_crls : std::string());
      if (pinned) {
        // The room has no key to sign the intermediate's CRL with: the
        // public bundle carries its content for `bundle assemble` to sign.
        files.ca_crl = above;
        files.intermediate_crl = ledger_crl_content(*ledger_, cert.get(), plan_.revocation, now_, ledger_->next_crl_number(cert.get()));
      } else {
        files.ca_crl = issue_ledger_crl(*ledger_, cert.get(), key.get(), plan_.revocation, now_) + above;
      }
    }
    StagedBundle staged{index, std::make_unique<StagingDirectory>(out_), {}, record_of(cert.get()), std::move(warnings)};
    staged.digests = ol::write_layouts(staged.staging->path(), files, layout_options(*p.mesh, *p.cluster));
    std::vector<StagedBundle> full_batch;
    {
      std::lock_guard lock(batch_mutex_);
      batch_.push_back(std::move(staged));
      if (batch_.size() >= kPublishBatch) full_batch.swap(batch_);
    }
    submit_batch(std::move(full_batch));
  }

  void submit_batch(std::vector<StagedBundle> batch) {
    if (batch.empty()) return;
    auto shared = std::make_shared<std::vector<StagedBundle>>(std::move(batch));
    publisher_->submit([this, shared] { publish_batch(std::move(*shared)); });
  }

  // One syncfs makes every staged file durable; then each bundle is renamed
  // into place (whole or not at all) and the parent directories are synced
  // once. After a crash an unpublished bundle is only a staging leftover,
  // removed and issued again by the next run.
  void publish_batch(std::vector<StagedBundle> batch) {
    if (ledger_) {
      // Write-ahead: the batch's CRL numbers are in the ledger before any
      // bundle carrying those CRLs is published.
      std::lock_guard lock(ledger_mutex_);
      ledger_->save(out_);
    }
    sync_filesystem(out_ / kStagingDirName);
    std::set<fs::path> parents;
    for (auto& b : batch) {
      const auto& p = pending_[b.index];
      ensure_directory(p.dir.parent_path(), kPrivateDirMode);
      if (p.renew) {
        fs::path archive = retired_dir(p);
        b.staging->replace_synced(p.dir, archive);
        parents.insert(archive.parent_path());
      } else {
        b.staging->publish_synced(p.dir);
      }
      parents.insert(p.dir.parent_path());
    }
    for (const auto& dir : parents) fsync_directory(dir);
    fsync_directory(out_);

    std::lock_guard lock(record_mutex_);
    for (auto& b : batch) {
      const auto& p = pending_[b.index];
      for (const auto& [file, digest] : b.digests) transcript_->note_digest(p.mesh->name + "/" + p.cluster->name + "/" + file, digest);
      result_.clusters[b.index] = {p.mesh->name, p.cluster->name, true, p.previous, p.dir, b.record};
      nlohmann::json details{{"mesh", p.mesh->name},
                             {"cluster", p.cluster->name},
                             {"action", p.renew ? "renewed" : "issued"},
                             {"certificate", to_json(b.record)},
                             {"profile", profile_json(p.mesh->profile, b.lint_warnings)},
                             {"layouts", p.mesh->outputs.layout_names()}};
      add_key_facts(details, p.cluster->intermediate);
      if (p.renew) {
        details["replaced"] = to_json(*p.previous);
        details["retired_to"] = retired_dir(p).lexically_relative(out_).string();
      }
      transcript_->record("intermediate", std::move(details), Sync::deferred, p.mesh->name + "/" + p.cluster->name);
      ++done_;
      emit(CeremonyEvent::Kind::cluster_issued,
           p.mesh->name + "/" + p.cluster->name + (p.renew ? ": renewed, replacing serial " + p.previous->serial + ": " : ": issued ") +
               b.record.subject + " (serial " + b.record.serial + ")");
    }
  }

  void record_plan_and_checksums() {
    if (ledger_) {
      ledger_->save(out_);
      note_written(out_ / kRevocationLedgerFile);
    }
    write_file_atomic(out_ / kPlanCopy, plan_.text, kPublicFileMode, Replace::allowed);
    note_written(out_ / kPlanCopy);
    std::error_code ignored;
    fs::remove(out_ / kStagingDirName, ignored);  // only succeeds when empty
    manifest_ = ol::write_checksums(out_);
    result_.files_checksummed = manifest_.size();
    note_written(out_ / ol::kChecksumsFile);
    emit(CeremonyEvent::Kind::step, "wrote " + (out_ / ol::kChecksumsFile).string() + " (" + std::to_string(result_.files_checksummed) + " files)");
  }

  const Plan& plan_;
  const CeremonyScript script_;  // the steps the transcript records are numbered by
  const CeremonyOptions& opt_;
  fs::path out_;
  UnixTime now_;
  std::size_t total_ = 0;
  std::size_t done_ = 0;
  fs::path root_cert_path_;
  bool have_root_cert_ = false;
  std::vector<PendingCluster> pending_;
  std::unique_ptr<hsm::KeyStore> key_store_;
  ApprovedPlan approved_;
  std::unique_ptr<SessionTranscript> transcript_;
  std::mutex record_mutex_;  // transcript, events and results from workers
  std::mutex sign_mutex_;    // the key store's shared signing key
  std::mutex batch_mutex_;   // batch_
  std::vector<StagedBundle> batch_;
  SerialExecutor* publisher_ = nullptr;  // while clusters are issued
  pki::X509Ptr root_;
  std::optional<ExternalRoot> external_;    // root.issuer: external: the imported root's corporate chain
  std::optional<RevocationLedger> ledger_;  // with revocation.crl
  std::string root_crl_;                     // OUT/root/root-crl.pem as every new bundle carries it
  std::mutex ledger_mutex_;
  CeremonyResult result_;
  OutputLock lock_;
  ol::FileDigests manifest_;  // every file of OUT as the run leaves it
};

}  // namespace

CeremonyResult run_ceremony(const Plan& plan, const CeremonyOptions& options) { return Ceremony(plan, options).run(); }

}  // namespace meshca::ceremony
