// The practical limit for a ceremony's per-cluster work: raw libcrypto, in
// memory, no files, no lints. For each of N clusters: generate the
// intermediate key, build and sign a CA certificate with the same extensions
// meshca writes, verify the signature with the root's public key (meshca
// must: a certificate is never written before its signature verifies), and
// PEM-encode key, certificate and chain. Uses T threads.
//
//   meshca_bench_baseline N THREADS ALGORITHM [ROOT_ALGORITHM [sign-only]]
//   (ecdsa-p256 | ecdsa-p384 | rsa-3072 | rsa-4096; the root defaults to
//   ecdsa-p384; sign-only skips the verification, for comparison)
// prints: baseline clusters=N threads=T verify=0|1 seconds=S ms_per_cluster=M
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

Key make_key(const std::string& alg) {
  if (alg == "ecdsa-p256") return Key(EVP_EC_gen("P-256"));
  if (alg == "ecdsa-p384") return Key(EVP_EC_gen("P-384"));
  if (alg == "rsa-3072") return Key(EVP_RSA_gen(3072));
  if (alg == "rsa-4096") return Key(EVP_RSA_gen(4096));
  std::fprintf(stderr, "unknown algorithm %s\n", alg.c_str());
  std::exit(2);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) std::abort();
  X509_EXTENSION_free(ext);
}

Cert make_cert(EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* signer, const char* cn, bool ca_root) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Bench"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400);
  X509_set_pubkey(cert.get(), subject_key);
  X509* issuer_cert = issuer ? issuer : cert.get();
  add_ext(cert.get(), issuer_cert, NID_basic_constraints, ca_root ? "critical,CA:TRUE,pathlen:1" : "critical,CA:TRUE,pathlen:0");
  add_ext(cert.get(), issuer_cert, NID_key_usage,
          ca_root ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyCertSign,cRLSign");
  add_ext(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (!ca_root) {
    add_ext(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid");
    add_ext(cert.get(), issuer_cert, NID_name_constraints, "critical,permitted;URI:bench.internal");
  }
  const EVP_MD* md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_EC && EVP_PKEY_get_bits(signer) == 384 ? EVP_sha384()
                                                                                                    : EVP_sha256();
  if (X509_sign(cert.get(), signer, md) <= 0) std::abort();
  return cert;
}

std::size_t encode(EVP_PKEY* key, X509* cert, X509* root) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(bio.get(), cert);
  PEM_write_bio_X509(bio.get(), cert);
  PEM_write_bio_X509(bio.get(), root);
  PEM_write_bio_X509(bio.get(), root);
  return static_cast<std::size_t>(BIO_pending(bio.get()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6 || (argc == 6 && std::string(argv[5]) != "sign-only")) {
    std::fprintf(stderr, "usage: %s N THREADS ALGORITHM [ROOT_ALGORITHM [sign-only]]\n", argv[0]);
    return 2;
  }
  const bool verify = argc != 6;
  const long n = std::atol(argv[1]);
  const int threads = std::max(1, std::atoi(argv[2]));
  const std::string alg = argv[3];
  Key root_key = make_key(argc >= 5 ? argv[4] : "ecdsa-p384");
  Cert root = make_cert(root_key.get(), nullptr, root_key.get(), "Root", true);

  auto start = std::chrono::steady_clock::now();
  std::atomic<long> next{0};
  std::atomic<std::size_t> bytes{0};
  auto worker = [&] {
    Key signer(EVP_PKEY_dup(root_key.get()));
    for (long i = next++; i < n; i = next++) {
      Key key = make_key(alg);
      Cert cert = make_cert(key.get(), root.get(), signer.get(), "Intermediate", false);
      if (verify && X509_verify(cert.get(), X509_get0_pubkey(root.get())) != 1) std::abort();
      bytes += encode(key.get(), cert.get(), root.get());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("baseline clusters=%ld threads=%d verify=%d seconds=%.3f ms_per_cluster=%.3f bytes=%zu\n", n, threads,
              verify ? 1 : 0, seconds, seconds * 1000.0 / static_cast<double>(n), bytes.load());
  return 0;
}
