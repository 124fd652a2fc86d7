// A cluster key that never crosses the air gap (docs/ceremony-runbook.md,
// "Keys that stay with the cluster").
//
// Near the cluster, create_cluster_csr() makes the cluster's key and its
// CSR (`meshca csr create`); the plan pins the key by the SHA-256 of its
// SubjectPublicKeyInfo (`intermediate.csr`), the room signs the public key
// and writes a public-only bundle (output_layout::KeyCustody::cluster), and
// near the cluster again assemble_bundle() completes that bundle with the
// key (`meshca bundle assemble`).
//
// Guarantees: nothing is ever overwritten; a key file is written 0600
// atomically and never printed; assemble_bundle() publishes the bundle
// (whole, by one rename) only after the key was found to be the pinned key
// of ca-cert.pem and the assembled bundle passed every check of `meshca
// verify`. Errors: invalid_input for a bad bundle, key or plan name; output
// for a path that exists or cannot be written; check_failed when the
// assembled bundle fails verification.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace meshca::ceremony {

inline constexpr const char* kClusterCsrFile = "ca.csr.pem";

struct CreatedCsr {
  std::filesystem::path key_file;  // DIR/ca-key.pem (0600)
  std::filesystem::path csr_file;  // DIR/ca.csr.pem
  pki::KeyAlgorithm algorithm;
  std::string spki_sha256;  // the pin for the plan, lowercase hex
};

// Makes the key of `mesh`/`cluster` with the plan's key algorithm and a CSR
// carrying the plan's subject (for the reader only: the plan decides every
// field of the certificate) into `dir` (created 0700 when missing).
CreatedCsr create_cluster_csr(const Plan& plan, const std::string& mesh, const std::string& cluster, const std::filesystem::path& dir);

struct AssembledBundle {
  std::filesystem::path dir;
  std::vector<std::string> files;  // relative paths, sorted
  std::size_t warnings = 0;        // WARN findings of the verification
};

// Completes the public-only bundle in `public_dir` with the private key in
// `key_file` into the new directory `out` (every layout the plan asked for
// and their manifests), then verifies it; `out` must not exist.
AssembledBundle assemble_bundle(const std::filesystem::path& public_dir, const std::filesystem::path& key_file,
                                const std::filesystem::path& out);

}  // namespace meshca::ceremony
