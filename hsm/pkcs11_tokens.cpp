// Tokens and what they can do: the tokens a module shows (C_GetSlotList,
// C_GetTokenInfo), picking the one a key reference names, the operator's
// message for a failed login and the PIN length check that keeps a wrong
// PIN from being sent, and the mechanisms that decide which of meshca's
// algorithms a token signs with and generates.
#include <string>
#include <vector>

#include "core/error.hpp"
#include "hsm/pkcs11_detail.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {

std::string Pkcs11TokenInfo::describe() const {
  std::string s = "'" + label + "' (serial " + serial;
  if (!model.empty()) s += ", " + model;
  return s + ")";
}

}  // namespace meshca::hsm

namespace meshca::hsm::p11 {

Pkcs11TokenInfo token_info(const Pkcs11Module& module, CK_SLOT_ID slot) {
  CK_TOKEN_INFO info{};
  CK_RV rv = module.fn()->C_GetTokenInfo(slot, &info);
  if (rv != CKR_OK) throw_rv("C_GetTokenInfo failed for slot " + std::to_string(slot), rv, module.path());
  Pkcs11TokenInfo t;
  t.slot_id = slot;
  t.label = fixed_string(info.label, sizeof info.label);
  t.serial = fixed_string(info.serialNumber, sizeof info.serialNumber);
  t.manufacturer = fixed_string(info.manufacturerID, sizeof info.manufacturerID);
  t.model = fixed_string(info.model, sizeof info.model);
  t.flags = info.flags;
  t.min_pin_len = info.ulMinPinLen;
  t.max_pin_len = info.ulMaxPinLen;
  return t;
}

std::vector<Pkcs11TokenInfo> list_tokens(const Pkcs11Module& module) {
  std::vector<CK_SLOT_ID> slots;
  for (int attempt = 0; attempt < 4; ++attempt) {
    CK_ULONG count = 0;
    CK_RV rv = module.fn()->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK) throw_rv("C_GetSlotList failed", rv, module.path());
    slots.resize(count);
    if (count == 0) break;
    rv = module.fn()->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;  // a token appeared in between
    if (rv != CKR_OK) throw_rv("C_GetSlotList failed", rv, module.path());
    slots.resize(count);
    break;
  }
  std::vector<Pkcs11TokenInfo> tokens;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    CK_RV rv = module.fn()->C_GetTokenInfo(slot, &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_SLOT_ID_INVALID) continue;
    if (rv != CKR_OK) throw_rv("C_GetTokenInfo failed for slot " + std::to_string(slot), rv, module.path());
    tokens.push_back(token_info(module, slot));
  }
  return tokens;
}

Pkcs11TokenInfo select_token(const Pkcs11Module& module, const std::string& label, const std::string& serial) {
  if (label.empty() && serial.empty()) {
    throw Error(ErrorKind::key_store, "no token named: give the token label (and/or its serial)", module.path());
  }
  std::vector<Pkcs11TokenInfo> tokens = list_tokens(module);
  std::vector<Pkcs11TokenInfo> matches;
  std::string present;
  std::size_t uninitialized = 0;
  for (const auto& t : tokens) {
    if (!t.token_initialized()) {
      ++uninitialized;
      continue;
    }
    if ((label.empty() || t.label == label) && (serial.empty() || t.serial == serial)) matches.push_back(t);
    present += (present.empty() ? "" : ", ") + t.describe();
  }
  std::string wanted =
      label.empty() ? "with serial '" + serial + "'" : "'" + label + "'" + (serial.empty() ? "" : " with serial '" + serial + "'");
  if (matches.empty()) {
    std::string msg = "no PKCS#11 token " + wanted + " in this module; ";
    msg += present.empty() ? "the module shows no initialized token" : "tokens present: " + present;
    if (uninitialized > 0) msg += " (plus " + std::to_string(uninitialized) + " empty slot(s))";
    msg += "; check the token label/serial, that the token is plugged in";
    msg += " (" + module.setup_hint() + ")";
    throw Error(ErrorKind::key_store, msg, module.path());
  }
  if (matches.size() > 1) {
    throw Error(ErrorKind::key_store,
                std::to_string(matches.size()) + " tokens match " + wanted + " (" + present + "); add the token serial to pick one",
                module.path());
  }
  return matches.front();
}

void throw_login_failure(CK_RV rv, const Pkcs11TokenInfo& token, const Pkcs11Module& module) {
  std::string msg;
  switch (rv) {
    case CKR_PIN_INCORRECT:
      msg = "wrong user PIN for PKCS#11 token " + token.describe() +
            " (one attempt was made and meshca does not retry; check the PIN source)";
      if (module.vendor() == Vendor::tpm2) {
        msg += "; on a TPM every wrong PIN counts towards the TPM-wide dictionary-attack lockout (" + module.recovery_hint() + ")";
      }
      break;
    case CKR_PIN_LOCKED:
      msg =
          "the user PIN of PKCS#11 token " + token.describe() + " is locked; nothing was sent to it. To unlock: " + module.recovery_hint();
      break;
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID:
      msg = "the PIN given for PKCS#11 token " + token.describe() + " has an invalid length or characters (" + rv_name(rv) +
            "); check the PIN source";
      break;
    case CKR_PIN_EXPIRED:
      msg = "the user PIN of PKCS#11 token " + token.describe() + " has expired; change it first";
      break;
    case CKR_USER_PIN_NOT_INITIALIZED:
      msg = "PKCS#11 token " + token.describe() + " has no user PIN yet; initialize it with the SO PIN first";
      break;
    default:
      msg = "login to PKCS#11 token " + token.describe() + " failed: " + rv_name(rv) + "; " + module.setup_hint();
      break;
  }
  if (rv != CKR_PIN_LOCKED) {
    if (token.user_pin_locked()) {
      msg += "; the token now reports the user PIN as LOCKED. To unlock: " + module.recovery_hint();
    } else if ((token.flags & CKF_USER_PIN_FINAL_TRY) != 0) {
      msg += "; WARNING: the token says the next wrong PIN locks it (recovery then: " + module.recovery_hint() + ")";
    } else if ((token.flags & CKF_USER_PIN_COUNT_LOW) != 0) {
      msg += "; the token reports that few PIN attempts remain";
    }
  }
  throw Error(ErrorKind::key_store, msg, module.path());
}

void require_pin_length(const Pkcs11Module& module, const Pkcs11TokenInfo& token, std::size_t length) {
  // 0/0 and CK_EFFECTIVELY_INFINITE mean "no limit" in practice.
  const CK_ULONG max = token.max_pin_len == 0 ? CK_EFFECTIVELY_INFINITE : token.max_pin_len;
  if (length >= token.min_pin_len && (max == CK_EFFECTIVELY_INFINITE || length <= max)) return;
  std::string range = std::to_string(token.min_pin_len) + "-" + (max == CK_EFFECTIVELY_INFINITE ? std::string("any") : std::to_string(max));
  throw Error(ErrorKind::key_store,
              "the PIN from the PIN source has " + std::to_string(length) + " characters but PKCS#11 token " + token.describe() +
                  " accepts user PINs of " + range +
                  " characters; the PIN was NOT sent (a wrong-length PIN would count as a failed login). "
                  "Check the PIN source, or change the token's user PIN to one within its limits",
              module.path());
}

// ---------------------------------------------------------------- capabilities

std::vector<Mechanism> mechanisms(const Pkcs11Module& module, CK_SLOT_ID slot) {
  CK_ULONG count = 0;
  CK_RV rv = module.fn()->C_GetMechanismList(slot, nullptr, &count);
  if (rv != CKR_OK) throw_rv("C_GetMechanismList failed", rv, module.path());
  std::vector<CK_MECHANISM_TYPE> types(count);
  if (count > 0) {
    rv = module.fn()->C_GetMechanismList(slot, types.data(), &count);
    if (rv != CKR_OK) throw_rv("C_GetMechanismList failed", rv, module.path());
    types.resize(count);
  }
  std::vector<Mechanism> out;
  for (CK_MECHANISM_TYPE t : types) {
    Mechanism m{t, {}};
    if (module.fn()->C_GetMechanismInfo(slot, t, &m.info) != CKR_OK) continue;
    out.push_back(m);
  }
  return out;
}

namespace {

const Mechanism* find_mechanism(const std::vector<Mechanism>& list, CK_MECHANISM_TYPE type, CK_FLAGS flag) {
  for (const auto& m : list) {
    if (m.type == type && (m.info.flags & flag) != 0) return &m;
  }
  return nullptr;
}

// Empty when the token can do `algorithm` (generate too, when asked); else why not.
std::string algorithm_gap(const std::vector<Mechanism>& list, pki::KeyAlgorithm algorithm, bool generate) {
  const bool rsa = pki::is_rsa(algorithm);
  const CK_MECHANISM_TYPE sign = rsa ? CKM_RSA_PKCS : CKM_ECDSA;
  const CK_MECHANISM_TYPE gen = rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
  const Mechanism* s = find_mechanism(list, sign, CKF_SIGN);
  if (s == nullptr) return std::string("no ") + (rsa ? "CKM_RSA_PKCS" : "CKM_ECDSA") + " signing mechanism";
  const unsigned long bits = detail::key_bits(algorithm);
  auto outside = [bits](const Mechanism& m) {
    // Ranges are in bits; a few tokens report 0 or bytes for EC, which we do not second-guess.
    return m.info.ulMaxKeySize >= 192 && (bits < m.info.ulMinKeySize || bits > m.info.ulMaxKeySize);
  };
  auto range = [](const Mechanism& m) { return std::to_string(m.info.ulMinKeySize) + "-" + std::to_string(m.info.ulMaxKeySize) + " bits"; };
  if (outside(*s)) return "signing keys of " + range(*s) + " only";
  if (!generate) return {};
  const Mechanism* g = find_mechanism(list, gen, CKF_GENERATE_KEY_PAIR);
  if (g == nullptr) {
    return std::string("no ") + (rsa ? "CKM_RSA_PKCS_KEY_PAIR_GEN" : "CKM_EC_KEY_PAIR_GEN") + " key generation";
  }
  if (outside(*g)) return "key generation of " + range(*g) + " only";
  return {};
}

}  // namespace

std::vector<pki::KeyAlgorithm> supported_algorithms(const std::vector<Mechanism>& list, bool generate) {
  std::vector<pki::KeyAlgorithm> out;
  for (auto a : {pki::KeyAlgorithm::ecdsa_p256, pki::KeyAlgorithm::ecdsa_p384, pki::KeyAlgorithm::rsa_2048, pki::KeyAlgorithm::rsa_3072,
                 pki::KeyAlgorithm::rsa_4096}) {
    if (algorithm_gap(list, a, generate).empty()) out.push_back(a);
  }
  return out;
}

std::string algorithm_list(const std::vector<pki::KeyAlgorithm>& algorithms) {
  std::string s;
  for (auto a : algorithms) s += (s.empty() ? "" : ", ") + std::string(pki::key_algorithm_name(a));
  return s.empty() ? "none of meshca's algorithms" : s;
}

void require_algorithm(const Pkcs11Module& module, const Pkcs11TokenInfo& token, pki::KeyAlgorithm algorithm, bool generate) {
  const auto list = mechanisms(module, token.slot_id);
  const std::string gap = algorithm_gap(list, algorithm, generate);
  if (gap.empty()) return;
  throw Error(ErrorKind::key_store,
              "PKCS#11 token " + token.describe() + " (" + module.library_description() + ") cannot " +
                  (generate ? "generate and sign with " : "sign with ") + std::string(pki::key_algorithm_name(algorithm)) +
                  " keys: its mechanism list has " + gap + ". It supports: " + algorithm_list(supported_algorithms(list, generate)) +
                  ". Change root.key.algorithm (--algorithm) to one of those, or use a token that supports " +
                  std::string(pki::key_algorithm_name(algorithm)),
              module.path());
}

}  // namespace meshca::hsm::p11
