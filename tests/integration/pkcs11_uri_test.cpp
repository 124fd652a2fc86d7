// RFC 7512 URIs through p11-kit: fields, refusals, round trip.
#include <gtest/gtest.h>
#include <optional>

#include "core/error.hpp"
#include "hsm/pkcs11_uri.hpp"

namespace meshca::test {
namespace {

std::optional<ErrorKind> error_code_of(const std::string& uri, std::string* message = nullptr) {
  try {
    hsm::parse_pkcs11_uri(uri);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.message();
    return e.kind();
  }
  return std::nullopt;  // no error
}

TEST(Pkcs11Uri, ParsesTokenObjectIdTypeAndModule) {
  hsm::Pkcs11KeyRef ref = hsm::parse_pkcs11_uri(
      "pkcs11:token=acme%20root;serial=9f3c01;object=root-2026;id=%01%a2%FF;type=private"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(ref.token, "acme root");
  EXPECT_EQ(ref.serial, "9f3c01");
  EXPECT_EQ(ref.label, "root-2026");
  EXPECT_EQ(ref.id_hex, "01a2ff");
  EXPECT_EQ(ref.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(ref.pin.kind, SecretKind::env);  // the default PIN source
  EXPECT_EQ(ref.pin.value, "MESHCA_PIN");
}

TEST(Pkcs11Uri, RefusesControlBytesInTextAttributes) {
  // Found by fuzz_pkcs11_uri: token=%00x parsed, then formatted without the
  // token at all, so the reference silently changed.
  for (const char* uri : {"pkcs11:token=%00x;object=k", "pkcs11:token=t;serial=a%0ab;object=k",
                          "pkcs11:token=t;object=k%7f", "pkcs11:token=t;object=k?module-path=/lib/a%01.so"}) {
    std::string message;
    EXPECT_EQ(error_code_of(uri, &message), ErrorKind::invalid_input) << uri;
    EXPECT_NE(message.find("control byte"), std::string::npos) << message;
  }
  // Bytes of the id are binary by design and stay accepted.
  EXPECT_EQ(hsm::parse_pkcs11_uri("pkcs11:token=t;object=k;id=%00%1f").id_hex, "001f");
}

TEST(Pkcs11Uri, MinimalUriLeavesTheRestEmpty) {
  hsm::Pkcs11KeyRef ref = hsm::parse_pkcs11_uri("pkcs11:object=k");
  EXPECT_EQ(ref.label, "k");
  EXPECT_TRUE(ref.token.empty());
  EXPECT_TRUE(ref.serial.empty());
  EXPECT_TRUE(ref.id_hex.empty());
  EXPECT_TRUE(ref.module.empty());
}

TEST(Pkcs11Uri, PinSourceFileBecomesAFileReference) {
  hsm::Pkcs11KeyRef ref = hsm::parse_pkcs11_uri("pkcs11:token=t;object=k?pin-source=file:/run/secrets/pin");
  EXPECT_EQ(ref.pin.kind, SecretKind::file);
  EXPECT_EQ(ref.pin.value, "/run/secrets/pin");
  ref = hsm::parse_pkcs11_uri("pkcs11:token=t;object=k?pin-source=file:///run/secrets/pin");
  EXPECT_EQ(ref.pin.kind, SecretKind::file);
  EXPECT_EQ(ref.pin.value, "/run/secrets/pin");
}

TEST(Pkcs11Uri, PinValueIsRefusedWithoutEchoingIt) {
  std::string message;
  EXPECT_EQ(error_code_of("pkcs11:token=t;object=k?pin-value=secret-1234", &message), ErrorKind::invalid_input);
  EXPECT_NE(message.find("PIN values are not accepted in URIs"), std::string::npos) << message;
  EXPECT_EQ(message.find("secret-1234"), std::string::npos) << message;
}

TEST(Pkcs11Uri, MalformedUrisAreInvalidInput) {
  std::string message;
  EXPECT_EQ(error_code_of("https://example.com/", &message), ErrorKind::invalid_input);
  EXPECT_NE(message.find("malformed PKCS#11 URI"), std::string::npos) << message;
  EXPECT_EQ(error_code_of("pkcs11:object=%zz"), ErrorKind::invalid_input);
  EXPECT_EQ(error_code_of("pkcs11:token=t;object=k;type=cert"), ErrorKind::invalid_input);
  EXPECT_EQ(error_code_of("pkcs11:token=t;object=k;slot-id=3"), ErrorKind::invalid_input);
  EXPECT_EQ(error_code_of("pkcs11:token=t;object=k?pin-source=https://x/pin"), ErrorKind::invalid_input);
}

TEST(Pkcs11Uri, RoundTrip) {
  hsm::Pkcs11KeyRef ref;
  ref.module = "/usr/lib/softhsm/libsofthsm2.so";
  ref.token = "acme root;odd=chars";
  ref.serial = "0123456789abcdef";
  ref.label = "root key/2026";
  ref.id_hex = "00ff10a2";
  for (const SecretRef& pin : {SecretRef{SecretKind::env, "MESHCA_PIN"}, SecretRef{SecretKind::file, "/run/pin"},
                               SecretRef{SecretKind::env, "OTHER_PIN"}}) {
    ref.pin = pin;
    const std::string uri = hsm::format_pkcs11_uri(ref);
    EXPECT_TRUE(uri.starts_with("pkcs11:")) << uri;
    hsm::Pkcs11KeyRef back = hsm::parse_pkcs11_uri(uri);
    EXPECT_EQ(back.module, ref.module) << uri;
    EXPECT_EQ(back.token, ref.token) << uri;
    EXPECT_EQ(back.serial, ref.serial) << uri;
    EXPECT_EQ(back.label, ref.label) << uri;
    EXPECT_EQ(back.id_hex, ref.id_hex) << uri;
    EXPECT_EQ(back.pin.kind, ref.pin.kind) << uri;
    EXPECT_EQ(back.pin.value, ref.pin.value) << uri;
  }
}

}  // namespace
}  // namespace meshca::test
