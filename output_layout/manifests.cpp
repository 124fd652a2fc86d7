#include "output_layout/manifests.hpp"

#include "output_layout/istio_cacerts.hpp"

namespace meshca::output_layout {
namespace {

void append_header(SecureBuffer& out, std::string_view comment, std::string_view api_version, std::string_view kind,
                   const ManifestMetadata& meta) {
  out.append("# " + std::string(comment) + "\n");
  out.append("apiVersion: " + std::string(api_version) + "\nkind: " + std::string(kind) + "\nmetadata:\n");
  out.append("  name: " + meta.name + "\n");
  if (!meta.namespace_name.empty()) out.append("  namespace: " + meta.namespace_name + "\n");
  auto map = [&](const char* key, const std::map<std::string, std::string>& entries) {
    if (entries.empty()) return;
    out.append(std::string("  ") + key + ":\n");
    for (const auto& [k, v] : entries) out.append("    " + k + ": \"" + v + "\"\n");
  };
  map("labels", meta.labels);
  map("annotations", meta.annotations);
}

}  // namespace

std::string literal_block_lines(std::string_view text, std::size_t indent) {
  std::string out;
  const std::string pad(indent, ' ');
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += pad + std::string(text.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return out;
}

SecureBuffer render_secret(std::string_view comment, const ManifestMetadata& meta, std::string_view type,
                           const ManifestData& data) {
  SecureBuffer out;
  append_header(out, comment, "v1", "Secret", meta);
  out.append("type: " + std::string(type) + "\ndata:\n");
  for (const auto& [key, bytes] : data) {
    std::string b64 = base64_encode(bytes);
    out.append("  " + key + ": ");
    out.append(b64);
    out.append("\n");
    cleanse(b64);
  }
  return out;
}

std::string render_config_map(std::string_view comment, const ManifestMetadata& meta, const ManifestData& data) {
  SecureBuffer out;
  append_header(out, comment, "v1", "ConfigMap", meta);
  out.append("data:\n");
  for (const auto& [key, text] : data) {
    // A literal block keeps every line and exactly one final newline, which
    // is what a PEM file ends with.
    out.append("  " + key + ": |\n" + literal_block_lines(text, 4));
  }
  return std::string(out.view());
}

std::string render_object(std::string_view comment, std::string_view api_version, std::string_view kind,
                          const ManifestMetadata& meta, std::string_view body) {
  SecureBuffer out;
  append_header(out, comment, api_version, kind, meta);
  out.append(body);
  return std::string(out.view());
}

}  // namespace meshca::output_layout
