#include "verify/bundle_source.hpp"

#include "core/yaml_documents.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "output_layout/public_bundle.hpp"
#include "pki/pem_scan.hpp"

namespace meshca::verify {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string>& istio_files() {
  static const std::vector<std::string> names{kCaCertFile, kCaKeyFile, kCertChainFile, kRootCertFile};
  return names;
}
const std::vector<std::string>& tls_files() {
  static const std::vector<std::string> names{kTlsCertFile, kTlsKeyFile, kTlsCaFile};
  return names;
}
std::vector<std::string> known_files() {
  std::vector<std::string> all = istio_files();
  all.insert(all.end(), tls_files().begin(), tls_files().end());
  all.emplace_back(kCaCrlFile);
  return all;
}

bool is_known(const std::string& name) {
  for (const auto& k : known_files())
    if (k == name) return true;
  return false;
}

std::vector<std::string> names_of(const std::map<std::string, BundleFile>& files) {
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const auto& [name, file] : files) out.push_back(name);
  return out;
}

// A Secret's values: `data` holds base64, `stringData` the text itself.
enum class SecretValues { base64, text };

// The known files of the Secret's field `field` into `src`, replacing what
// an earlier field gave.
void read_secret_field(const YAML::Node& secret, const std::string& field, SecretValues values, BundleSource& src) {
  const YAML::Node entries = secret[field];
  if (!entries || !entries.IsMap()) return;
  for (const auto& entry : entries) {
    std::string key = entry.first.as<std::string>("");
    if (!is_known(key)) continue;
    std::string entry_name = field;  // "data.ca-cert.pem"
    entry_name.append(".").append(key);
    BundleFile f;
    f.display = src.label;
    f.display.append(":").append(entry_name);
    std::string value = entry.second.IsScalar() ? entry.second.as<std::string>("") : std::string();
    if (values == SecretValues::text) {
      f.bytes.append(value);
    } else if (!pki::base64_decode(value, f.bytes)) {
      src.notes.push_back(entry_name + " is not valid base64");
      f.bytes.clear();
    }
    cleanse(value);
    src.files[key] = std::move(f);
  }
}

// One Secret node -> a BundleSource.
BundleSource secret_to_source(const YAML::Node& secret, const std::string& file_label) {
  BundleSource src;
  src.kind = "secret";
  std::string name = "?", ns = "default";
  if (secret["metadata"] && secret["metadata"].IsMap()) {
    if (secret["metadata"]["name"]) name = secret["metadata"]["name"].as<std::string>("?");
    if (secret["metadata"]["namespace"]) ns = secret["metadata"]["namespace"].as<std::string>("default");
  }
  src.label = file_label + "#" + ns + "/" + name;
  read_secret_field(secret, "data", SecretValues::base64, src);
  // stringData wins over data, as the API server merges them.
  read_secret_field(secret, "stringData", SecretValues::text, src);
  src.layout = detect_layout(names_of(src.files));
  return src;
}

// kubectl nests at most one List; YAML aliases could make a loop or an
// exponential fan-out, so depth and count are bounded.
constexpr int kMaxListDepth = 2;
constexpr std::size_t kMaxSecrets = 1000;

void collect_secrets(const YAML::Node& node, std::vector<YAML::Node>& out, int depth = 0) {
  if (!node || !node.IsMap()) return;
  std::string kind = node["kind"] ? node["kind"].as<std::string>("") : "";
  if (kind == "Secret") {
    if (out.size() >= kMaxSecrets) {
      throw Error(ErrorKind::invalid_input, "more than " + std::to_string(kMaxSecrets) + " Secrets in one manifest");
    }
    out.push_back(node);
  } else if (kind == "List" || kind == "SecretList") {
    if (depth >= kMaxListDepth) throw Error(ErrorKind::invalid_input, "Lists nested too deeply (or an alias loop)");
    if (node["items"] && node["items"].IsSequence())
      for (const auto& item : node["items"]) collect_secrets(item, out, depth + 1);
  }
}

std::vector<BundleSource> load_manifest_text(const std::string& text, const std::string& label) {
  std::vector<YAML::Node> secrets;
  try {
    for (const auto& doc : split_yaml_documents(text)) collect_secrets(YAML::Load(doc.text), secrets);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::invalid_input, std::string("not a PEM file and not valid YAML: ") + e.what(), label);
  }
  if (secrets.empty()) throw Error(ErrorKind::invalid_input, "no Kubernetes Secret found in the file", label);
  std::vector<BundleSource> out;
  out.reserve(secrets.size());
  for (const auto& s : secrets) out.push_back(secret_to_source(s, label));
  if (out.size() == 1) {
    // One Secret: name the bundle and its entries by the file alone.
    std::string prefix = out.front().label;
    out.front().label = label;
    for (auto& [name, f] : out.front().files)
      if (f.display.starts_with(prefix)) f.display = label + f.display.substr(prefix.size());
  }
  return out;
}

BundleSource load_directory(const fs::path& dir) {
  BundleSource src;
  src.kind = "directory";
  src.label = dir.string();
  const bool root = is_root_directory(dir);
  const std::vector<std::string> names = root ? std::vector<std::string>{kRootCertFile, kRootCrlFile, kIssuerChainFile} : known_files();
  for (const auto& name : names) {
    fs::path p = dir / name;
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    BundleFile f;
    f.display = p.string();
    try {
      std::string bytes = read_input_file(p);
      f.bytes.append(bytes);
      cleanse(bytes);
    } catch (const Error& e) {
      src.notes.push_back(name + ": " + e.message());
      continue;
    }
    src.files[name] = std::move(f);
  }
  if (root) {
    src.layout = BundleLayout::root_ca;
    return src;
  }
  src.layout = detect_layout(names_of(src.files));
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir / output_layout::kPublicBundleFile, ec))) {
    try {
      src.public_only_pin = output_layout::read_public_bundle_descriptor(dir).options.key_spki_sha256;
    } catch (const Error& e) {
      src.notes.push_back(std::string(output_layout::kPublicBundleFile) + ": " + e.message());
    }
  }
  if (fs::is_regular_file(dir / kSecretManifestFile, ec)) {
    src.has_manifest = true;
    try {
      std::string text = read_input_file(dir / kSecretManifestFile);
      auto manifests = load_manifest_text(text, (dir / kSecretManifestFile).string());
      cleanse(text);
      const BundleSource& m = manifests.front();
      for (const auto& [name, file] : src.files) {
        const BundleFile* other = m.file(name);
        if (other == nullptr || other->bytes.view() != file.bytes.view()) src.manifest_mismatches.push_back(name);
      }
      for (const auto& [name, file] : m.files)
        if (src.file(name) == nullptr) src.manifest_mismatches.push_back(name);
    } catch (const Error& e) {
      src.manifest_mismatches.push_back(std::string(kSecretManifestFile) + " (" + e.message() + ")");
    }
  }
  return src;
}

}  // namespace

std::string_view bundle_layout_name(BundleLayout layout) {
  switch (layout) {
    case BundleLayout::istio_cacerts:
      return "istio-cacerts";
    case BundleLayout::kubernetes_tls:
      return "kubernetes.io/tls";
    case BundleLayout::mixed:
      return "mixed";
    case BundleLayout::root_ca:
      return "root";
    case BundleLayout::none:
      return "none";
  }
  return "none";
}

const BundleFile* BundleSource::file(const std::string& name) const {
  auto it = files.find(name);
  return it == files.end() ? nullptr : &it->second;
}

BundleLayout detect_layout(const std::vector<std::string>& file_names) {
  bool istio = false, tls = false;
  for (const auto& n : file_names) {
    for (const auto& k : istio_files()) istio |= n == k;
    for (const auto& k : tls_files()) tls |= n == k;
  }
  if (istio && tls) return BundleLayout::mixed;
  if (tls) return BundleLayout::kubernetes_tls;
  if (istio) return BundleLayout::istio_cacerts;
  return BundleLayout::none;
}

bool is_root_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::exists(dir / kRootCertFile, ec)) return false;
  for (const auto& name : known_files())
    if (name != kRootCertFile && fs::exists(dir / name, ec)) return false;
  // "out/root/" names "root" too.
  fs::path normal = dir.lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  return normal.filename() == kRootDirectory || fs::exists(dir / kRootCrlFile, ec);
}

BundleSource pem_file_source(const fs::path& path, std::string bytes) {
  BundleSource src;
  src.label = path.string();
  src.kind = "file";
  BundleFile f;
  f.display = path.string();
  f.bytes.append(bytes);
  cleanse(bytes);
  src.files[path.filename().string()] = std::move(f);
  return src;
}

std::string read_input_file(const fs::path& path, std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorKind::invalid_input, "no such file or directory", path.string());
  if (!fs::is_regular_file(path, ec)) throw Error(ErrorKind::invalid_input, "not a regular file", path.string());
  auto size = fs::file_size(path, ec);
  if (ec) throw Error(ErrorKind::invalid_input, "cannot read: " + ec.message(), path.string());
  if (size > max_bytes) {
    throw Error(ErrorKind::invalid_input, "file is larger than " + std::to_string(max_bytes) + " bytes", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::invalid_input, "cannot open for reading", path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorKind::invalid_input, "read error", path.string());
  return bytes;
}

bool looks_like_secret_manifest(std::string_view text) {
  auto begin = text.find("-----BEGIN ");
  if (begin == std::string_view::npos) return true;
  // A PEM file may carry a little text before its first block; a manifest
  // carries "kind:" before any base64 or stringData block.
  auto kind = text.find("kind:");
  return kind != std::string_view::npos && kind < begin;
}

std::vector<BundleSource> load_bundle_sources(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<BundleSource> one;
    one.push_back(load_directory(path));
    return one;
  }
  std::string text = read_input_file(path);
  if (!looks_like_secret_manifest(text)) {
    cleanse(text);
    throw Error(ErrorKind::invalid_input,
                "a PEM file, not a bundle: name the bundle directory or its Secret manifest (meshca inspect reads "
                "single PEM files)",
                path.string());
  }
  auto out = load_manifest_text(text, path.string());
  cleanse(text);
  return out;
}

}  // namespace meshca::verify
