// Micro-benchmarks of the per-cluster work of a ceremony, per algorithm:
// key generation, signing an intermediate, encoding the bundle, and the
// strict chain verification every certificate gets before it is written.
#include <benchmark/benchmark.h>

#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"

namespace {

using meshca::pki::KeyAlgorithm;

constexpr meshca::UnixTime kNow = 1795000000;

meshca::pki::CertificateProfile profile(const char* cn, int path_len) {
  meshca::pki::CertificateProfile p;
  p.subject = meshca::pki::DistinguishedName::canonical({{"CN", cn}, {"O", "Bench"}});
  p.not_before = kNow;
  p.not_after = kNow + 365 * 86400;
  p.path_len = path_len;
  p.key_usage = {.digital_signature = path_len == 0, .key_cert_sign = true, .crl_sign = true};
  if (path_len == 0) p.permitted_uri_hosts = {"bench.internal"};
  return p;
}

struct Root {
  meshca::pki::PKeyPtr key;
  meshca::pki::X509Ptr cert;
  explicit Root(KeyAlgorithm alg) : key(meshca::pki::generate_key(alg)) {
    cert = meshca::pki::issue_certificate(profile("Root", 1), key.get(), nullptr, key.get());
  }
};

void BM_Keygen(benchmark::State& state) {
  auto alg = static_cast<KeyAlgorithm>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(meshca::pki::generate_key(alg));
  state.SetLabel(std::string(meshca::pki::key_algorithm_name(alg)));
}
BENCHMARK(BM_Keygen)
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p256))
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p384))
    ->Arg(static_cast<int>(KeyAlgorithm::rsa_2048))
    ->Arg(static_cast<int>(KeyAlgorithm::rsa_3072))
    ->Unit(benchmark::kMillisecond);

// Signing one P-256 intermediate with a root of the given algorithm.
void BM_SignIntermediate(benchmark::State& state) {
  auto alg = static_cast<KeyAlgorithm>(state.range(0));
  Root root(alg);
  auto key = meshca::pki::generate_key(KeyAlgorithm::ecdsa_p256);
  auto p = profile("Intermediate", 0);
  for (auto _ : state) benchmark::DoNotOptimize(meshca::pki::issue_certificate(p, key.get(), root.cert.get(), root.key.get()));
  state.SetLabel("root " + std::string(meshca::pki::key_algorithm_name(alg)));
}
BENCHMARK(BM_SignIntermediate)
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p256))
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p384))
    ->Arg(static_cast<int>(KeyAlgorithm::rsa_3072))
    ->Unit(benchmark::kMicrosecond);

void BM_VerifyChain(benchmark::State& state) {
  Root root(static_cast<KeyAlgorithm>(state.range(0)));
  auto key = meshca::pki::generate_key(KeyAlgorithm::ecdsa_p256);
  auto cert = meshca::pki::issue_certificate(profile("Intermediate", 0), key.get(), root.cert.get(), root.key.get());
  for (auto _ : state) {
    benchmark::DoNotOptimize(meshca::pki::verify_chain(cert.get(), {}, {root.cert.get()}, kNow + 10,
                                                       meshca::pki::AnchorSignature::already_verified));
  }
  state.SetLabel("root " + std::string(meshca::pki::key_algorithm_name(static_cast<KeyAlgorithm>(state.range(0)))));
}
BENCHMARK(BM_VerifyChain)
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p256))
    ->Arg(static_cast<int>(KeyAlgorithm::ecdsa_p384))
    ->Arg(static_cast<int>(KeyAlgorithm::rsa_3072))
    ->Unit(benchmark::kMicrosecond);

void BM_EncodeBundle(benchmark::State& state) {
  Root root(KeyAlgorithm::ecdsa_p384);
  auto key = meshca::pki::generate_key(KeyAlgorithm::ecdsa_p256);
  auto cert = meshca::pki::issue_certificate(profile("Intermediate", 0), key.get(), root.cert.get(), root.key.get());
  meshca::output_layout::SecretManifestOptions manifest;
  for (auto _ : state) {
    auto files = meshca::output_layout::make_istio_bundle(cert.get(), key.get(), {root.cert.get()}, {root.cert.get()});
    benchmark::DoNotOptimize(meshca::output_layout::render_cacerts_secret(files, manifest));
  }
}
BENCHMARK(BM_EncodeBundle)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
