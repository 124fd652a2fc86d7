#include "hsm/key_store.hpp"

#include "core/error.hpp"
#include "hsm/file_key_store.hpp"
#include "hsm/pkcs11_key_store.hpp"

namespace meshca::hsm {

std::unique_ptr<KeyStore> open_key_store(const RootKeyRef& ref, KeyPresence presence, const KeyStoreContext& ctx) {
  switch (ref.kind) {
    case KeyStoreKind::file: return open_file_key_store(ref.file, ref.algorithm, presence, ctx);
    case KeyStoreKind::pkcs11: return open_pkcs11_key_store(ref.pkcs11, ref.algorithm, presence, ctx);
  }
  throw Error(ExitCode::internal, "unknown key store kind");
}

}  // namespace meshca::hsm
