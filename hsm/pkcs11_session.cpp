// The raw PKCS#11 calls on a session, for what libp11 0.4.12 does not
// offer: PKCS#11 return codes as text, opening a session and the one login
// attempt, finding objects, reading attributes, describing a key object, and
// rebuilding a token key's public half in software (never trusting the
// token to verify itself).
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm::p11 {
namespace {

using ParamBldPtr = pki::Ptr<OSSL_PARAM_BLD>;
using ParamPtr = pki::Ptr<OSSL_PARAM>;
using Asn1ObjectPtr = pki::Ptr<ASN1_OBJECT>;

struct RvName {
  CK_RV rv;
  const char* name;
};

constexpr RvName kRvNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
};

// Calls C_FindObjectsFinal however the search ends.
class FindGuard {
 public:
  FindGuard(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session) : fn_(fn), session_(session) {}
  ~FindGuard() { fn_->C_FindObjectsFinal(session_); }
  FindGuard(const FindGuard&) = delete;
  FindGuard& operator=(const FindGuard&) = delete;

 private:
  CK_FUNCTION_LIST* fn_;
  CK_SESSION_HANDLE session_;
};

std::string curve_name(const std::string& ec_params) {
  const auto* p = reinterpret_cast<const unsigned char*>(ec_params.data());
  Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params.size())));
  if (!oid) {
    pki::drain_openssl_errors();
    return "unknown curve (CKA_EC_PARAMS is not an OID)";
  }
  switch (OBJ_obj2nid(oid.get())) {
    case NID_X9_62_prime256v1:
      return "P-256";
    case NID_secp384r1:
      return "P-384";
    case NID_secp521r1:
      return "P-521";
    default:
      break;
  }
  char text[128] = {};
  OBJ_obj2txt(text, sizeof text, oid.get(), 0);
  return text;
}

// CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); a few
// tokens return the bare point. Accept both.
std::string unwrap_ec_point(const std::string& value) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  pki::Asn1OctetStringPtr octets(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(value.size())));
  if (octets && p == reinterpret_cast<const unsigned char*>(value.data()) + value.size()) {
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets.get())), static_cast<std::size_t>(ASN1_STRING_length(octets.get()))};
  }
  pki::drain_openssl_errors();
  return value;
}

pki::PKeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld, const std::string& what) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) pki::throw_openssl(what, ErrorKind::key_store);
  pki::PKeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) pki::throw_openssl(what, ErrorKind::key_store);
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    pki::throw_openssl(what, ErrorKind::key_store);
  }
  return pki::PKeyPtr(raw);
}

}  // namespace

std::string rv_name(CK_RV rv) {
  for (const auto& entry : kRvNames) {
    if (entry.rv == rv) return entry.name;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%08lx", static_cast<unsigned long>(rv));
  return buf;
}

void throw_rv(const std::string& what, CK_RV rv, const std::string& where) {
  throw Error(ErrorKind::key_store, what + ": " + rv_name(rv), where);
}

std::string fixed_string(const unsigned char* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// ---------------------------------------------------------------- Session

Session::Session(const Pkcs11Module& module, CK_SLOT_ID slot, bool read_write) : fn_(module.fn()) {
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_RV rv = fn_->C_OpenSession(slot, flags, nullptr, nullptr, &session_);
  if (rv != CKR_OK) throw_rv("cannot open a session on the PKCS#11 token", rv, module.path());
}

Session::~Session() {
  if (session_ != CK_INVALID_HANDLE) fn_->C_CloseSession(session_);
}

void Session::login(const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token) {
  // C_Login takes a non-const pointer; the module does not write through it.
  require_pin_length(module, token, pin.size());
  auto* bytes_ptr = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.data()));
  CK_RV rv = fn_->C_Login(session_, CKU_USER, bytes_ptr, pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return;
  Pkcs11TokenInfo after = token;
  try {
    after = token_info(module, token.slot_id);
  } catch (const Error&) {
    // keep the flags we had
  }
  throw_login_failure(rv, after, module);
}

std::vector<CK_OBJECT_HANDLE> Session::find(const std::vector<CK_ATTRIBUTE>& tmpl) const {
  CK_RV rv = fn_->C_FindObjectsInit(session_, const_cast<CK_ATTRIBUTE*>(tmpl.data()), tmpl.size());
  if (rv != CKR_OK) throw_rv("C_FindObjectsInit failed", rv);
  FindGuard guard(fn_, session_);
  std::vector<CK_OBJECT_HANDLE> found;
  for (;;) {
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG count = 0;
    rv = fn_->C_FindObjects(session_, batch, 64, &count);
    if (rv != CKR_OK) throw_rv("C_FindObjects failed", rv);
    if (count == 0) break;
    found.insert(found.end(), batch, batch + count);
  }
  return found;
}

std::optional<std::string> Session::bytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, CK_RV* rv_out) const {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fn_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK || attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  std::string value(attr.ulValueLen, '\0');
  attr.pValue = value.data();
  rv = fn_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK || attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  value.resize(attr.ulValueLen);
  return value;
}

std::optional<bool> Session::boolean(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  if (fn_->C_GetAttributeValue(session_, object, &attr, 1) != CKR_OK || attr.ulValueLen != sizeof value) {
    return std::nullopt;
  }
  return value != CK_FALSE;
}

std::optional<CK_ULONG> Session::ulong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  if (fn_->C_GetAttributeValue(session_, object, &attr, 1) != CKR_OK || attr.ulValueLen != sizeof value) {
    return std::nullopt;
  }
  return value;
}

std::string KeyObject::type_name() const {
  if (key_type == CKK_RSA) return "RSA";
  if (key_type == CKK_EC) return "EC";
  if (key_type == CK_UNAVAILABLE_INFORMATION) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKK 0x%lx", static_cast<unsigned long>(key_type));
  return buf;
}

std::string KeyObject::describe_type() const {
  if (key_type == CKK_RSA && rsa_bits) return "RSA " + std::to_string(*rsa_bits);
  if (key_type == CKK_EC && !ec_curve.empty()) return "EC " + ec_curve;
  return type_name();
}

KeyObject Session::describe_key(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class) const {
  KeyObject k;
  k.handle = object;
  k.object_class = object_class;
  k.key_type = ulong(object, CKA_KEY_TYPE).value_or(CK_UNAVAILABLE_INFORMATION);
  k.label = bytes(object, CKA_LABEL).value_or("");
  k.id = bytes(object, CKA_ID).value_or("");
  if (object_class == CKO_PRIVATE_KEY) {
    k.sensitive = boolean(object, CKA_SENSITIVE);
    k.extractable = boolean(object, CKA_EXTRACTABLE);
    k.always_sensitive = boolean(object, CKA_ALWAYS_SENSITIVE);
    k.never_extractable = boolean(object, CKA_NEVER_EXTRACTABLE);
    k.can_sign = boolean(object, CKA_SIGN);
    k.can_decrypt = boolean(object, CKA_DECRYPT);
    k.can_unwrap = boolean(object, CKA_UNWRAP);
    k.can_derive = boolean(object, CKA_DERIVE);
  } else {
    k.can_sign = boolean(object, CKA_VERIFY);
    k.can_encrypt = boolean(object, CKA_ENCRYPT);
    k.can_wrap = boolean(object, CKA_WRAP);
    k.can_derive = boolean(object, CKA_DERIVE);
  }
  k.local = boolean(object, CKA_LOCAL);
  if (k.key_type == CKK_RSA) {
    if (auto bits = ulong(object, CKA_MODULUS_BITS)) {
      k.rsa_bits = *bits;
    } else if (auto modulus = bytes(object, CKA_MODULUS)) {
      pki::BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()), static_cast<int>(modulus->size()), nullptr));
      if (n) k.rsa_bits = static_cast<unsigned long>(BN_num_bits(n.get()));
    }
  } else if (k.key_type == CKK_EC) {
    if (auto params = bytes(object, CKA_EC_PARAMS)) k.ec_curve = curve_name(*params);
  }
  return k;
}

std::vector<KeyObject> Session::find_keys(CK_OBJECT_CLASS object_class, const std::string& label, const std::string& id) const {
  std::string label_copy = label;
  std::string id_copy = id;
  std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &object_class, sizeof object_class}};
  if (!label_copy.empty()) tmpl.push_back({CKA_LABEL, label_copy.data(), label_copy.size()});
  if (!id_copy.empty()) tmpl.push_back({CKA_ID, id_copy.data(), id_copy.size()});
  std::vector<KeyObject> keys;
  for (CK_OBJECT_HANDLE h : find(tmpl)) keys.push_back(describe_key(h, object_class));
  return keys;
}

std::vector<CK_OBJECT_HANDLE> Session::find_any(const std::string& label, const std::string& id) const {
  std::vector<CK_OBJECT_HANDLE> all;
  std::string label_copy = label;
  std::string id_copy = id;
  if (!label_copy.empty()) {
    auto found = find({{CKA_LABEL, label_copy.data(), label_copy.size()}});
    all.insert(all.end(), found.begin(), found.end());
  }
  if (!id_copy.empty()) {
    auto found = find({{CKA_ID, id_copy.data(), id_copy.size()}});
    for (auto h : found) {
      if (std::find(all.begin(), all.end(), h) == all.end()) all.push_back(h);
    }
  }
  return all;
}

// ---------------------------------------------------------------- keys

pki::PKeyPtr software_public_key(const Session& session, const KeyObject& key) {
  const std::string what = "cannot rebuild the public key of token object '" + key.label + "' (id " + to_hex(key.id) + ")";
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) pki::throw_openssl(what, ErrorKind::key_store);
  if (key.key_type == CKK_RSA) {
    auto modulus = session.bytes(key.handle, CKA_MODULUS);
    auto exponent = session.bytes(key.handle, CKA_PUBLIC_EXPONENT);
    if (!modulus || !exponent) throw Error(ErrorKind::key_store, what + ": the token hides CKA_MODULUS/CKA_PUBLIC_EXPONENT");
    pki::BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()), static_cast<int>(modulus->size()), nullptr));
    pki::BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent->data()), static_cast<int>(exponent->size()), nullptr));
    if (!n || !e || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
      pki::throw_openssl(what, ErrorKind::key_store);
    }
    return pkey_from_params("RSA", bld.get(), what);
  }
  if (key.key_type == CKK_EC) {
    if (key.object_class != CKO_PUBLIC_KEY) {
      throw Error(ErrorKind::key_store, what +
                                            ": an EC private key object does not carry its public point; the "
                                            "token needs the matching public key object (same CKA_ID)");
    }
    auto params = session.bytes(key.handle, CKA_EC_PARAMS);
    auto point = session.bytes(key.handle, CKA_EC_POINT);
    if (!params || !point) throw Error(ErrorKind::key_store, what + ": the token hides CKA_EC_PARAMS/CKA_EC_POINT");
    const auto* p = reinterpret_cast<const unsigned char*>(params->data());
    Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
    if (!oid) pki::throw_openssl(what + ": CKA_EC_PARAMS is not a named curve", ErrorKind::key_store);
    const char* group = OBJ_nid2sn(OBJ_obj2nid(oid.get()));
    if (group == nullptr || OBJ_obj2nid(oid.get()) == NID_undef) {
      throw Error(ErrorKind::key_store, what + ": unsupported curve " + curve_name(*params));
    }
    std::string raw_point = unwrap_ec_point(*point);
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, raw_point.data(), raw_point.size()) != 1) {
      pki::throw_openssl(what, ErrorKind::key_store);
    }
    return pkey_from_params("EC", bld.get(), what);
  }
  throw Error(ErrorKind::key_store, what + ": unsupported key type " + key.type_name());
}

}  // namespace meshca::hsm::p11
