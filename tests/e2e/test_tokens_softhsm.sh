# SoftHSM2 as a real token: every algorithm through hsm list/keygen, a
# ceremony generating the root key (id-only reference) and one reusing it,
# require: signing-only, a wrong PIN; pkcs11-tool judges that every root key
# is sensitive, never extractable and signing-only. Rows for docs/tokens.md.
source "$(dirname "$0")/lib.sh"
source "$MESHCA_SOURCE_DIR/tests/tokens/lib.sh"
start_softhsm
exercise_token "ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072" ""
grep -q $'\tkey usage' "$RESULTS_FILE" && fail "a SoftHSM2 root key is not signing-only"
pass
finish
