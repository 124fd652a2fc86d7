// Fuzzes the RFC 7512 PKCS#11 URI parser (hsm::parse_pkcs11_uri). A URI that
// parses must format back to one that parses to the same reference
// (pkcs11_uri.hpp promises parse(format(ref)) == ref).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"
#include "hsm/pkcs11_uri.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

bool same(const meshca::hsm::Pkcs11KeyRef& a, const meshca::hsm::Pkcs11KeyRef& b) {
  return a.module == b.module && a.token == b.token && a.serial == b.serial && a.label == b.label &&
         a.id_hex == b.id_hex && a.pin.kind == b.pin.kind && a.pin.value == b.pin.value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  meshca::hsm::Pkcs11KeyRef ref;
  try {
    ref = hsm::parse_pkcs11_uri(fuzz::as_text(data, size));
  } catch (const Error&) {
    return 0;  // refused with a message
  }
  std::string again;
  try {
    again = hsm::format_pkcs11_uri(ref);
  } catch (const Error& e) {
    std::fprintf(stderr, "a parsed PKCS#11 URI does not format back: %s\n", e.message().c_str());
    std::abort();
  }
  hsm::Pkcs11KeyRef back;
  try {
    back = hsm::parse_pkcs11_uri(again);
  } catch (const Error& e) {
    std::fprintf(stderr, "formatted URI '%s' does not parse: %s\n", again.c_str(), e.message().c_str());
    std::abort();
  }
  if (!same(ref, back)) {
    std::fprintf(stderr, "round trip changed the reference: '%s'\n", again.c_str());
    std::abort();
  }
  return 0;
}
