#include "hsm/pkcs11_uri.hpp"

#include <p11-kit/uri.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_handles.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {
namespace {

using UriPtr = pki::Ptr<P11KitUri>;

// p11_kit_uri_format returns malloc'd text (not OpenSSL's, so not Ptr<char>).
struct CharFree {
  void operator()(char* p) const { std::free(p); }
};

UriPtr new_uri() {
  UriPtr uri(p11_kit_uri_new());
  if (!uri) throw Error(ErrorKind::internal, "p11_kit_uri_new failed");
  return uri;
}

std::string attribute_bytes(P11KitUri* uri, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE* attr = p11_kit_uri_get_attribute(uri, type);
  if (attr == nullptr || attr->pValue == nullptr || attr->ulValueLen == CK_UNAVAILABLE_INFORMATION) return {};
  return {static_cast<const char*>(attr->pValue), attr->ulValueLen};
}

SecretRef pin_source_ref(std::string_view source) {
  if (source.starts_with("file://")) {
    std::string_view rest = source.substr(7);
    if (!rest.starts_with("/")) {
      throw Error(ErrorKind::invalid_input, "pin-source file URIs must be file:///absolute/path (no host)");
    }
    return {SecretKind::file, std::string(rest)};
  }
  if (source.starts_with("file:") && source.size() > 5) return {SecretKind::file, std::string(source.substr(5))};
  if (source.starts_with("env:") || source == "prompt") return SecretRef::parse(source);
  if (source.starts_with("/")) return {SecretKind::file, std::string(source)};
  throw Error(ErrorKind::invalid_input, "pin-source in a PKCS#11 URI must be file:PATH (or env:NAME, prompt); got another scheme");
}

// A percent-encoded NUL or control byte would survive parsing but not
// formatting (p11-kit writes C strings), and no real token label, object
// label or path holds one: refuse it, naming the attribute.
std::string printable_attribute(std::string value, const char* name) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      throw Error(ErrorKind::invalid_input,
                  std::string("the PKCS#11 URI attribute ") + name + " contains a control byte (percent-encoded %00-%1f or %7f)");
    }
  }
  return value;
}

void copy_padded(unsigned char* field, std::size_t size, const std::string& value, const char* name) {
  if (value.size() > size) {
    throw Error(ErrorKind::invalid_input,
                std::string("the token ") + name + " '" + value + "' is longer than PKCS#11 allows (" + std::to_string(size) + " bytes)");
  }
  std::memset(field, ' ', size);
  std::memcpy(field, value.data(), value.size());
}

}  // namespace

Pkcs11KeyRef parse_pkcs11_uri(std::string_view text) {
  // The URI itself is never echoed in errors: it might carry a PIN.
  std::string copy(text);
  if (copy.find('\0') != std::string::npos) throw Error(ErrorKind::invalid_input, "PKCS#11 URI contains a NUL byte");
  UriPtr uri = new_uri();
  int rc = p11_kit_uri_parse(copy.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
  if (rc != P11_KIT_URI_OK) {
    const char* reason = p11_kit_uri_message(rc);
    throw Error(ErrorKind::invalid_input, std::string("malformed PKCS#11 URI: ") + (reason != nullptr ? reason : "unknown error") +
                                              " (expected pkcs11:token=...;object=...[;id=%xx...][?module-path=...])");
  }
  if (p11_kit_uri_get_pin_value(uri.get()) != nullptr) {
    throw Error(ErrorKind::invalid_input,
                "PIN values are not accepted in URIs (pin-value=); remove it and give the PIN through "
                "pin-source=file:PATH in the URI or the --pin-source option (env:NAME, file:PATH, prompt)");
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    throw Error(ErrorKind::invalid_input, "the PKCS#11 URI has path attributes meshca does not understand");
  }
  if (p11_kit_uri_get_slot_id(uri.get()) != static_cast<CK_SLOT_ID>(-1)) {
    throw Error(ErrorKind::invalid_input,
                "slot-id is not accepted in a PKCS#11 URI: slot numbers change, name the token (token=, serial=)");
  }

  Pkcs11KeyRef ref;
  CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  ref.token = printable_attribute(p11::fixed_string(token->label, sizeof token->label), "token");
  ref.serial = printable_attribute(p11::fixed_string(token->serialNumber, sizeof token->serialNumber), "serial");
  ref.label = printable_attribute(attribute_bytes(uri.get(), CKA_LABEL), "object");
  std::string id = attribute_bytes(uri.get(), CKA_ID);
  ref.id_hex = to_hex(id);
  std::string cls = attribute_bytes(uri.get(), CKA_CLASS);
  if (!cls.empty()) {
    CK_OBJECT_CLASS value = 0;
    if (cls.size() == sizeof value) std::memcpy(&value, cls.data(), sizeof value);
    if (value != CKO_PRIVATE_KEY) {
      throw Error(ErrorKind::invalid_input, "the PKCS#11 URI must name a private key (type=private or no type)");
    }
  }
  if (const char* module = p11_kit_uri_get_module_path(uri.get())) {
    ref.module = printable_attribute(module, "module-path");
  }
  if (const char* source = p11_kit_uri_get_pin_source(uri.get())) {
    ref.pin = pin_source_ref(printable_attribute(source, "pin-source"));
  }
  return ref;
}

std::string format_pkcs11_uri(const Pkcs11KeyRef& ref) {
  UriPtr uri = new_uri();
  CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  if (!ref.token.empty()) copy_padded(token->label, sizeof token->label, ref.token, "label");
  if (!ref.serial.empty()) copy_padded(token->serialNumber, sizeof token->serialNumber, ref.serial, "serial");
  std::string label = ref.label;
  if (!label.empty()) {
    CK_ATTRIBUTE attr{CKA_LABEL, label.data(), label.size()};
    p11_kit_uri_set_attribute(uri.get(), &attr);
  }
  if (!ref.id_hex.empty()) {
    auto id = from_hex(ref.id_hex);
    if (!id) throw Error(ErrorKind::invalid_input, "the key id must be hex bytes, got '" + ref.id_hex + "'");
    CK_ATTRIBUTE attr{CKA_ID, id->data(), id->size()};
    p11_kit_uri_set_attribute(uri.get(), &attr);
  }
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE class_attr{CKA_CLASS, &cls, sizeof cls};
  p11_kit_uri_set_attribute(uri.get(), &class_attr);
  if (!ref.module.empty()) p11_kit_uri_set_module_path(uri.get(), ref.module.c_str());
  const bool default_pin = ref.pin.kind == SecretKind::env && ref.pin.value == "MESHCA_PIN";
  // A PIN held as custodians' shares has no source a URI can name.
  if (!default_pin && ref.pin.kind != SecretKind::shares) {
    // "file://x" would read back as the file "x": a path that itself starts
    // with "//" needs the empty-authority form "file:////...".
    std::string source = ref.pin.to_string();
    if (ref.pin.kind == SecretKind::file && ref.pin.value.starts_with("//")) source = "file://" + ref.pin.value;
    p11_kit_uri_set_pin_source(uri.get(), source.c_str());
  }

  char* raw = nullptr;
  int rc = p11_kit_uri_format(uri.get(), P11_KIT_URI_FOR_ANY, &raw);
  std::unique_ptr<char, CharFree> owned(raw);
  if (rc != P11_KIT_URI_OK || !owned) {
    const char* reason = p11_kit_uri_message(rc);
    throw Error(ErrorKind::internal, std::string("cannot format the PKCS#11 URI: ") + (reason ? reason : "unknown"));
  }
  return owned.get();
}

}  // namespace meshca::hsm
