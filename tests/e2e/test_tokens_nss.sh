# NSS softokn (libsoftokn3.so) loaded directly, its database named by
# init_args / --init-args (C_Initialize pReserved), then the same database
# through p11-kit-proxy with the init string in a p11-kit module file. Both
# runs do the full cycle; pkcs11-tool (through p11-kit-proxy) judges the keys.
source "$(dirname "$0")/lib.sh"
source "$MESHCA_SOURCE_DIR/tests/tokens/lib.sh"
start_nss
# Without its init args the module cannot start, and says what is missing.
expect_exit 4 "$MESHCA" hsm list --module "$MODULE"
expect_in last.err "needs initialization arguments"
exercise_token "ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072" ""
use_nss_proxy
mkdir direct && mv out-* strict-* wrong-* plan-* direct/  # the proxy pass makes its own ceremonies
exercise_token "ecdsa-p256 rsa-2048" ""
finish
