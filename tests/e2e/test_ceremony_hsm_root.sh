# The root key inside a SoftHSM2 token: generated there by the ceremony
# (sensitive, never extractable), signing the root and every intermediate.
# The bundles pass openssl verify like file-backed ones, the root key and the
# PIN appear nowhere on disk or in any output, and token errors exit 4.
source "$(dirname "$0")/lib.sh"
softhsm_token e2e-root

write_hsm_plan() {  # write_hsm_plan PATH ALGORITHM LABEL [TOKEN] [MODULE]
  write_token_plan "$1" "E2E HSM Root $2" "$2" "$3" "$PROD_DEV_MESHES" "" "${4:-}" "${5:-}"
}

root_key_absent_from() {  # no private key anywhere under DIR belongs to the root certificate
  local dir=$1 root_pub
  root_pub=$(openssl x509 -in "$2" -noout -pubkey)
  while IFS= read -r f; do
    if openssl pkey -in "$f" -pubout 2>/dev/null | cmp -s - <(echo "$root_pub"); then fail "root private key found in $f"; fi
  done < <(grep -rl "PRIVATE KEY" "$dir" 2>/dev/null || true)
  pass
}

for alg in ecdsa-p384 rsa-3072; do
  write_hsm_plan "plan-$alg.yaml" "$alg" "root-$alg"
  expect_exit 0 "$MESHCA" ceremony run "plan-$alg.yaml" --out "out-$alg" --yes
  expect_in last.out "PKCS#11 token 'e2e-root'"
  expect_in last.out "[generated in this run]"
  for d in out-$alg/prod/east out-$alg/prod/west out-$alg/dev/lab; do
    mesh=$(basename "$(dirname "$d")")
    check_bundle "$d" "$mesh.e2e.internal"
  done
  case $alg in
    ecdsa-p384) sig=ecdsa-with-SHA384 ;;
    rsa-3072) sig=sha256WithRSAEncryption ;;
  esac
  openssl x509 -in "out-$alg/prod/east/ca-cert.pem" -noout -text | grep -q "Signature Algorithm: $sig" || fail "$alg root did not sign with $sig"
  pass
  root_key_absent_from "out-$alg" "out-$alg/root/root-cert.pem"
  root_key_absent_from "$WORK" "out-$alg/root/root-cert.pem"
  # Every output, the transcript and the terminal output are free of the PIN.
  if grep -rqF -- "$MESHCA_PIN" "out-$alg" last.out last.err; then fail "the PIN leaked into an output"; fi
  pass
  # A second run loads the key from the token and keeps every bundle.
  expect_exit 0 "$MESHCA" ceremony run "plan-$alg.yaml" --out "out-$alg" --yes
  expect_in last.out "0 bundles issued, 0 renewed, 3 kept"
  expect_not_in last.out "[generated in this run]"
done

# The independent view of the token: sensitive, never extractable.
pkcs11-tool --module "$MODULE" --token-label e2e-root --login --pin "$MESHCA_PIN" --list-objects --type privkey >objects.txt 2>&1
grep -q "label:      root-ecdsa-p384" objects.txt || { cat objects.txt; fail "root key not listed by pkcs11-tool"; }
grep -q "never extractable" objects.txt || { cat objects.txt; fail "root key is extractable"; }
grep -q "sensitive" objects.txt || fail "root key is not sensitive"
pass
expect_exit 0 "$MESHCA" hsm list --module "$MODULE" --token e2e-root --pin-source env:MESHCA_PIN
expect_in last.out "root-rsa-3072"
expect_not_in last.out "$MESHCA_PIN"

# The same bundle structure as a file-backed ceremony.
export MESHCA_ROOT_PASS='e2e comparison passphrase'
sed -e 's|store: pkcs11|store: file|' -e "s|pkcs11: {.*}|file: {path: keys/root.pem}|" plan-ecdsa-p384.yaml >plan-file.yaml
expect_exit 0 "$MESHCA" ceremony run plan-file.yaml --out out-file --yes
diff <(cd out-file && find . -type f ! -name transcript.jsonl | sort) <(cd out-ecdsa-p384 && find . -type f ! -name transcript.jsonl | sort) \
  || fail "HSM and file ceremonies wrote different files"
ext() { openssl x509 -in "$1" -noout -ext basicConstraints,keyUsage,nameConstraints; }
cmp -s <(ext out-file/prod/east/ca-cert.pem) <(ext out-ecdsa-p384/prod/east/ca-cert.pem) || fail "HSM and file intermediates differ in extensions"
pass

# Token errors: exit 4, message saying what to do, nothing written.
MESHCA_PIN=0000 expect_exit 4 "$MESHCA" ceremony run plan-ecdsa-p384.yaml --out wrong-pin --yes
expect_in last.err "PIN"
expect_not_in last.err "0000"
write_hsm_plan unknown-token.yaml ecdsa-p384 root-x no-such-token
expect_exit 4 "$MESHCA" ceremony run unknown-token.yaml --out unknown --yes
expect_in last.err "e2e-root"   # the tokens that are there are listed
write_hsm_plan missing-module.yaml ecdsa-p384 root-x e2e-root /nonexistent/libpkcs11.so
expect_exit 4 "$MESHCA" ceremony run missing-module.yaml --out missing --yes
expect_in last.err "/nonexistent/libpkcs11.so"
for d in wrong-pin unknown missing; do
  [ -z "$(find "$d" -type f ! -name transcript.jsonl ! -name .meshca-lock 2>/dev/null)" ] || fail "$d: a failed token run left files"
done
pass
sed 's|pkcs11: {.*}|pkcs11: {uri: "pkcs11:token=e2e-root;object=%zz"}|' plan-ecdsa-p384.yaml >bad-uri.yaml
expect_exit 3 "$MESHCA" plan validate bad-uri.yaml
expect_in last.err "root.key.pkcs11.uri"
# keygen refuses to generate over an existing label.
expect_exit 4 "$MESHCA" hsm keygen --module "$MODULE" --token e2e-root --label root-ecdsa-p384 --algorithm ecdsa-p256 --pin-source env:MESHCA_PIN
expect_in last.err "root-ecdsa-p384"
expect_exit 0 "$MESHCA" hsm keygen --module "$MODULE" --token e2e-root --label standalone --algorithm ecdsa-p256 --pin-source env:MESHCA_PIN
# A plan can name the key by URI too.
sed "s|pkcs11: {.*}|pkcs11: {uri: \"pkcs11:token=e2e-root;object=standalone?module-path=$MODULE\"}|; s/algorithm: ecdsa-p384/algorithm: ecdsa-p256/" plan-ecdsa-p384.yaml >uri.yaml
expect_exit 0 "$MESHCA" ceremony run uri.yaml --out out-uri --yes
check_bundle out-uri/prod/east prod.e2e.internal
finish
