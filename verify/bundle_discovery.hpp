// What a path named on the command line of `meshca verify`, `inspect` and
// `check-expiry` means: the one answer all three use.
//
//   a bundle directory            itself (istio cacerts or kubernetes.io/tls)
//   a root directory              itself, checked as a root CA: a directory
//                                 named `root` (meshca's OUT/root) or holding
//                                 root-crl.pem, with root-cert.pem and none
//                                 of a cluster bundle's files
//   any other directory           every bundle and root directory below it
//                                 (an OUT, a mesh directory), sorted; a
//                                 bundle directory is not searched further,
//                                 hidden entries (.meshca-tmp) and `retired/`
//                                 (bundles archived by a renewal, not in
//                                 service) are skipped with a note
//   a file                        a Secret manifest (one or more bundles), or,
//                                 for inspect and check-expiry, a PEM file; a
//                                 PEM file of a root directory (root-cert.pem,
//                                 root-crl.pem) means that root directory to
//                                 verify, once however many of its files are
//                                 named
// A path that names nothing (a directory with no bundle below it, a file
// that does not exist) is Error(invalid_input) naming it. Nothing is parsed
// as X.509 here.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "verify/bundle_source.hpp"

namespace meshca::verify {

// verify reads bundles; inspect and check-expiry read any certificate file.
enum class InputUse { bundles, certificates };

struct DiscoveredInputs {
  std::vector<BundleSource> sources;
  std::vector<std::string> notes;  // what was skipped and why
};

// Paths added one at a time, so a caller can report a bad path and go on
// with the others; a source named twice (a root directory by both its
// files, a bundle by a glob and by name) is read once.
class InputDiscovery {
 public:
  explicit InputDiscovery(InputUse use);
  ~InputDiscovery();
  InputDiscovery(const InputDiscovery&) = delete;
  InputDiscovery& operator=(const InputDiscovery&) = delete;

  // Error(invalid_input) naming the path when it names nothing.
  void add(const std::filesystem::path& path);
  DiscoveredInputs take();

 private:
  class Walk;
  std::unique_ptr<Walk> walk_;
};

// Every source the paths name, each at most once, in the order named;
// Error(invalid_input) when a path names nothing, or when every path was
// skipped ("nothing to check", with the notes).
DiscoveredInputs discover_inputs(const std::vector<std::string>& paths, InputUse use);

}  // namespace meshca::verify
