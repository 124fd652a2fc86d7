#include "ceremony/deployed_audit.hpp"

#include <map>
#include <optional>
#include <set>

#include "ceremony/issuance.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/csr.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

// What a cacerts Secret carries, compared by SHA-256.
constexpr const char* kSecretFiles[] = {ol::kCaCertFile, ol::kCaKeyFile, ol::kCertChainFile, ol::kRootCertFile, ol::kCaCrlFile};
using Digests = std::map<std::string, std::string>;  // file name -> SHA-256 (hex)

bool is_secret_file(const std::string& name) {
  for (const char* f : kSecretFiles)
    if (name == f) return true;
  return false;
}

struct RecordedBundle {
  std::size_t line = 0;  // the first closing record that lists it
  Digests files;
};

// A cluster's bundles as the transcript's closing records list them, at
// OUT/<mesh>/<cluster>/ or archived by a renewal at
// retired/<mesh>/<cluster>/<serial>/, in transcript order; `current` is the
// one the last record lists at OUT/<mesh>/<cluster>/.
struct ClusterRecord {
  std::vector<RecordedBundle> bundles;
  const RecordedBundle* current() const { return current_index ? &bundles[*current_index] : nullptr; }
  std::optional<std::size_t> current_index;
};

std::map<std::string, ClusterRecord> recorded_bundles(const fs::path& transcript) {
  std::map<std::string, ClusterRecord> out;
  // Without a transcript nothing was recorded (the audit fails on that already).
  if (!fs::exists(status_of(transcript, ErrorKind::invalid_input))) return out;
  for (const auto& session : recorded_sessions(transcript)) {
    std::map<std::pair<std::string, std::string>, Digests> found;  // (cluster, archive serial or "") -> files
    for (const auto& [file, digest] : session.files) {
      std::vector<std::string> parts;
      for (const auto& p : fs::path(file)) parts.push_back(p.string());
      if (parts.size() == 3 && is_secret_file(parts[2])) {
        found[{parts[0] + "/" + parts[1], ""}][parts[2]] = digest;
      } else if (parts.size() == 5 && parts[0] == "retired" && is_secret_file(parts[4])) {
        found[{parts[1] + "/" + parts[2], parts[3]}][parts[4]] = digest;
      }
    }
    for (auto& [where, files] : found) {
      auto& record = out[where.first];
      std::size_t index = 0;
      while (index < record.bundles.size() && record.bundles[index].files != files) ++index;
      if (index == record.bundles.size()) record.bundles.push_back({session.line, std::move(files)});
      if (where.second.empty()) record.current_index = index;
    }
  }
  return out;
}

// The deployed files equal the recorded ones. A recorded bundle without
// ca-key.pem (a cluster that keeps its key, or an auditor's public copy)
// says nothing about the key: key_verdict judges it.
bool same_bundle(const Digests& deployed, const Digests& recorded) {
  for (const char* name : kSecretFiles) {
    auto d = deployed.find(name), r = recorded.find(name);
    if (std::string(name) == ol::kCaKeyFile && r == recorded.end()) continue;
    if ((d == deployed.end()) != (r == recorded.end())) return false;
    if (d != deployed.end() && d->second != r->second) return false;
  }
  return true;
}

std::string differing_files(const Digests& deployed, const Digests& recorded) {
  std::string out;
  for (const char* name : kSecretFiles) {
    auto d = deployed.find(name), r = recorded.find(name);
    if (std::string(name) == ol::kCaKeyFile && r == recorded.end()) continue;
    const bool same = (d == deployed.end()) == (r == recorded.end()) && (d == deployed.end() || d->second == r->second);
    if (same) continue;
    out += (out.empty() ? "" : ", ") + std::string(name) +
           (d == deployed.end()   ? " (missing)"
            : r == recorded.end() ? " (not in the recorded bundle)"
                                  : "");
  }
  return out;
}

// What one deployed Secret holds: its files' digests, its CA certificate
// (null when absent or unreadable) and what is wrong with its key ("" when
// it belongs to the certificate, or there is no certificate to judge it by).
struct Deployed {
  Digests files;
  pki::X509Ptr ca;
  std::string key_problem;
};

Deployed read_deployed(const verify::BundleSource& src) {
  Deployed d;
  for (const char* name : kSecretFiles)
    if (const auto* f = src.file(name)) d.files[name] = sha256_hex(f->bytes.view());
  const auto* cert = src.file(ol::kCaCertFile);
  const auto* key = src.file(ol::kCaKeyFile);
  try {
    if (cert != nullptr) d.ca = pki::certificate_from_pem(cert->bytes.view(), cert->display);
  } catch (const Error&) {
    d.ca = nullptr;
  }
  if (key == nullptr) {
    d.key_problem = "it has no ca-key.pem (istiod cannot sign)";
  } else if (d.ca) {
    try {
      auto k = pki::private_key_from_pem(key->bytes.view(), key->display);
      if (!pki::key_matches_certificate(k.get(), d.ca.get())) d.key_problem = "its ca-key.pem does not belong to its ca-cert.pem";
    } catch (const Error&) {
      d.key_problem = "its ca-key.pem is not a readable private key";
    }
  }
  return d;
}

std::vector<pki::X509Ptr> certificates_in(const fs::path& file) {
  auto pem = read_file_if_exists(file);
  if (!pem) return {};
  try {
    return pki::certificates_from_pem(*pem, file.string());
  } catch (const Error&) {
    return {};  // the rest of the audit reports an unreadable root
  }
}

class DeployedAuditor {
 public:
  DeployedAuditor(const Plan& plan, const fs::path& out, const fs::path& deployed)
      : plan_(plan), out_(out), deployed_(deployed), recorded_(recorded_bundles(out / kTranscriptFile)) {
    for (auto& c : certificates_in(out / kRootDir / ol::kRootCertFile)) roots_.push_back(std::move(c));
  }

  std::vector<AuditFinding> run() {
    std::set<fs::path> planned;
    for (const auto& mesh : plan_.meshes) {
      for (const auto& cluster : mesh.clusters) {
        const fs::path file = deployed_ / mesh.name / (cluster.name + ".yaml");
        planned.insert(file.lexically_normal());
        judge(mesh, mesh.name + "/" + cluster.name, file);
      }
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(deployed_, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !planned.count(it->path().lexically_normal())) {
        fail("stray", it->path().string(), "names no cluster of the plan (deployed Secrets are DIR/<mesh>/<cluster>.yaml)");
      }
    }
    if (ec) fail("deployed", deployed_.string(), "cannot be read whole: " + ec.message());
    return std::move(findings_);
  }

 private:
  void fail(const std::string& check, const std::string& subject, const std::string& message) {
    findings_.push_back({pki::Severity::fail, check, subject, message});
  }

  // The certificate is one this OUT's root (or a root its bundle trusts)
  // issued, or one the transcript recorded.
  bool ours(const X509* ca, const std::string& id, const Digests& deployed) const {
    for (const auto& [cluster, record] : recorded_)
      for (const auto& b : record.bundles)
        if (b.files.count(ol::kCaCertFile) && deployed.count(ol::kCaCertFile) &&
            b.files.at(ol::kCaCertFile) == deployed.at(ol::kCaCertFile))
          return true;
    const auto bundle_roots = certificates_in(out_ / id / ol::kRootCertFile);
    for (const auto* roots : {&roots_, &bundle_roots})
      for (const auto& r : *roots)
        if (pki::signed_by(ca, r.get())) return true;
    return false;
  }

  // A recorded bundle of another cluster that the deployed files equal.
  std::optional<std::string> other_cluster(const std::string& id, const Digests& deployed) const {
    for (const auto& [cluster, record] : recorded_)
      for (const auto& b : record.bundles)
        if (cluster != id && same_bundle(deployed, b.files)) return cluster + " (recorded at line " + std::to_string(b.line) + ")";
    return std::nullopt;
  }

  void judge(const MeshPlan& mesh, const std::string& id, const fs::path& file) {
    const std::string shown = file.string();
    if (!fs::exists(status_of(file, ErrorKind::invalid_input))) {
      fail("deployed", id,
           "missing: no " + shown + " (kubectl get secret cacerts -n " + mesh.outputs.namespace_name + " -o yaml > " + shown + ")");
      return;
    }
    std::vector<verify::BundleSource> sources;
    try {
      sources = verify::load_bundle_sources(file);
    } catch (const Error& e) {
      fail("deployed", id, "hand-edited: " + shown + " is not a readable Secret: " + e.message());
      return;
    }
    if (sources.size() != 1) {
      fail("deployed", id, "hand-edited: " + shown + " holds " + std::to_string(sources.size()) + " Secrets, not one");
      return;
    }
    const auto& src = sources.front();
    if (!src.notes.empty()) {
      fail("deployed", id, "hand-edited: " + shown + ": " + src.notes.front());
      return;
    }
    const Deployed d = read_deployed(src);
    if (!d.ca) {
      fail("deployed", id, "hand-edited: " + shown + " holds no readable ca-cert.pem (is it the cacerts Secret?)");
      return;
    }
    const auto found = recorded_.find(id);
    static const ClusterRecord none{};
    const ClusterRecord& record = found == recorded_.end() ? none : found->second;
    const RecordedBundle* current = record.current();
    const std::string key = d.key_problem.empty() ? "" : "; and " + d.key_problem;
    if (current != nullptr && same_bundle(d.files, current->files)) {
      if (!d.key_problem.empty()) {
        fail("deployed", id, "hand-edited: " + shown + " holds the recorded certificates, but " + d.key_problem);
        return;
      }
      findings_.push_back({pki::Severity::pass, "deployed", id,
                           "equal: " + shown + " is the bundle the transcript recorded last (line " + std::to_string(current->line) +
                               "): CA serial " + pki::serial_hex(d.ca.get()) + ", key SPKI SHA-256 " +
                               pki::spki_sha256(X509_get0_pubkey(d.ca.get()))});
      return;
    }
    const RecordedBundle* match = nullptr;
    for (const auto& b : record.bundles)
      if (same_bundle(d.files, b.files)) match = &b;
    const Digests no_files;
    const Digests& now = current != nullptr ? current->files : no_files;
    if (match != nullptr) {
      fail("deployed", id,
           "stale: " + shown + " is the bundle recorded at line " + std::to_string(match->line) +
               ", since replaced (a renewal or a CRL refresh): it differs from OUT/" + id + " in " + differing_files(d.files, now) +
               "; apply OUT/" + id + "/" + ol::kSecretManifestFile + key);
      return;
    }
    if (!ours(d.ca.get(), id, d.files)) {
      fail("deployed", id,
           "foreign: the CA certificate in " + shown + " (" + pki::subject_string(d.ca.get()) + ", SHA-256 " +
               pki::sha256_fingerprint(d.ca.get()) +
               ") is not issued by this output's root and was never recorded by this transcript (another ceremony)" + key);
      return;
    }
    if (auto other = other_cluster(id, d.files)) {
      fail("deployed", id, "hand-edited: " + shown + " holds the bundle of " + *other + key);
      return;
    }
    fail("deployed", id,
         "hand-edited: " + shown + " chains to this output's root but matches no recorded bundle: differs from OUT/" + id + " in " +
             differing_files(d.files, now) + key);
  }

  const Plan& plan_;
  fs::path out_;
  fs::path deployed_;
  std::map<std::string, ClusterRecord> recorded_;
  std::vector<pki::X509Ptr> roots_;
  std::vector<AuditFinding> findings_;
};

}  // namespace

std::vector<AuditFinding> audit_deployed(const Plan& plan, const fs::path& out, const fs::path& deployed) {
  if (!fs::is_directory(status_of(deployed, ErrorKind::invalid_input))) {
    throw Error(ErrorKind::invalid_input, "is not a directory of deployed Secrets (DIR/<mesh>/<cluster>.yaml)", deployed.string());
  }
  return DeployedAuditor(plan, out, deployed).run();
}

}  // namespace meshca::ceremony
