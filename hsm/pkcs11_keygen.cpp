// Key pairs generated inside a token (C_GenerateKeyPair, which libp11
// 0.4.12 offers for RSA only): token objects, the private key sensitive,
// never extractable and private, with the narrowest usage template the
// token accepts and can sign with (hsm/pkcs11_module.hpp, generate_key_pair).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_detail.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm::p11 {

unsigned long detail::key_bits(pki::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case pki::KeyAlgorithm::ecdsa_p256:
      return 256;
    case pki::KeyAlgorithm::ecdsa_p384:
      return 384;
    case pki::KeyAlgorithm::rsa_2048:
      return 2048;
    case pki::KeyAlgorithm::rsa_3072:
      return 3072;
    case pki::KeyAlgorithm::rsa_4096:
      return 4096;
  }
  throw Error(ErrorKind::internal, "not a key algorithm meshca generates");
}

namespace {

// The DER OID (CKA_EC_PARAMS) of a curve meshca generates.
std::string ec_params_for(pki::KeyAlgorithm algorithm) {
  static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  if (algorithm == pki::KeyAlgorithm::ecdsa_p256) return {reinterpret_cast<const char*>(p256), sizeof p256};
  if (algorithm == pki::KeyAlgorithm::ecdsa_p384) return {reinterpret_cast<const char*>(p384), sizeof p384};
  throw Error(ErrorKind::internal, "not an EC algorithm");
}

// The usage attributes one generation attempt sets (unset ones are left to the token).
struct UsageTemplate {
  const char* name;
  std::optional<bool> decrypt, unwrap, derive;  // private key
  std::optional<bool> verify, encrypt, wrap;    // public key
};

// Narrowest first. The TPM 2.0 module maps SIGN+ENCRYPT and VERIFY+DECRYPT
// onto one TPM attribute each and rejects templates that disagree with that
// (its RSA signing is the TPM decrypt operation), hence the second entry.
constexpr bool T = true, F = false;
constexpr std::optional<bool> U = std::nullopt;  // left to the token
constexpr UsageTemplate kStrict{"signing-only", F, F, F, T, F, F};
constexpr UsageTemplate kStrictNoVerify{"signing-only (public CKA_VERIFY left to the token)", F, F, F, U, F, F};
constexpr UsageTemplate kPrivateOnly{"signing-only private key (public key usage left to the token)", F, F, F, U, U, U};
constexpr UsageTemplate kSignDecrypt{"sign+decrypt (the token ties them together)", T, F, F, T, T, F};
constexpr UsageTemplate kDefaults{"token defaults beyond sign", U, U, U, U, U, U};
// EC: the TPM accepts kPrivateOnly and signs with it. RSA: a TPM accepts
// kPrivateOnly too but cannot sign with the key (its RSA signing is the
// decrypt operation) nor delete it afterwards, so sign+decrypt comes first.
const UsageTemplate kEcTemplates[] = {kStrict, kStrictNoVerify, kPrivateOnly, kSignDecrypt, kDefaults};
const UsageTemplate kRsaTemplates[] = {kStrict, kStrictNoVerify, kSignDecrypt, kPrivateOnly, kDefaults};

// Whether the token signs with a freshly generated private key: a token may
// accept a usage template yet refuse to sign with the result (the TPM's RSA
// keys sign through the decrypt operation). CKR of the failing call, or CKR_OK.
CK_RV try_sign(const Session& session, CK_OBJECT_HANDLE key, bool rsa) {
  CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
  // For CKM_RSA_PKCS this is a SHA-256 DigestInfo; for CKM_ECDSA a 32-byte hash.
  static const unsigned char digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                              0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  std::string input = rsa ? std::string(reinterpret_cast<const char*>(digest_info), sizeof digest_info) : std::string();
  input += std::string(32, '\x5a');
  CK_RV rv = session.fn()->C_SignInit(session.handle(), &mechanism, key);
  if (rv != CKR_OK) return rv;
  std::vector<CK_BYTE> signature(1024);
  CK_ULONG length = signature.size();
  return session.fn()->C_Sign(session.handle(), reinterpret_cast<CK_BYTE*>(input.data()), input.size(), signature.data(), &length);
}

bool template_rejection(CK_RV rv) {
  return rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED || rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
         rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

// The attribute templates of one C_GenerateKeyPair attempt with `usage`.
// The attributes point into this object, which therefore stays where it
// was made.
class KeyPairTemplates {
 public:
  KeyPairTemplates(pki::KeyAlgorithm algorithm, const std::string& label, const std::string& id, const UsageTemplate& usage)
      : label_(label), id_(id) {
    public_key = {
        {CKA_TOKEN, &yes_, sizeof yes_},
        {CKA_PRIVATE, &no_, sizeof no_},
        {CKA_ID, id_.data(), id_.size()},
    };
    private_key = {
        {CKA_TOKEN, &yes_, sizeof yes_},     {CKA_PRIVATE, &yes_, sizeof yes_}, {CKA_SENSITIVE, &yes_, sizeof yes_},
        {CKA_EXTRACTABLE, &no_, sizeof no_}, {CKA_SIGN, &yes_, sizeof yes_},    {CKA_ID, id_.data(), id_.size()},
    };
    if (!label_.empty()) {
      public_key.push_back({CKA_LABEL, label_.data(), label_.size()});
      private_key.push_back({CKA_LABEL, label_.data(), label_.size()});
    }
    if (pki::is_rsa(algorithm)) {
      modulus_bits_ = detail::key_bits(algorithm);
      public_key.push_back({CKA_MODULUS_BITS, &modulus_bits_, sizeof modulus_bits_});
      public_key.push_back({CKA_PUBLIC_EXPONENT, public_exponent_, sizeof public_exponent_});
    } else {
      ec_params_ = ec_params_for(algorithm);
      public_key.push_back({CKA_EC_PARAMS, ec_params_.data(), ec_params_.size()});
    }
    flag(public_key, CKA_VERIFY, usage.verify);
    flag(public_key, CKA_ENCRYPT, usage.encrypt);
    flag(public_key, CKA_WRAP, usage.wrap);
    flag(private_key, CKA_DECRYPT, usage.decrypt);
    flag(private_key, CKA_UNWRAP, usage.unwrap);
    flag(private_key, CKA_DERIVE, usage.derive);
  }
  KeyPairTemplates(const KeyPairTemplates&) = delete;
  KeyPairTemplates& operator=(const KeyPairTemplates&) = delete;

  std::vector<CK_ATTRIBUTE> public_key;
  std::vector<CK_ATTRIBUTE> private_key;

 private:
  void flag(std::vector<CK_ATTRIBUTE>& tmpl, CK_ATTRIBUTE_TYPE type, const std::optional<bool>& value) {
    if (value) tmpl.push_back({type, *value ? &yes_ : &no_, sizeof yes_});
  }

  CK_BBOOL yes_ = CK_TRUE;
  CK_BBOOL no_ = CK_FALSE;
  std::string label_;
  std::string id_;
  std::string ec_params_;
  CK_ULONG modulus_bits_ = 0;
  CK_BYTE public_exponent_[3] = {0x01, 0x00, 0x01};  // 65537
};

// One C_GenerateKeyPair attempt with `usage`: the pair when the token
// generated it and signs with it. nullopt, with the reason added to
// `rejected`, when the token refused the template or generated a pair it
// cannot sign with (which is removed again).
std::optional<GeneratedKeyPair> try_template(const Session& session, pki::KeyAlgorithm algorithm, const std::string& label,
                                             const std::string& id, const UsageTemplate& usage, std::string& rejected) {
  const bool rsa = pki::is_rsa(algorithm);
  CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  KeyPairTemplates tmpl(algorithm, label, id, usage);
  GeneratedKeyPair out;
  out.template_name = usage.name;
  CK_RV rv =
      session.fn()->C_GenerateKeyPair(session.handle(), &mechanism, tmpl.public_key.data(), tmpl.public_key.size(), tmpl.private_key.data(),
                                      tmpl.private_key.size(), &out.handles.public_key, &out.handles.private_key);
  if (rv != CKR_OK) {
    const std::string what = "the token could not generate a " + std::string(pki::key_algorithm_name(algorithm)) +
                             " key pair (C_GenerateKeyPair, " + usage.name + " template)";
    if (!template_rejection(rv)) throw_rv(what, rv);
    rejected += (rejected.empty() ? "" : ", ") + std::string(usage.name) + ": " + rv_name(rv);
    return std::nullopt;
  }
  rv = try_sign(session, out.handles.private_key, rsa);
  if (rv == CKR_OK) return out;
  // Accepted but unusable: remove the pair and try a wider template.
  CK_RV destroyed = session.fn()->C_DestroyObject(session.handle(), out.handles.private_key);
  if (destroyed == CKR_OK) destroyed = session.fn()->C_DestroyObject(session.handle(), out.handles.public_key);
  if (destroyed != CKR_OK) {
    throw Error(ErrorKind::key_store, "the token generated a " + std::string(pki::key_algorithm_name(algorithm)) + " key pair with the " +
                                          usage.name + " template but cannot sign with it (" + rv_name(rv) +
                                          "), and refused to delete it (" + rv_name(destroyed) + "): remove the objects with CKA_ID " +
                                          to_hex(id) + " with the vendor's tools");
  }
  rejected += (rejected.empty() ? "" : ", ") + std::string(usage.name) + ": generated but cannot sign (" + rv_name(rv) + ")";
  return std::nullopt;
}

}  // namespace

GeneratedKeyPair generate_key_pair(const Session& session, pki::KeyAlgorithm algorithm, const std::string& label, const std::string& id,
                                   bool signing_only_required) {
  std::string rejected;
  for (const UsageTemplate& usage :
       pki::is_rsa(algorithm) ? std::span<const UsageTemplate>(kRsaTemplates) : std::span<const UsageTemplate>(kEcTemplates)) {
    const bool restricted = usage.decrypt == F && usage.unwrap == F && usage.derive == F && usage.encrypt == F && usage.wrap == F;
    if (signing_only_required && !restricted) break;
    if (auto pair = try_template(session, algorithm, label, id, usage, rejected)) return std::move(*pair);
  }
  if (signing_only_required) {
    throw Error(ErrorKind::key_store,
                "the plan requires a signing-only key (key.pkcs11.require: signing-only) and the token does not "
                "accept a signing-only " +
                    std::string(pki::key_algorithm_name(algorithm)) + " key template (" + rejected +
                    "); nothing was generated or signed. Choose another algorithm or token, or drop the requirement "
                    "to accept the narrowest key the token can make (its usage is reported)");
  }
  throw Error(ErrorKind::key_store, "the token rejected every key template meshca tries for " +
                                        std::string(pki::key_algorithm_name(algorithm)) + " (" + rejected + ")");
}

}  // namespace meshca::hsm::p11
