#include "output_layout/public_bundle.hpp"

#include <map>

#include "core/error.hpp"
#include "core/files.hpp"

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

}  // namespace

std::string public_bundle_descriptor(const LayoutOptions& o) {
  LayoutOptions full = assembled(o);
  std::string layouts, needs;
  for (Layout l : all_layouts())
    if (o.has(l)) layouts += (layouts.empty() ? "" : ", ") + std::string(layout_name(l));
  for (const auto& name : layout_file_names(full)) {
    if (name != kCaCertFile && name != kCertChainFile && name != kRootCertFile) needs += (needs.empty() ? "" : ", ") + name;
  }
  return "# A public-only bundle for mesh " + o.mesh + ", cluster " + o.cluster + " (made by meshca, plan " + o.plan_digest +
         ").\n"
         "# The cluster keeps its own key: this directory holds no private key and is not deployable as it is.\n"
         "# Where the key is, complete it (the key is checked against ca-cert.pem, the files under `needs` are\n"
         "# written, and the whole bundle is verified before anything is published):\n"
         "#   meshca bundle assemble <this directory> --key ca-key.pem --out <a new directory>\n"
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
         needs + "]\n";
}

LayoutOptions read_public_bundle_descriptor(const fs::path& dir) {
  const fs::path path = dir / kPublicBundleFile;
  const std::string text = read_file(path, kMaxDescriptor);
  std::map<std::string, std::string> fields;
  std::string section;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
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
  if (o.layouts.empty() || fields["kind"] != "MeshcaPublicBundle" || public_bundle_descriptor(o) != text) {
    throw Error(ErrorKind::invalid_input,
                "is not a public-only bundle descriptor as meshca writes it (edited, damaged, or from another version); "
                "take the bundle directory as the ceremony wrote it",
                path.string());
  }
  return o;
}

}  // namespace meshca::output_layout
