// Ptr<T> for the libp11 and p11-kit types hsm/ owns: the same vocabulary as
// pki/handles.hpp (one DeleterFor<T> specialisation per type), so no code
// in hsm/ calls a *_free function itself.
//
// A PKCS11_CTX is freed here, not unloaded: unloading it finalizes the
// module (C_Finalize) and is done exactly once, by ~Pkcs11Module
// (hsm/pkcs11_module.hpp), before the context is freed.
#pragma once

#include <libp11.h>
#include <p11-kit/uri.h>

#include "pki/handles.hpp"

MESHCA_DELETER(PKCS11_CTX, PKCS11_CTX_free);
MESHCA_DELETER(P11KitUri, p11_kit_uri_free);
