#include "output_layout/public_bundle.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/time.hpp"

namespace meshca::output_layout {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxDescriptor = std::size_t{64} * 1024;

// The value of a single-quoted scalar, or nullopt.
std::optional<std::string> unquoted(std::string_view v) {
  if (v.size() < 2 || v.front() != '\'' || v.back() != '\'') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < v.size(); ++i) {
    out += v[i];
    if (v[i] == '\'') ++i;  // '' stands for '
  }
  return out;
}

// A YAML single-quoted scalar.
std::string yaml_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The `crl` section: what the intermediate's CRL says, one revoked serial
// per line as a flow mapping.
std::string crl_section(const pki::CrlProfile& crl) {
  std::string out =
      "crl:\n"
      "  number: " +
      std::to_string(crl.number) +
      "\n"
      "  this_update: " +
      yaml_quoted(format_rfc3339(crl.this_update)) +
      "\n"
      "  next_update: " +
      yaml_quoted(format_rfc3339(crl.next_update)) + "\n";
  if (crl.entries.empty()) return out + "  revoked: []\n";
  out += "  revoked:\n";
  for (const auto& e : crl.entries) {
    out += "  - {serial: " + yaml_quoted(e.serial_hex) + ", revoked_at: " + yaml_quoted(format_rfc3339(e.revoked_at)) +
           ", reason: " + yaml_quoted(pki::revocation_reason_name(e.reason)) + "}\n";
  }
  return out;
}

// One revoked serial of the `crl` section ("{serial: 'A', revoked_at: ..., reason: ...}"),
// or nullopt when it is not in the form crl_section() writes.
std::optional<pki::RevokedSerial> revoked_entry(std::string_view item) {
  if (!item.starts_with('{') || !item.ends_with('}')) return std::nullopt;
  item = item.substr(1, item.size() - 2);
  std::map<std::string, std::string> fields;
  while (!item.empty()) {
    auto comma = item.find(", ");
    std::string_view field = item.substr(0, comma);
    auto colon = field.find(": ");
    if (colon == std::string_view::npos) return std::nullopt;
    auto value = unquoted(field.substr(colon + 2));
    if (!value) return std::nullopt;
    fields[std::string(field.substr(0, colon))] = *value;
    item = comma == std::string_view::npos ? std::string_view() : item.substr(comma + 2);
  }
  std::string error;
  auto when = parse_rfc3339(fields["revoked_at"], error);
  auto reason = pki::parse_revocation_reason(fields["reason"]);
  if (!when || !reason) return std::nullopt;
  return pki::RevokedSerial{fields["serial"], *when, *reason};
}

}  // namespace

std::string public_bundle_descriptor(const LayoutOptions& o, const std::optional<pki::CrlProfile>& crl, std::vector<CarriedFile> carried) {
  LayoutOptions full = assembled(o);
  std::string layouts, needs;
  for (Layout l : all_layouts())
    if (o.has(l)) layouts += (layouts.empty() ? "" : ", ") + std::string(layout_name(l));
  std::sort(carried.begin(), carried.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  auto is_carried = [&](const std::string& name) {
    return std::any_of(carried.begin(), carried.end(), [&](const CarriedFile& f) { return f.path == name; });
  };
  for (const auto& name : layout_file_names(full)) {
    if (name != kCaCertFile && name != kCertChainFile && name != kRootCertFile && !is_carried(name))
      needs += (needs.empty() ? "" : ", ") + name;
  }
  if (crl) needs += ", " + std::string(kCaCrlFile);
  std::string carried_section;
  for (const auto& file : carried) carried_section += "  " + file.path + ": " + yaml_quoted(file.sha256) + "\n";
  if (!carried_section.empty()) carried_section = "carried:\n" + carried_section;
  return "# A public-only bundle for mesh " + o.mesh + ", cluster " + o.cluster + " (made by meshca, plan " + o.plan_digest +
         ").\n"
         "# The cluster keeps its own key: this directory holds no private key and is not deployable as it is.\n"
         "# Where the key is, complete it (the key is checked against ca-cert.pem, the files under `needs` are\n"
         "# written, and the whole bundle is verified before anything is published):\n"
         "#   meshca bundle assemble <this directory> --key ca-key.pem --out <a new directory>\n" +
         std::string(crl ? "# It signs the intermediate's CRL below with the key: ca-crl.pem is that CRL followed by "
                           "chain-crls.pem.\n"
                         : "") +
         "kind: MeshcaPublicBundle\n"
         "version: 1\n"
         "mesh: " +
         yaml_quoted(o.mesh) +
         "\n"
         "cluster: " +
         yaml_quoted(o.cluster) +
         "\n"
         "trust_domain: " +
         yaml_quoted(o.trust_domain) +
         "\n"
         "plan_digest: " +
         yaml_quoted(o.plan_digest) +
         "\n"
         "key_spki_sha256: " +
         yaml_quoted(o.key_spki_sha256) +
         "\n"
         "layouts: [" +
         layouts +
         "]\n"
         "istio_namespace: " +
         yaml_quoted(o.istio_namespace) +
         "\n"
         "cert_manager:\n"
         "  kind: " +
         yaml_quoted(o.cert_manager.kind) +
         "\n"
         "  name: " +
         yaml_quoted(o.cert_manager.name) +
         "\n"
         "  namespace: " +
         yaml_quoted(o.cert_manager.namespace_name) +
         "\n"
         "spire_directory: " +
         yaml_quoted(o.spire_directory) +
         "\n"
         "needs: [" +
         needs + "]\n" + carried_section + (crl ? crl_section(*crl) : std::string());
}

PublicBundleDescriptor read_public_bundle_descriptor(const fs::path& dir) {
  const fs::path path = dir / kPublicBundleFile;
  return parse_public_bundle_descriptor(read_file(path, kMaxDescriptor), path);
}

PublicBundleDescriptor parse_public_bundle_descriptor(const std::string& text, const fs::path& path) {
  std::map<std::string, std::string> fields;
  std::vector<std::string_view> revoked;  // the items of crl.revoked
  std::string section;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("  - ")) {
      revoked.push_back(line.substr(4));
      continue;
    }
    auto colon = line.find(": ");
    bool nested = line.starts_with("  ");
    if (line.back() == ':' && !nested) {
      section = std::string(line.substr(0, line.size() - 1)) + ".";
      continue;
    }
    if (colon == std::string_view::npos) continue;  // the re-rendering below refuses what is not ours
    std::string key(line.substr(nested ? 2 : 0, colon - (nested ? 2 : 0)));
    fields[(nested ? section : "") + key] = std::string(line.substr(colon + 2));
  }
  LayoutOptions o;
  o.key_custody = KeyCustody::cluster;
  auto scalar = [&](const char* key) { return unquoted(fields[key]).value_or(""); };
  o.mesh = scalar("mesh");
  o.cluster = scalar("cluster");
  o.trust_domain = scalar("trust_domain");
  o.plan_digest = scalar("plan_digest");
  o.key_spki_sha256 = scalar("key_spki_sha256");
  o.istio_namespace = scalar("istio_namespace");
  o.cert_manager = {scalar("cert_manager.kind"), scalar("cert_manager.name"), scalar("cert_manager.namespace")};
  o.spire_directory = scalar("spire_directory");
  o.layouts.clear();
  std::string_view list = fields["layouts"];
  if (list.starts_with('[') && list.ends_with(']')) list = list.substr(1, list.size() - 2);
  while (!list.empty()) {
    auto comma = list.find(", ");
    std::string_view name = list.substr(0, comma);
    if (auto layout = parse_layout(name)) o.layouts.insert(*layout);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
  }
  std::optional<pki::CrlProfile> crl;
  bool crl_ok = true;
  if (fields.count("crl.number")) {
    crl.emplace();
    std::string error;
    auto this_update = parse_rfc3339(scalar("crl.this_update"), error);
    auto next_update = parse_rfc3339(scalar("crl.next_update"), error);
    crl_ok = this_update && next_update;
    crl->this_update = this_update.value_or(0);
    crl->next_update = next_update.value_or(0);
    crl->number = std::strtol(fields["crl.number"].c_str(), nullptr, 10);
    crl_ok &= crl->number > 0;
    for (auto item : revoked) {
      auto entry = revoked_entry(item);
      crl_ok &= entry.has_value();
      if (entry) crl->entries.push_back(std::move(*entry));
    }
  }
  std::vector<CarriedFile> carried;
  for (const auto& [key, value] : fields) {
    if (key.starts_with("carried.")) carried.push_back({key.substr(8), unquoted(value).value_or("")});
  }
  if (o.layouts.empty() || !crl_ok || fields["kind"] != "MeshcaPublicBundle" || public_bundle_descriptor(o, crl, carried) != text) {
    throw Error(ErrorKind::invalid_input,
                "is not a public-only bundle descriptor as meshca writes it (edited, damaged, or from another version); "
                "take the bundle directory as the ceremony wrote it",
                path.string());
  }
  return {std::move(o), std::move(crl), std::move(carried)};
}

}  // namespace meshca::output_layout
