#include "verify/cross_cluster.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "pki/verify.hpp"
#include "verify/verify_checks.hpp"

namespace meshca::verify {

bool accepts_workloads(const TrustMaterial& peer, const TrustMaterial& bundle) {
  std::vector<const X509*> untrusted;
  for (const auto& c : bundle.chain) untrusted.push_back(c.get());
  std::vector<const X509*> roots;
  for (const auto& r : peer.roots) roots.push_back(r.get());
  return pki::verify_chain(bundle.ca_cert.get(), untrusted, roots, std::max(peer.at, bundle.at)).ok;
}

std::vector<TrustPair> cross_cluster_trust(const std::vector<BundleReport>& reports) {
  // Bundles of one fleet share a handful of root sets. A verdict depends on
  // the peer's roots and the bundle, so it is computed once per (root set,
  // bundle); the roots two bundles share, once per pair of root sets.
  const std::size_t n = reports.size();
  std::vector<std::size_t> set_of(n);
  {
    std::map<std::vector<std::string>, std::size_t> ids;
    for (std::size_t i = 0; i < n; ++i) set_of[i] = ids.emplace(reports[i].trusted_root_fingerprints, ids.size()).first->second;
  }
  std::unordered_map<std::size_t, bool> verdicts;  // key: root set * n + bundle
  auto accepted = [&](std::size_t peer, std::size_t bundle) {
    auto [it, added] = verdicts.emplace(set_of[peer] * n + bundle, false);
    if (added) it->second = accepts_workloads(*reports[peer].trust, *reports[bundle].trust);
    return it->second;
  };
  std::map<std::pair<std::size_t, std::size_t>, std::shared_ptr<const SharedRoots>> shared;
  auto shared_roots = [&](std::size_t a, std::size_t b) {
    auto& entry = shared[{set_of[a], set_of[b]}];
    if (!entry) {
      auto roots = std::make_shared<SharedRoots>();
      const auto& theirs = reports[b].trusted_root_fingerprints;
      for (std::size_t k = 0; k < reports[a].trusted_root_fingerprints.size(); ++k) {
        const std::string& fp = reports[a].trusted_root_fingerprints[k];
        if (std::find(theirs.begin(), theirs.end(), fp) == theirs.end()) continue;
        roots->subjects.push_back(reports[a].trusted_root_subjects[k]);
        roots->fingerprints.push_back(fp);
      }
      entry = std::move(roots);
    }
    return entry;
  };
  std::vector<TrustPair> out;
  out.reserve(n < 2 ? 0 : n * (n - 1) / 2);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const auto& a = reports[i];
      const auto& b = reports[j];
      if (!a.trust || !b.trust) continue;
      TrustPair p;
      p.a = i;
      p.b = j;
      p.a_accepts_b = accepted(i, j);
      p.b_accepts_a = accepted(j, i);
      p.shared = shared_roots(i, j);
      p.must_talk = a.trust_domain_claimed && b.trust_domain_claimed && a.trust_domain == b.trust_domain;
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::string root_name(const std::string& subject, const std::string& fingerprint) {
  return (subject.empty() ? std::string("(empty subject)") : subject) + " [SHA-256 " + fingerprint + "]";
}

std::string shared_roots_text(const SharedRoots& roots) {
  std::string text;
  for (std::size_t i = 0; i < roots.subjects.size(); ++i) {
    text += (text.empty() ? "" : "; ") + root_name(roots.subjects[i], roots.fingerprints[i]);
  }
  return text;
}

std::string describe_trust_pair(const std::vector<BundleReport>& reports, const TrustPair& p) {
  const auto& a = reports[p.a];
  const auto& b = reports[p.b];
  const std::string verdict = p.failed() ? std::string(pki::severity_name(find_verify_check("cross-cluster")->severity)) + " " : "";
  std::string line;
  if (p.a_accepts_b && p.b_accepts_a) {
    line = a.label + " <-> " + b.label + ": mutual trust (shared root" + (p.shared->subjects.size() == 1 ? " " : "s ") +
           shared_roots_text(*p.shared) + ")";
    if (!a.trust_domain.empty() && a.trust_domain != b.trust_domain) {
      line += "; different trust domains " + a.trust_domain + " / " + b.trust_domain + ": authorization policies must name both";
    }
  } else if (p.a_accepts_b || p.b_accepts_a) {
    const auto& from = p.a_accepts_b ? b : a;  // the side whose workloads are accepted
    const auto& to = p.a_accepts_b ? a : b;
    line = to.label + " <-  " + from.label + ": " + verdict + "one way only: " + to.label + " accepts " + from.label +
           "'s workloads, not the reverse (" + from.label + "'s root-cert.pem lacks " +
           root_name(to.chain_root_subject, to.chain_root_fingerprint) + ")";
    if (p.must_talk) line += "; both are in trust domain " + a.trust_domain + ", so both ways are needed";
  } else {
    line = a.label + "  x  " + b.label + ": " + verdict + "cannot talk: no shared root (" +
           root_name(a.chain_root_subject, a.chain_root_fingerprint) + " vs " + root_name(b.chain_root_subject, b.chain_root_fingerprint) +
           ")";
    if (p.must_talk) {
      line += "; both claim trust domain " + a.trust_domain +
              ": give both bundles the same root (or one that holds the other's root during a rotation)";
    }
  }
  return line;
}

std::map<std::string, std::size_t> mutual_trust_by_roots(const std::vector<TrustPair>& pairs) {
  // Counted per shared-roots object (few), then per text.
  std::map<const SharedRoots*, std::size_t> by_object;
  for (const auto& p : pairs) {
    if (p.a_accepts_b && p.b_accepts_a) ++by_object[p.shared.get()];
  }
  std::map<std::string, std::size_t> by_roots;
  for (const auto& [roots, count] : by_object) by_roots[shared_roots_text(*roots)] += count;
  return by_roots;
}

}  // namespace meshca::verify
