// Kubernetes manifests as meshca writes them: one document, keys in a fixed
// order, `data` base64 as `kubectl create secret ... -o yaml` prints it (so
// the decoded values are exactly the files), ConfigMap values as literal
// block scalars. Secrets are built in a SecureBuffer: they hold a key.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/secure_buffer.hpp"

namespace meshca::output_layout {

struct ManifestMetadata {
  std::string name;
  std::string namespace_name;  // "" for cluster-scoped objects
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

using ManifestData = std::vector<std::pair<std::string, std::string_view>>;  // key -> raw bytes, in order

// The lines of `text`, each indented by `indent` spaces: the body of a YAML
// literal block scalar ("key: |"), which keeps every line and exactly one
// final newline, which is what a PEM file ends with.
std::string literal_block_lines(std::string_view text, std::size_t indent);

// `comment` is one line without '#'; `type` e.g. "Opaque", "kubernetes.io/tls".
SecureBuffer render_secret(std::string_view comment, const ManifestMetadata& meta, std::string_view type,
                           const ManifestData& data);
std::string render_config_map(std::string_view comment, const ManifestMetadata& meta, const ManifestData& data);
// Any object: apiVersion, kind, metadata, then `body` (already indented YAML, "spec:\n  ...").
std::string render_object(std::string_view comment, std::string_view api_version, std::string_view kind,
                          const ManifestMetadata& meta, std::string_view body);

}  // namespace meshca::output_layout
