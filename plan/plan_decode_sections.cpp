// Decoding of the plan's root, key, outputs, rotation and revocation
// sections (stage one of plan reading, plan_decode.hpp).
#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "core/secret_shares.hpp"
#include "hsm/pkcs11_uri.hpp"
#include "plan/adopted_ca.hpp"
#include "plan/field_readers.hpp"
#include "plan/plan_decode.hpp"
#include "plan/plan_reader.hpp"
#include "plan/readable_text.hpp"

namespace meshca::ceremony {
namespace {

// `custodians: [name, ...]`: DNS-1123 labels (they name share files), no
// name twice, at most kMaxCustodians (every subset is test-combined).
// nullopt after a finding.
std::optional<std::vector<std::string>> read_custodians(MapReader& s) {
  std::vector<std::string> names;
  const auto list = s.required("custodians");
  if (!list) return std::nullopt;
  if (!list->IsSequence() || list->size() < kMinShareThreshold || list->size() > kMaxCustodians) {
    s.error("custodians",
            "must be a list of " + std::to_string(kMinShareThreshold) + " to " + std::to_string(kMaxCustodians) + " custodian names");
    return std::nullopt;
  }
  bool ok = true;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const YAML::Node item = (*list)[i];
    const std::string field = index_path(s.field("custodians"), i);
    if (!item.IsScalar() || !is_dns1123_label(item.Scalar())) {
      const std::string shown = item.IsScalar() ? "'" + escape_unreadable(item.Scalar(), false) + "' " : "the custodian ";
      s.findings().add(location_of(s.findings(), item), field, shown + kDnsLabelRule);
      ok = false;
    } else if (std::find(names.begin(), names.end(), item.Scalar()) != names.end()) {
      s.findings().add(location_of(s.findings(), item), field, "custodian " + item.Scalar() + " is named twice");
      ok = false;
    } else {
      names.push_back(item.Scalar());
    }
  }
  if (!ok) return std::nullopt;
  return names;
}

std::optional<SecretRef> read_secret(MapReader& m, const std::string& key, bool shares_allowed,
                                     std::optional<SecretRef>* initial = nullptr);

// `KEY: {shares: {threshold: M, custodians: [...]}}`: a secret meshca makes
// and splits among custodians (core/secret_shares.hpp). Where `initial` is
// given (a token's PIN, which the token already has), also `initial: REF`,
// where the secret meshca replaces comes from.
std::optional<SecretRef> read_share_custody(MapReader& m, const std::string& key, std::optional<SecretRef>* initial) {
  MapReader outer(m.findings(), m.get(key), m.field(key),
                  initial != nullptr ? std::vector<std::string>{"shares", "initial"} : std::vector<std::string>{"shares"});
  if (!outer.valid()) return std::nullopt;
  if (initial != nullptr && outer.has("initial")) *initial = read_secret(outer, "initial", /*shares_allowed=*/false);
  const auto node = outer.required("shares");
  if (!node) return std::nullopt;
  MapReader s(m.findings(), *node, outer.field("shares"), {"threshold", "custodians"});
  if (!s.valid()) return std::nullopt;
  const auto threshold = s.integer("threshold", static_cast<int>(kMinShareThreshold), static_cast<int>(kMaxCustodians));
  if (!s.has("threshold")) s.required("threshold");
  auto custodians = read_custodians(s);
  if (!threshold || !custodians) return std::nullopt;
  ShareCustody custody{static_cast<unsigned>(*threshold), std::move(*custodians)};
  if (custody.threshold > custody.custodians.size()) {
    s.error("threshold", "is " + std::to_string(custody.threshold) + " but only " + std::to_string(custody.custodians.size()) +
                             " custodians are named; the secret could never be recovered");
    return std::nullopt;
  }
  return SecretRef(std::move(custody));
}

// A secret reference (env:NAME, file:PATH, prompt) or, where
// `shares_allowed`, a share custody mapping (with `initial` when given).
std::optional<SecretRef> read_secret(MapReader& m, const std::string& key, bool shares_allowed, std::optional<SecretRef>* initial) {
  if (m.has(key) && m.get(key).IsMap()) {
    if (shares_allowed) return read_share_custody(m, key, initial);
    m.error(key, "cannot be held as custodians' shares; name where this secret comes from (env:NAME, file:PATH or prompt)");
    return std::nullopt;
  }
  auto text = m.string(key, false);
  if (!text) return std::nullopt;
  try {
    return SecretRef::parse(*text);
  } catch (const Error& e) {
    m.error(key, e.message());
    return std::nullopt;
  }
}

void decode_file_key(const YAML::Node& node, const std::string& path, hsm::FileKeyRef& file, Findings& f) {
  MapReader m(f, node, path, {"path", "passphrase"});
  if (auto key_path = m.string("path", true)) file.path = *key_path;
  if (auto secret = read_secret(m, "passphrase", /*shares_allowed=*/true)) file.passphrase = *secret;
}

void decode_pkcs11_uri(MapReader& m, hsm::Pkcs11KeyRef& ref) {
  auto uri = m.string("uri", false);
  if (!uri) return;
  try {
    // The URI parser's own hint names the hsm commands' --pin-source,
    // which the commands that read a plan do not have.
    if (uri->find("pin-value=") != std::string::npos) {
      throw Error(ErrorKind::invalid_input,
                  "PIN values are not accepted in URIs (pin-value=); remove it and name where the PIN comes from "
                  "in " +
                      m.field("pin") + " (env:NAME, file:PATH or prompt) or with pin-source=file:PATH in the URI");
    }
    ref = hsm::parse_pkcs11_uri(*uri);
  } catch (const Error& e) {
    m.error("uri", e.message());
  }
}

// What a PKCS#11 reference must name, whether from fields or the URI.
void check_pkcs11_complete(MapReader& m, const hsm::Pkcs11KeyRef& ref) {
  Findings& f = m.findings();
  if (ref.module.empty()) {
    f.add(m.at(), m.field("module"), "missing required field (or module-path in uri)");
  } else if (!ref.module.starts_with("/")) {
    f.add(m.has("module") ? m.at("module") : m.at(), m.field("module"),
          "must be an absolute path (a bare name would be searched for in the library path)");
  }
  if (ref.token.empty() && ref.serial.empty()) {
    f.add(m.at(), m.field("token"), "missing required field: name the token by label (token) or serial (never by slot number)");
  }
  if (ref.label.empty() && ref.id_hex.empty()) f.add(m.at(), m.field("label"), "missing required field (or id)");
}

void decode_pkcs11_key(const YAML::Node& node, const std::string& path, hsm::Pkcs11KeyRef& ref, Findings& f) {
  MapReader m(f, node, path, {"uri", "module", "token", "serial", "label", "id", "pin", "init_args", "require"});
  if (!m.valid()) return;
  decode_pkcs11_uri(m, ref);
  if (auto v = m.string("module", false)) ref.module = *v;
  if (auto v = m.string("token", false)) ref.token = *v;
  if (auto v = m.string("serial", false)) ref.serial = *v;
  if (auto v = m.string("label", false)) ref.label = *v;
  if (auto v = m.string("id", false)) {
    bool hex = v->size() % 2 == 0 && std::all_of(v->begin(), v->end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (!hex) m.error("id", "must be an even number of hex digits (the key's CKA_ID)");
    ref.id_hex = *v;
  }
  if (auto secret = read_secret(m, "pin", /*shares_allowed=*/true, &ref.initial_pin)) ref.pin = *secret;
  if (auto v = m.string("init_args", false)) ref.init_args = *v;
  if (auto v = m.string("require", false)) {
    if (*v != "signing-only") m.error("require", "'" + *v + "' is not a requirement; the one known is signing-only");
    ref.require_signing_only = true;
  }
  check_pkcs11_complete(m, ref);
}

void decode_root_key(const YAML::Node& node, const std::string& path, RootSection& root, Findings& f) {
  MapReader m(f, node, path, {"algorithm", "store", "pkcs11", "file"});
  if (!m.valid()) return;
  if (auto alg = read_algorithm(m)) root.key.algorithm = *alg;
  root.algorithm_at = m.at("algorithm");
  auto store = m.string("store", true);
  if (!store) return;
  if (*store == "file") {
    root.key.kind = hsm::KeyStoreKind::file;
    if (m.has("pkcs11")) m.error("pkcs11", "not allowed with store: file");
    if (auto file = m.required("file")) decode_file_key(*file, m.field("file"), root.key.file, f);
  } else if (*store == "pkcs11") {
    root.key.kind = hsm::KeyStoreKind::pkcs11;
    if (m.has("file")) m.error("file", "not allowed with store: pkcs11");
    if (auto p = m.required("pkcs11")) decode_pkcs11_key(*p, m.field("pkcs11"), root.key.pkcs11, f);
  } else {
    m.error("store", "'" + *store + "' is not a key store; use pkcs11 or file");
  }
}

void decode_root_subject(MapReader& m, RootSection& root) {
  auto s = m.required("subject");
  if (!s) return;
  std::vector<std::pair<std::string, std::string>> attrs;
  for (const auto& [attr, value] : read_subject(*s, m.field("subject"), m.findings(), false)) attrs.emplace_back(attr, value.text);
  // A CN that is present but refused is reported once, as refused.
  if (s->IsMap() && !(*s)["CN"]) m.findings().add(location_of(m.findings(), *s), m.field("subject.CN"), "missing required field");
  root.subject = pki::DistinguishedName::canonical(attrs);
}

std::vector<std::string> layout_names_text() {
  std::vector<std::string> names;
  for (auto layout : output_layout::all_layouts()) names.emplace_back(output_layout::layout_name(layout));
  return names;
}

std::optional<std::vector<output_layout::Layout>> decode_layouts(const YAML::Node& layouts, const std::string& path, Findings& f) {
  if (!layouts.IsSequence() || layouts.size() == 0) {
    f.add(location_of(f, layouts), path, "must be a non-empty list");
    return std::nullopt;
  }
  const auto all = layout_names_text();
  std::string known;
  for (std::size_t i = 0; i < all.size(); ++i) known += (i == 0 ? "" : i + 1 == all.size() ? " and " : ", ") + all[i];
  using output_layout::Layout;
  std::vector<Layout> out;
  for (std::size_t i = 0; i < layouts.size(); ++i) {
    const YAML::Node item = layouts[i];
    const auto layout = item.IsScalar() ? output_layout::parse_layout(item.Scalar()) : std::nullopt;
    if (!layout) {
      f.add(location_of(f, item), index_path(path, i), "unknown layout; this version writes " + known);
    } else if (std::find(out.begin(), out.end(), *layout) != out.end()) {
      f.add(location_of(f, item), index_path(path, i), "duplicate layout");
    } else {
      out.push_back(*layout);
    }
  }
  auto has = [&out](Layout layout) { return std::find(out.begin(), out.end(), layout) != out.end(); };
  if (has(Layout::k8s_secret) && !has(Layout::istio_cacerts) && !has(Layout::istio_tls)) {
    f.add(location_of(f, layouts), path,
          "must include istio-cacerts (the bundle files) or istio-tls: k8s-secret only adds the Secret manifest of one of them");
  }
  return out;
}

std::optional<std::string> read_label_field(MapReader& m, const std::string& key) {
  auto v = m.string(key, false);
  if (v && !is_dns1123_label(*v)) m.error(key, "'" + *v + "' " + kDnsLabelRule);
  return v;
}

void decode_cert_manager(MapReader& cm, OutputsSection& out) {
  if (auto kind = cm.string("kind", false)) {
    if (*kind != "Issuer" && *kind != "ClusterIssuer") cm.error("kind", "'" + *kind + "' is not Issuer or ClusterIssuer");
    out.cert_manager_kind = *kind;
  }
  out.cert_manager_name = read_label_field(cm, "name");
  out.cert_manager_namespace = read_label_field(cm, "namespace");
}

void decode_spire(MapReader& sp, OutputsSection& out) {
  auto dir = sp.string("directory", false);
  if (!dir) return;
  bool plain = std::none_of(dir->begin(), dir->end(), [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
  if (!dir->starts_with("/") || dir->size() < 2 || dir->ends_with("/") || !plain) {
    sp.error("directory",
             "must be an absolute path on the SPIRE server, without a trailing '/', quotes, backslashes or control characters");
  }
  out.spire_directory = *dir;
}

}  // namespace

namespace {

// `issuer: self|external` and, with external, `external.anchor_sha256`:
// the corporate CA certifies the root (ceremony/external_root.hpp).
void decode_root_issuer(MapReader& m, RootSection& root) {
  root.issuer_at = m.present("issuer") ? m.at("issuer") : m.at();
  if (auto issuer = m.string("issuer", false)) {
    if (*issuer == "external") {
      root.issuer = RootIssuer::external;
    } else if (*issuer != "self") {
      m.error("issuer", "'" + *issuer + "' is not a root issuer; use self (meshca signs the root) or external (the corporate CA does)");
    }
  }
  if (root.issuer != RootIssuer::external) {
    if (m.has("external")) m.error("external", "only with issuer: external");
    return;
  }
  auto ext = m.required("external");
  if (!ext) return;
  MapReader e(m.findings(), *ext, m.field("external"), {"anchor_sha256"});
  if (!e.valid()) return;
  if (auto pin = e.string("anchor_sha256", true)) {
    root.anchor_sha256 = normalized_sha256_fingerprint(*pin);
    if (root.anchor_sha256.empty()) {
      e.error("anchor_sha256",
              "must be the SHA-256 fingerprint of the corporate trust anchor (64 hex digits, colons allowed), as `openssl x509 "
              "-noout -fingerprint -sha256` or `meshca inspect` prints it");
    }
  }
}

}  // namespace

std::string normalized_sha256_fingerprint(std::string_view text) {
  const auto bytes = from_hex(text);
  if (!bytes || bytes->size() != 32) return {};
  return to_hex_colons(*bytes);
}

RootSection decode_root(const YAML::Node& node, const std::string& path, Findings& f, UnixTime now) {
  MapReader m(f, node, path, {"subject", "key", "validity", "not_before", "not_after", "path_len", "issuer", "external"});
  RootSection root;
  root.path = path;
  root.at = root.subject_at = root.key_at = m.at();
  if (!m.valid()) return root;
  if (m.present("subject")) root.subject_at = m.at("subject");
  if (m.present("key")) root.key_at = m.at("key");
  decode_root_subject(m, root);
  if (auto k = m.required("key")) decode_root_key(*k, m.field("key"), root, f);
  if (auto v = read_validity(m, true, now)) root.validity = *v;
  root.path_len = m.integer("path_len", 0, kMaxPathLen).value_or(1);
  root.path_len_given = m.has("path_len");
  root.path_len_written = m.present("path_len");
  root.path_len_at = m.at("path_len");
  decode_root_issuer(m, root);
  if (m.has("path_len") && root.path_len.value_or(1) < 1) {
    m.error("path_len", "0 forbids the per-cluster intermediate CAs below the root; use 1 (or more)");
  }
  return root;
}

OutputsSection decode_outputs(const YAML::Node& node, const std::string& path, Findings& f) {
  MapReader m(f, node, path, {"layouts", "namespace", "cert_manager", "spire"});
  OutputsSection out;
  if (!m.valid()) return out;
  if (m.has("layouts")) out.layouts = decode_layouts(m.get("layouts"), m.field("layouts"), f);
  out.namespace_name = read_label_field(m, "namespace");
  if (m.has("cert_manager")) {
    MapReader cm(f, m.get("cert_manager"), m.field("cert_manager"), {"kind", "name", "namespace"});
    decode_cert_manager(cm, out);
  }
  if (m.has("spire")) {
    MapReader sp(f, m.get("spire"), m.field("spire"), {"directory"});
    decode_spire(sp, out);
  }
  return out;
}

namespace {

// `rotation.current_ca`: kind, path and the root's SHA-256 pin, all
// required; the trust domain of the workloads it signs, optional.
std::optional<AdoptedCaSection> decode_current_ca(const YAML::Node& node, Findings& f) {
  MapReader m(f, node, "rotation.current_ca", {"kind", "path", "sha256", "trust_domain"});
  if (!m.valid()) return std::nullopt;
  AdoptedCaSection ca{{}, m.at(), m.at("path"), m.at("sha256"), m.at("trust_domain")};
  bool complete = true;
  if (auto kind = m.string("kind", true)) {
    if (auto known = adopted_ca_kind_from_name(*kind)) {
      ca.plan.kind = *known;
    } else {
      m.error("kind", "unknown kind '" + *kind + "'; one of " + adopted_ca_kind_names());
      complete = false;
    }
  } else {
    complete = false;
  }
  if (auto path = m.string("path", true)) {
    ca.plan.path = *path;
  } else {
    complete = false;
  }
  if (auto pin = m.string("sha256", true)) {
    ca.plan.sha256 = normalized_sha256_fingerprint(*pin);
    if (ca.plan.sha256.empty()) {
      m.error("sha256",
              "must be the SHA-256 fingerprint of the adopted root certificate (64 hex digits, colons allowed), as "
              "`meshca inspect` prints it");
      complete = false;
    }
  } else {
    complete = false;
  }
  if (auto td = m.string("trust_domain", false)) {
    // Refused, but the CA is still adopted: no findings that would follow
    // from a plan without current_ca.
    if (std::string problem = trust_domain_problem(*td); !problem.empty()) m.error("trust_domain", problem);
    ca.plan.trust_domain = *td;
  }
  if (!complete) return std::nullopt;
  return ca;
}

}  // namespace

std::optional<RotationSection> decode_rotation(const YAML::Node& node, Findings& f, UnixTime now) {
  MapReader m(f, node, "rotation", {"current_output", "current_ca", "current_root_sha256", "new_root", "cross_sign"});
  if (!m.valid()) return std::nullopt;
  RotationSection rotation;
  const bool adopting = m.present("current_ca");
  if (adopting && m.present("current_output")) {
    m.error("current_ca", "names the CA the mesh runs, and current_output names a meshca output: a rotation starts from one of them");
  } else if (adopting) {
    if (m.has("current_ca")) {
      rotation.current_ca = decode_current_ca(m.get("current_ca"), f);
    } else {
      m.error("current_ca", "must give the adopted CA's kind, path and sha256");
    }
  } else if (auto dir = m.string("current_output", true)) {
    rotation.current_output = *dir;
  }
  if (auto pin = m.string("current_root_sha256", false)) {
    rotation.current_root_sha256 = normalized_sha256_fingerprint(*pin);
    if (adopting) {
      m.error("current_root_sha256", "is for a current_output; an adopted CA is pinned by rotation.current_ca.sha256");
    } else if (rotation.current_root_sha256.empty()) {
      m.error("current_root_sha256",
              "must be the SHA-256 fingerprint of the current root (64 hex digits, colons allowed), as `meshca inspect` prints it");
    }
  }
  rotation.cross_sign = m.boolean("cross_sign").value_or(false);
  rotation.cross_sign_at = m.at("cross_sign");
  if (adopting && rotation.cross_sign) {
    m.error("cross_sign",
            "cannot cross-sign from an adopted CA: its key never comes to the room, so it cannot certify the new root. Set "
            "cross_sign: false: phase 1 trusts both roots, so no two adjacent phases stop talking");
  }
  if (auto r = m.required("new_root")) rotation.new_root = decode_root(*r, m.field("new_root"), f, now);
  return rotation;
}

std::optional<RevocationSection> decode_revocation(const YAML::Node& node, Findings& f, UnixTime now) {
  MapReader m(f, node, "revocation", {"crl", "next_update"});
  RevocationSection revocation{{}, m.present("crl") ? m.at("crl") : m.at()};
  if (!m.valid()) return revocation;
  revocation.plan.crl = m.boolean("crl").value_or(false);
  auto text = m.string("next_update", false);
  if (!text) return revocation;
  std::string error;
  auto duration = parse_duration(*text, error);
  if (!duration) {
    m.error("next_update", error);
    return revocation;
  }
  const std::int64_t seconds = add_duration(now, *duration) - now;
  constexpr std::int64_t kHour = 3600, kYear = std::int64_t{366} * 86400;
  if (seconds < kHour || seconds > kYear) {
    m.error("next_update", "must be between 1h and 1y: peers refuse a stale CRL, so `meshca crl refresh` must run before it passes");
    return revocation;
  }
  revocation.plan.next_update = *duration;
  return revocation;
}

}  // namespace meshca::ceremony
