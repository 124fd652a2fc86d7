#include "plan/adopted_ca.hpp"

#include <yaml-cpp/yaml.h>

#include <array>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/secure_buffer.hpp"
#include "pki/certificate.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "plan/field_readers.hpp"
#include "plan/plan_validate.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxAdoptedFile = std::size_t{1024} * 1024;

struct KindName {
  AdoptedCaKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 3> kKindNames{{{AdoptedCaKind::istiod_self_signed, "istiod-self-signed"},
                                              {AdoptedCaKind::istio_cacerts, "istio-cacerts"},
                                              {AdoptedCaKind::pem_root, "pem-root"}}};

[[noreturn]] void refuse(const fs::path& file, const std::string& message) {
  throw Error(ErrorKind::invalid_input, message, file.string());
}

std::vector<pki::X509Ptr> certificates_in(const std::string& pem, const fs::path& where) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) refuse(where, "holds no PEM certificate");
  return pki::certificates_from_pem(pem, where.string());
}

pki::X509Ptr one_certificate(const std::string& pem, const fs::path& where) {
  auto certs = certificates_in(pem, where);
  if (certs.size() != 1) refuse(where, "holds " + std::to_string(certs.size()) + " certificates; it must hold exactly one");
  return std::move(certs.front());
}

// The root the clusters trust: one self-signed CA certificate whose
// signature verifies and which is valid at `at`.
pki::X509Ptr checked_root(const std::string& pem, const fs::path& where, UnixTime at) {
  pki::X509Ptr root = one_certificate(pem, where);
  if (!pki::basic_constraints(root.get()).ca) {
    refuse(where, "holds " + pki::subject_string(root.get()) + ", which is not a CA certificate (no basicConstraints CA:TRUE)");
  }
  if (!pki::is_self_signed(root.get())) {
    refuse(where, "holds " + pki::subject_string(root.get()) + ", issued by " + pki::issuer_string(root.get()) +
                      ": not a self-signed root (adopt the root the clusters trust)");
  }
  if (auto verdict = pki::verify_chain(root.get(), {}, {root.get()}, at); !verdict.ok) {
    refuse(where, "holds a root that does not verify at the rotation time: " + verdict.error);
  }
  return root;
}

// `reads`: what the kind expects, for the refusal.
YAML::Node load_yaml(const std::string& text, const fs::path& file, const std::string& reads) {
  try {
    YAML::Node node = YAML::Load(text);
    if (node.IsMap()) return node;
  } catch (const YAML::Exception&) {
    // reported below: not the Kubernetes object the kind reads
  }
  refuse(file, "is not a YAML Kubernetes object; " + reads);
}

std::string kind_of(const YAML::Node& object) {
  const YAML::Node kind = object["kind"];
  return kind && kind.IsScalar() ? kind.Scalar() : "";
}

// data[key] of a ConfigMap or stringData[key] / base64 data[key] of a
// Secret; nullopt when absent. Only the keys asked for are decoded.
std::optional<std::string> object_entry(const YAML::Node& object, const std::string& key, bool secret, const fs::path& file) {
  if (secret) {
    const YAML::Node plain = object["stringData"];
    if (plain && plain.IsMap() && plain[key] && plain[key].IsScalar()) return plain[key].Scalar();
  }
  const YAML::Node data = object["data"];
  if (!data || !data.IsMap() || !data[key]) return std::nullopt;
  if (!data[key].IsScalar()) refuse(file, "data." + key + " is not a string");
  if (!secret) return data[key].Scalar();
  SecureBuffer decoded;
  if (!pki::base64_decode(data[key].Scalar(), decoded)) refuse(file, "data." + key + " is not valid base64");
  return std::string(decoded.view());
}

AdoptedCa istiod_root(const fs::path& file, UnixTime at) {
  const std::string reads = "kind istiod-self-signed reads the istio-ca-root-cert ConfigMap (kubectl get configmap -o yaml)";
  if (fs::is_directory(file)) refuse(file, "is a directory; " + reads);
  const YAML::Node object = load_yaml(read_file(file, kMaxAdoptedFile), file, reads);
  if (kind_of(object) != "ConfigMap") refuse(file, "is not a ConfigMap (kind: " + kind_of(object) + "); " + reads);
  auto pem = object_entry(object, "root-cert.pem", false, file);
  if (!pem) refuse(file, "has no data.root-cert.pem: not the istio-ca-root-cert ConfigMap istiod publishes");
  AdoptedCa ca;
  ca.root = checked_root(*pem, file / "data.root-cert.pem", at);
  ca.signing = pki::duplicate(ca.root.get());
  return ca;
}

// The three public files of a cacerts directory or Secret: ca-key.pem is
// never read.
struct CacertsFiles {
  std::string ca_cert, cert_chain, root_cert;
  fs::path ca_cert_at, cert_chain_at, root_cert_at;
};

CacertsFiles cacerts_directory(const fs::path& dir) {
  CacertsFiles files{{}, {}, {}, dir / "ca-cert.pem", dir / "cert-chain.pem", dir / "root-cert.pem"};
  for (auto [text, at] : {std::pair{&files.ca_cert, &files.ca_cert_at}, std::pair{&files.cert_chain, &files.cert_chain_at},
                          std::pair{&files.root_cert, &files.root_cert_at}}) {
    auto content = read_file_if_exists(*at, kMaxAdoptedFile);
    if (!content) refuse(*at, "does not exist: a tools/certs cacerts directory holds ca-cert.pem, cert-chain.pem and root-cert.pem");
    *text = std::move(*content);
  }
  return files;
}

CacertsFiles cacerts_secret(const fs::path& file) {
  const std::string reads = "kind istio-cacerts reads a cacerts directory or Secret YAML";
  const YAML::Node object = load_yaml(read_file(file, kMaxAdoptedFile), file, reads);
  if (kind_of(object) != "Secret") refuse(file, "is not a Secret (kind: " + kind_of(object) + "); " + reads);
  CacertsFiles files{{}, {}, {}, file / "data.ca-cert.pem", file / "data.cert-chain.pem", file / "data.root-cert.pem"};
  for (auto [text, key] : {std::pair{&files.ca_cert, "ca-cert.pem"}, std::pair{&files.cert_chain, "cert-chain.pem"},
                           std::pair{&files.root_cert, "root-cert.pem"}}) {
    auto content = object_entry(object, key, true, file);
    if (!content) refuse(file, std::string("has no ") + key + ": a cacerts Secret holds ca-cert.pem, cert-chain.pem and root-cert.pem");
    *text = std::move(*content);
  }
  return files;
}

AdoptedCa istio_cacerts(const fs::path& path, UnixTime at) {
  const CacertsFiles files = fs::is_directory(path) ? cacerts_directory(path) : cacerts_secret(path);
  AdoptedCa ca;
  ca.root = checked_root(files.root_cert, files.root_cert_at, at);
  ca.signing = one_certificate(files.ca_cert, files.ca_cert_at);
  if (!pki::basic_constraints(ca.signing.get()).ca) refuse(files.ca_cert_at, "is not a CA certificate (no basicConstraints CA:TRUE)");
  if (X509_cmp(ca.signing.get(), ca.root.get()) == 0) {
    refuse(files.ca_cert_at, "is the root itself; adopt it as kind istiod-self-signed or pem-root");
  }
  auto chain = certificates_in(files.cert_chain, files.cert_chain_at);
  if (X509_cmp(chain.front().get(), ca.signing.get()) != 0) refuse(files.cert_chain_at, "does not start with ca-cert.pem");
  std::vector<const X509*> untrusted;  // between ca-cert.pem and the root
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (X509_cmp(chain[i].get(), ca.root.get()) != 0) untrusted.push_back(chain[i].get());
  if (auto verdict = pki::verify_chain(ca.signing.get(), untrusted, {ca.root.get()}, at); !verdict.ok) {
    refuse(files.ca_cert_at, "does not verify (strict) through cert-chain.pem to root-cert.pem: " + verdict.error);
  }
  if (X509_cmp(chain.back().get(), ca.root.get()) != 0) refuse(files.cert_chain_at, "does not end with root-cert.pem");
  for (std::size_t i = 1; i < chain.size(); ++i) ca.chain.push_back(std::move(chain[i]));
  return ca;
}

AdoptedCa pem_root(const fs::path& file, UnixTime at) {
  if (fs::is_directory(file)) refuse(file, "is a directory; kind pem-root reads one PEM root certificate");
  const std::string text = read_file(file, kMaxAdoptedFile);
  if (text.find_first_not_of(" \t\r\n") != text.find("-----BEGIN CERTIFICATE-----")) {
    refuse(file, "is not a PEM certificate file; kind pem-root reads one PEM root certificate");
  }
  AdoptedCa ca;
  ca.root = checked_root(text, file, at);
  ca.signing = pki::duplicate(ca.root.get());
  return ca;
}

}  // namespace

std::string_view adopted_ca_kind_name(AdoptedCaKind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  return "?";
}

std::optional<AdoptedCaKind> adopted_ca_kind_from_name(std::string_view name) {
  for (const auto& k : kKindNames)
    if (k.name == name) return k.kind;
  return std::nullopt;
}

std::string adopted_ca_kind_names() { return "istiod-self-signed, istio-cacerts or pem-root"; }

std::vector<const X509*> AdoptedCa::chain_view() const {
  std::vector<const X509*> out;
  for (const auto& c : chain) out.push_back(c.get());
  return out;
}

AdoptedCa read_adopted_ca(AdoptedCaKind kind, const fs::path& path, UnixTime at) {
  if (!fs::exists(symlink_status_of(path, ErrorKind::invalid_input))) refuse(path, "does not exist");
  switch (kind) {
    case AdoptedCaKind::istiod_self_signed:
      return istiod_root(path, at);
    case AdoptedCaKind::istio_cacerts:
      return istio_cacerts(path, at);
    case AdoptedCaKind::pem_root:
      return pem_root(path, at);
  }
  throw Error(ErrorKind::internal, "unknown adopted CA kind");
}

fs::path adopted_ca_path(const AdoptedCaPlan& ca, const fs::path& base_dir) {
  return (ca.path.is_relative() ? base_dir / ca.path : ca.path).lexically_normal();
}

namespace {

// "" when `ca`'s root is the one the plan pins.
std::string pin_problem(const AdoptedCa& ca, const AdoptedCaPlan& plan) {
  const std::string found = pki::sha256_fingerprint(ca.root.get());
  if (found == plan.sha256) return {};
  return "holds the root " + found +
         ", not the one rotation.current_ca.sha256 pins; the file was replaced or the pin was copied wrong (pins are approved "
         "with the plan)";
}

}  // namespace

AdoptedCa read_pinned_adopted_ca(const AdoptedCaPlan& ca, const fs::path& base_dir, UnixTime at) {
  const fs::path path = adopted_ca_path(ca, base_dir);
  AdoptedCa adopted = read_adopted_ca(ca.kind, path, at);
  if (auto problem = pin_problem(adopted, ca); !problem.empty()) throw Error(ErrorKind::invalid_input, problem, path.string());
  return adopted;
}

void check_adopted_ca(const AdoptedCaSection& section, const fs::path& base_dir, Findings& findings, UnixTime at) {
  const fs::path path = adopted_ca_path(section.plan, base_dir);
  try {
    const AdoptedCa ca = read_adopted_ca(section.plan.kind, path, at);
    if (auto problem = pin_problem(ca, section.plan); !problem.empty()) {
      findings.add(section.sha256_at, "rotation.current_ca.sha256", path.string() + ": " + problem);
    }
  } catch (const Error& e) {
    findings.add(section.path_at, "rotation.current_ca.path", e.what());
  }
}

}  // namespace meshca::ceremony
