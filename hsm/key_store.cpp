#include "hsm/key_store.hpp"

#include "core/error.hpp"
#include "hsm/file_key_store.hpp"
#include "hsm/pkcs11_key_store.hpp"

namespace meshca::hsm {

std::string describe_key_reference(const RootKeyRef& ref) {
  std::string alg(pki::key_algorithm_name(ref.algorithm));
  if (ref.kind == KeyStoreKind::file) return alg + " in encrypted file " + ref.file.path.string();
  const auto& p = ref.pkcs11;
  return alg + " in PKCS#11 token " + (p.token.empty() ? "serial " + p.serial : "'" + p.token + "'") + " key " +
         (p.label.empty() ? "id " + p.id_hex : "'" + p.label + "'") + " via " + p.module;
}

std::unique_ptr<KeyStore> open_key_store(const RootKeyRef& ref, KeyPresence presence, const KeyStoreContext& ctx) {
  switch (ref.kind) {
    case KeyStoreKind::file: return open_file_key_store(ref.file, ref.algorithm, presence, ctx);
    case KeyStoreKind::pkcs11: return open_pkcs11_key_store(ref.pkcs11, ref.algorithm, presence, ctx);
  }
  throw Error(ErrorKind::internal, "unknown key store kind");
}

}  // namespace meshca::hsm
