// The public-only bundle of a cluster that keeps its own key
// (LayoutOptions::key_custody == KeyCustody::cluster): its descriptor,
// public-bundle.yaml, beside ca-cert.pem, cert-chain.pem and root-cert.pem.
//
// The descriptor records what the plan decided for the bundle (mesh,
// cluster, trust domain, plan digest, the pinned key's SPKI SHA-256, the
// layouts and their options) and lists under `needs` every file `meshca
// bundle assemble` adds with the key. It is rendered from LayoutOptions
// alone, byte for byte the same each time, so reading one back is parsing
// it and rendering the result again: anything that does not come out the
// same was not written by meshca (or was edited) and is refused.
#pragma once

#include <filesystem>
#include <string>

#include "output_layout/layouts.hpp"

namespace meshca::output_layout {

inline constexpr const char* kPublicBundleFile = "public-bundle.yaml";

// The descriptor of a public-only bundle with `options`.
std::string public_bundle_descriptor(const LayoutOptions& options);

// The layout options `dir`/public-bundle.yaml records (KeyCustody::cluster;
// assembled() gives what `bundle assemble` writes). Error(invalid_input)
// naming the file when it is not a descriptor meshca wrote, byte for byte.
LayoutOptions read_public_bundle_descriptor(const std::filesystem::path& dir);

}  // namespace meshca::output_layout
