// `meshca audit OUT PLAN --deployed DIR`: are the `cacerts` Secrets running
// in the clusters the bundles this ceremony recorded? DIR holds what
//   kubectl get secret cacerts -n istio-system -o yaml > DIR/<mesh>/<cluster>.yaml
// printed for each cluster of the plan (verify/bundle_source reads it); no
// cluster is contacted. Each deployed Secret is compared, file by file
// (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem, ca-crl.pem, by
// SHA-256), with the bundles the transcript's closing records list for that
// cluster (ceremony/transcript: recorded_sessions), and judged one of:
//   equal        the bundle OUT holds now, as last recorded, and its key
//                belongs to its certificate (a cluster that keeps its own
//                key: the key matches the recorded certificate);
//   missing      no DIR/<mesh>/<cluster>.yaml;
//   stale        a bundle recorded earlier for this cluster (before a
//                renewal or a CRL refresh);
//   foreign      its CA certificate is not issued by this OUT's root and is
//                no certificate this transcript recorded (another ceremony);
//   hand-edited  chains to this root but differs from every recorded
//                bundle, its key does not match its certificate, or it is
//                not a readable single Secret.
// A file in DIR that names no cluster of the plan is reported too.
#pragma once

#include <filesystem>
#include <vector>

#include "ceremony/audit.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

// One finding (check "deployed") per cluster of the plan, in plan order,
// then one per stray file of `deployed`. Error(invalid_input) when
// `deployed` is not a directory.
std::vector<AuditFinding> audit_deployed(const Plan& plan, const std::filesystem::path& out, const std::filesystem::path& deployed);

}  // namespace meshca::ceremony
