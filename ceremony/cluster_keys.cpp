#include "ceremony/cluster_keys.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/layouts.hpp"
#include "output_layout/public_bundle.hpp"
#include "pki/crl.hpp"
#include "pki/csr.hpp"
#include "pki/verify.hpp"
#include "verify/bundle_check.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

constexpr std::size_t kMaxKeyFile = std::size_t{1024} * 1024;

const ClusterPlan& find_cluster(const Plan& plan, const std::string& mesh_name, const std::string& cluster_name,
                                const MeshPlan** mesh_out) {
  for (const auto& mesh : plan.meshes) {
    if (mesh.name != mesh_name) continue;
    for (const auto& cluster : mesh.clusters) {
      if (cluster.name != cluster_name) continue;
      *mesh_out = &mesh;
      return cluster;
    }
  }
  throw Error(ErrorKind::usage, "--cluster " + mesh_name + "/" + cluster_name + ": no such cluster in the plan (write it as MESH/CLUSTER)",
              plan.source.string());
}

// The findings of `meshca verify` for the bundle in `dir` that fail it, as
// "file: message" lines; the number of warnings goes to `warnings`.
std::vector<std::string> verification_failures(const fs::path& dir, const ol::LayoutOptions& options, std::size_t& warnings) {
  std::vector<std::string> failures;
  verify::BundleCheckOptions check{.at = 0, .trust_domain = options.trust_domain};
  for (const auto& source : verify::load_bundle_sources(dir)) {
    auto report = verify::check_bundle(source, check);
    warnings += report.count(pki::Severity::warn);
    for (const auto& f : report.findings) {
      if (f.severity == pki::Severity::fail) failures.push_back((f.file.empty() ? f.check : f.file) + ": " + f.message);
    }
  }
  return failures;
}

// ca-crl.pem of the assembled bundle: the intermediate's CRL, with the
// content the room decided (public-bundle.yaml) signed by the cluster's key,
// followed by the CRLs above it (chain-crls.pem). Refused when that content
// is no longer valid: only the room can decide a new one.
std::string assembled_crls(const fs::path& public_dir, const ol::IstioBundle& bundle, EVP_PKEY* key, UnixTime now) {
  const pki::CrlProfile& content = *bundle.intermediate_crl;
  if (content.next_update <= now) {
    throw Error(ErrorKind::invalid_input,
                "plans an intermediate CRL whose nextUpdate " + format_rfc3339(content.next_update) +
                    " has passed: reissue it in the room (meshca crl refresh) and assemble the public bundle that writes",
                (public_dir / ol::kPublicBundleFile).string());
  }
  if (bundle.ca_crl.empty()) {
    throw Error(ErrorKind::invalid_input, "is missing: a bundle with CRLs carries the CRLs of the CAs above its intermediate",
                (public_dir / ol::kChainCrlsFile).string());
  }
  auto crl = pki::issue_crl(content, bundle.ca_cert.get(), key);
  if (!pki::crl_signed_by(crl.get(), bundle.ca_cert.get())) {
    throw Error(ErrorKind::internal, "the intermediate's CRL does not verify with ca-cert.pem's key");
  }
  return pki::crl_to_pem(crl.get()) + bundle.ca_crl;
}

}  // namespace

CreatedCsr create_cluster_csr(const Plan& plan, const std::string& mesh_name, const std::string& cluster_name, const fs::path& dir) {
  const MeshPlan* mesh = nullptr;
  const ClusterPlan& cluster = find_cluster(plan, mesh_name, cluster_name, &mesh);
  CreatedCsr made{dir / ol::kCaKeyFile, dir / kClusterCsrFile, cluster.intermediate.algorithm, ""};
  const std::string never = "meshca csr create never replaces a key or CSR (choose another --out)";
  refuse_existing_path(made.key_file, never);
  refuse_existing_path(made.csr_file, never);
  ensure_directory(dir, kPrivateDirMode);
  auto key = pki::generate_key(made.algorithm);
  const std::string csr = pki::make_csr_pem(key.get(), cluster.intermediate.subject);
  made.spki_sha256 = pki::spki_sha256(key.get());
  write_file_atomic(made.key_file, pki::private_key_to_pkcs8_pem(key.get()).view(), kPrivateFileMode, Replace::never);
  try {
    write_file_atomic(made.csr_file, csr, kPublicFileMode, Replace::never);
  } catch (const Error&) {
    // A key without its CSR is of no use and must not linger.
    std::error_code ignored;
    fs::remove(made.key_file, ignored);
    throw;
  }
  return made;
}

namespace {

// The files the descriptor carries (a federated cluster's trust/), each
// checked against its SHA-256, copied into `staging`; their paths.
std::vector<std::string> copy_carried_files(const fs::path& public_dir, const std::vector<ol::CarriedFile>& carried,
                                            const fs::path& staging) {
  std::vector<std::string> copied;
  for (const auto& file : carried) {
    const fs::path from = public_dir / file.path;
    const std::string text = read_file(from, kMaxKeyFile);
    if (sha256_hex(text) != file.sha256) {
      throw Error(ErrorKind::invalid_input,
                  "is not the file public-bundle.yaml carries (SHA-256 " + sha256_hex(text) + ", recorded " + file.sha256 +
                      "): take the bundle directory as the ceremony wrote it",
                  from.string());
    }
    const fs::path to = staging / file.path;
    ensure_directory(to.parent_path(), kPrivateDirMode);
    write_new_file_durable(to, text, kPublicFileMode, Sync::deferred);
    copied.push_back(file.path);
  }
  return copied;
}

}  // namespace

AssembledBundle assemble_bundle(const fs::path& public_dir, const fs::path& key_file, const fs::path& out) {
  const ol::PublicBundleDescriptor descriptor = ol::read_public_bundle_descriptor(public_dir);
  const ol::LayoutOptions& public_options = descriptor.options;
  const ol::LayoutOptions full = ol::assembled(public_options);
  refuse_existing_path(out, "meshca bundle assemble writes a new directory and never replaces one");
  // Every file of the public bundle is read and checked against the
  // descriptor before the key is touched.
  ol::IstioBundle bundle = ol::read_layout_bundle(public_dir, public_options);
  const X509* cert = bundle.ca_cert.get();
  const std::string cert_key = pki::spki_sha256(X509_get0_pubkey(cert));
  if (cert_key != public_options.key_spki_sha256) {
    throw Error(
        ErrorKind::invalid_input,
        "ca-cert.pem certifies the key " + cert_key + ", not the key " + public_options.key_spki_sha256 + " the bundle was issued for",
        (public_dir / ol::kCaCertFile).string());
  }
  std::string key_pem = read_file(key_file, kMaxKeyFile);
  pki::PKeyPtr key = pki::private_key_from_pem(key_pem, key_file.string());
  cleanse(key_pem);
  if (!pki::key_matches_certificate(key.get(), cert)) {
    throw Error(ErrorKind::invalid_input,
                "is not the key of this bundle: its SPKI SHA-256 is " + pki::spki_sha256(key.get()) + ", ca-cert.pem certifies " +
                    cert_key + " (" + public_options.mesh + "/" + public_options.cluster + ")",
                key_file.string());
  }
  std::vector<const X509*> chain, roots;
  for (std::size_t i = 1; i < bundle.cert_chain.size(); ++i) chain.push_back(bundle.cert_chain[i].get());
  for (const auto& r : bundle.roots) roots.push_back(r.get());
  auto files = ol::make_istio_bundle(cert, key.get(), chain, roots);
  if (bundle.intermediate_crl) files.ca_crl = assembled_crls(public_dir, bundle, key.get(), now_utc());

  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  StagingDirectory staging(parent);
  ol::write_layouts(staging.path(), files, full);
  (void)ol::read_layout_bundle(staging.path(), full);  // every layout and manifest agrees
  AssembledBundle result{out, ol::layout_file_names(full), 0};
  for (auto& path : copy_carried_files(public_dir, descriptor.carried, staging.path())) result.files.push_back(std::move(path));
  if (!files.ca_crl.empty()) result.files.emplace_back(ol::kCaCrlFile);
  std::sort(result.files.begin(), result.files.end());
  auto failures = verification_failures(staging.path(), full, result.warnings);
  if (!failures.empty()) {
    throw MultiError(ErrorKind::check_failed, "the assembled bundle fails verification; nothing was written", failures);
  }
  sync_filesystem(staging.path());
  staging.publish(out);
  std::error_code ignored;
  fs::remove(parent / kStagingDirName, ignored);  // only when empty
  return result;
}

}  // namespace meshca::ceremony
