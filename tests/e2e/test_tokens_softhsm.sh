# SoftHSM2 as a real token: every algorithm through hsm list/keygen, a
# ceremony generating the root key (id-only reference) and one reusing it,
# require: signing-only, a wrong PIN; pkcs11-tool judges that every root key
# is sensitive, never extractable and signing-only. Rows for docs/tokens.md.
source "$(dirname "$0")/lib.sh"
source "$MESHCA_SOURCE_DIR/tests/tokens/lib.sh"
start_softhsm
exercise_token "ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072" ""
grep -q $'\tusage' "$RESULTS_FILE" && fail "a SoftHSM2 root key is not signing-only"
pass
# An RFC 7512 URI with only id= names the same key.
id=c0$(printf '%s' "$TOKEN_ID-ecdsa-p256" | sha256sum | cut -c1-8)
pct_id=$(printf '%s' "$id" | sed 's/../%&/g')
sed "s|pkcs11: {.*}|pkcs11: {uri: \"pkcs11:token=$TOKEN;id=$pct_id?module-path=$MODULE\"}|" plan-ecdsa-p256.yaml >uri-id.yaml
expect_exit 0 "$MESHCA" plan validate uri-id.yaml
expect_exit 0 "$MESHCA" ceremony run uri-id.yaml --out out-uri-id --yes
expect_not_in last.out "[generated in this run]"
cmp -s <(openssl x509 -in out-uri-id/root/root-cert.pem -noout -pubkey) <(openssl x509 -in out-ecdsa-p256/root/root-cert.pem -noout -pubkey) \
  || fail "the id-only URI did not name the key the id-only plan generated"
pass
record ecdsa-p256 "ceremony (RFC 7512 URI with id= only)" ok
# The validator and the ceremony agree on the new pkcs11 fields.
write_token_plan bad-require.yaml ecdsa-p256 'id: "c0ff"' ", require: everything"
expect_exit 3 "$MESHCA" plan validate bad-require.yaml
expect_in last.err "root.key.pkcs11.require"
sed "s|module: $MODULE|module: libsofthsm2.so|" plan-ecdsa-p256.yaml >relative.yaml
expect_exit 3 "$MESHCA" plan validate relative.yaml
expect_in last.err "must be an absolute path"
# init_args is part of the plan digest.
write_token_plan with-init.yaml ecdsa-p256 'id: "c0ff"' ', init_args: "x=1"'
write_token_plan without-init.yaml ecdsa-p256 'id: "c0ff"'
d1=$("$MESHCA" plan digest with-init.yaml)
d2=$("$MESHCA" plan digest without-init.yaml)
[ -n "$d1" ] && [ "$d1" != "$d2" ] || fail "init_args does not change the plan digest"
pass
# A world-writable copy of the module owned by another user is never loaded.
mkdir -m 0755 "$WORK/evil"
cp "$(readlink -f "$MODULE")" "$WORK/evil/libsofthsm2.so"
chmod 0666 "$WORK/evil/libsofthsm2.so"
chown 65534 "$WORK/evil/libsofthsm2.so"
expect_exit 4 "$MESHCA" hsm list --module "$WORK/evil/libsofthsm2.so"
expect_in last.err "is owned by"
record "-" "module owned by another user, world-writable" "refused (exit 4)"
finish
