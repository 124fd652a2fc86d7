#include "pki/key.hpp"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>

#include "pki/pem_scan.hpp"

namespace meshca::pki {
namespace {

struct AlgorithmInfo {
  KeyAlgorithm alg;
  std::string_view name;
  int rsa_bits;          // 0 for EC
  std::string_view curve;  // "" for RSA
};

constexpr std::array<AlgorithmInfo, 5> kAlgorithms{{
    {KeyAlgorithm::ecdsa_p256, "ecdsa-p256", 0, "P-256"},
    {KeyAlgorithm::ecdsa_p384, "ecdsa-p384", 0, "P-384"},
    {KeyAlgorithm::rsa_2048, "rsa-2048", 2048, ""},
    {KeyAlgorithm::rsa_3072, "rsa-3072", 3072, ""},
    {KeyAlgorithm::rsa_4096, "rsa-4096", 4096, ""},
}};

const AlgorithmInfo& info(KeyAlgorithm alg) {
  for (const auto& a : kAlgorithms)
    if (a.alg == alg) return a;
  throw Error(ErrorKind::internal, "unknown key algorithm");
}

// PBKDF2 iterations for the root key file: OWASP's 2023 figure for
// PBKDF2-HMAC-SHA256. Costs ~0.3 s once per ceremony.
constexpr int kPbkdf2Iterations = 600000;
constexpr int kSaltLength = 16;

std::string ec_curve_name(const EVP_PKEY* key) {
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return {};
  return std::string(name, len);
}

}  // namespace

std::optional<KeyAlgorithm> parse_key_algorithm(std::string_view name) {
  for (const auto& a : kAlgorithms)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view key_algorithm_name(KeyAlgorithm alg) { return info(alg).name; }

std::string key_algorithm_choices() {
  std::string s;
  for (const auto& a : kAlgorithms) {
    if (!s.empty()) s += " | ";
    s += a.name;
  }
  return s;
}

bool is_rsa(KeyAlgorithm alg) { return info(alg).rsa_bits != 0; }

std::optional<KeyAlgorithm> key_algorithm_of(const EVP_PKEY* key) {
  if (key == nullptr) return std::nullopt;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(key);
      for (const auto& a : kAlgorithms)
        if (a.rsa_bits == bits) return a.alg;
      return std::nullopt;
    }
    case EVP_PKEY_EC: {
      std::string curve = ec_curve_name(key);
      if (curve == "prime256v1" || curve == "P-256") return KeyAlgorithm::ecdsa_p256;
      if (curve == "secp384r1" || curve == "P-384") return KeyAlgorithm::ecdsa_p384;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

const EVP_MD* signature_digest(const EVP_PKEY* key) {
  auto alg = key_algorithm_of(key);
  return alg == KeyAlgorithm::ecdsa_p384 ? EVP_sha384() : EVP_sha256();
}

PKeyPtr generate_key(KeyAlgorithm alg) {
  const auto& a = info(alg);
  PKeyPtr key;
  if (a.rsa_bits != 0) {
    key.reset(EVP_RSA_gen(static_cast<unsigned>(a.rsa_bits)));
  } else {
    key.reset(EVP_EC_gen(a.curve.data()));
  }
  if (!key) throw_openssl("key generation (" + std::string(a.name) + ") failed");
  return key;
}

SecureBuffer private_key_to_pkcs8_pem(const EVP_PKEY* key) {
  auto bio = memory_bio();
  check(PEM_write_bio_PKCS8PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PKCS8PrivateKey");
  std::string pem = bio_contents(bio.get());
  SecureBuffer out(pem);
  cleanse(pem);
  return out;
}

SecureBuffer private_key_to_encrypted_pem(const EVP_PKEY* key, const SecureBuffer& passphrase) {
  Pkcs8InfoPtr p8inf(check(EVP_PKEY2PKCS8(key), "EVP_PKEY2PKCS8"));
  X509AlgorPtr pbe(check(PKCS5_pbe2_set_iv_ex(EVP_aes_256_cbc(), kPbkdf2Iterations, nullptr, kSaltLength, nullptr,
                                              NID_hmacWithSHA256, nullptr),
                         "PKCS5_pbe2_set_iv_ex"));
  // PKCS8_set0_pbe takes ownership of the algorithm identifier on success.
  X509SigPtr encrypted(PKCS8_set0_pbe(passphrase.data(), static_cast<int>(passphrase.size()), p8inf.get(), pbe.get()));
  if (!encrypted) throw_openssl("PKCS8_set0_pbe");
  (void)pbe.release();
  auto bio = memory_bio();
  check(PEM_write_bio_PKCS8(bio.get(), encrypted.get()), "PEM_write_bio_PKCS8");
  return SecureBuffer(bio_contents(bio.get()));
}

PKeyPtr private_key_from_pkcs8_der(std::string_view der) {
  // Exactly one PrivateKeyInfo, nothing after it (OpenSSL's decoders would
  // take other key structures too; those take the general path).
  {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    Pkcs8InfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
    if (!info || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      drain_openssl_errors();
      return nullptr;
    }
  }
  struct Decoder {
    EVP_PKEY* out = nullptr;  // where the decoder puts each key
    DecoderCtxPtr ctx{OSSL_DECODER_CTX_new_for_pkey(&out, "DER", "PrivateKeyInfo", nullptr, EVP_PKEY_KEYPAIR, nullptr, nullptr)};
  };
  thread_local Decoder decoder;
  if (!decoder.ctx) {
    drain_openssl_errors();
    return nullptr;
  }
  decoder.out = nullptr;
  const auto* data = reinterpret_cast<const unsigned char*>(der.data());
  std::size_t length = der.size();
  const int ok = OSSL_DECODER_from_data(decoder.ctx.get(), &data, &length);
  PKeyPtr key(decoder.out);
  decoder.out = nullptr;
  drain_openssl_errors();
  if (ok != 1) return nullptr;
  return key;
}

PKeyPtr private_key_from_pem(std::string_view pem, const std::string& where) {
  // The common case, one "PRIVATE KEY" block and nothing else (what meshca
  // writes), skips OpenSSL's PEM decoder set-up; anything else, and a block
  // that does not decode, takes the general path and its error message.
  const auto scan = scan_pem(pem);
  if (scan.issues.empty() && scan.blocks.size() == 1 && scan.blocks.front().decoded && scan.blocks.front().label == "PRIVATE KEY" &&
      scan.blocks.front().headers.empty()) {
    if (auto key = private_key_from_pkcs8_der(scan.blocks.front().der.view())) return key;
  }
  auto bio = memory_bio(pem);
  // An empty passphrase callback result makes an encrypted key fail instead
  // of prompting on the terminal from inside the library.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  PKeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    std::string reason = drain_openssl_errors();
    throw Error(ErrorKind::invalid_input, "not a readable unencrypted private key (" + reason + ")", where);
  }
  return key;
}

PKeyPtr private_key_from_encrypted_pem(std::string_view pem, const SecureBuffer& passphrase,
                                       const std::string& where) {
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") == std::string_view::npos) {
    throw Error(ErrorKind::invalid_input,
                "is not an encrypted PKCS#8 key (expected an 'ENCRYPTED PRIVATE KEY' PEM block); meshca keeps the "
                "root key file encrypted",
                where);
  }
  auto bio = memory_bio(pem);
  X509SigPtr sig(PEM_read_bio_PKCS8(bio.get(), nullptr, nullptr, nullptr));
  if (!sig) throw Error(ErrorKind::invalid_input, "damaged encrypted key PEM (" + drain_openssl_errors() + ")", where);
  Pkcs8InfoPtr p8inf(PKCS8_decrypt(sig.get(), passphrase.data(), static_cast<int>(passphrase.size())));
  if (!p8inf) {
    drain_openssl_errors();
    throw Error(ErrorKind::key_store, "wrong passphrase for the root key file (or the file is damaged)", where);
  }
  PKeyPtr key(EVP_PKCS82PKEY(p8inf.get()));
  if (!key) throw Error(ErrorKind::invalid_input, "decrypted key is unusable (" + drain_openssl_errors() + ")", where);
  return key;
}

std::string public_key_der(const EVP_PKEY* key) {
  unsigned char* raw = nullptr;
  int len = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &raw);
  Ptr<unsigned char> der(raw);
  if (len <= 0) throw_openssl("i2d_PUBKEY");
  return {reinterpret_cast<const char*>(der.get()), static_cast<std::size_t>(len)};
}

PKeyPtr public_key_copy(const EVP_PKEY* key) { return public_key_from_der(public_key_der(key), "public key copy"); }

PKeyPtr public_key_from_der(std::string_view der, const std::string& where) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  PKeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    throw Error(ErrorKind::invalid_input, "not one DER SubjectPublicKeyInfo (" + drain_openssl_errors() + ")", where);
  }
  return key;
}

std::string describe_key(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    case EVP_PKEY_EC: {
      auto alg = key_algorithm_of(key);
      if (alg == KeyAlgorithm::ecdsa_p256) return "ECDSA P-256";
      if (alg == KeyAlgorithm::ecdsa_p384) return "ECDSA P-384";
      return "ECDSA " + ec_curve_name(key);
    }
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
      return name ? name : "unknown key type";
    }
  }
}

}  // namespace meshca::pki
