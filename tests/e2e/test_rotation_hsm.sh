# Root rotation with both roots inside one SoftHSM2 token: the new root key is
# generated there, the current root key cross-signs it, and both stores share
# the token's module in one process (closing one must not finalise the other).
source "$(dirname "$0")/lib.sh"
softhsm_token e2e-rot

write_token_plan cur.yaml "HSM Root 2026" ecdsa-p384 root-2026 '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}, {name: north}]' 2
expect_exit 0 "$MESHCA" ceremony run cur.yaml --out out --yes
cp cur.yaml rot.yaml
cat >>rot.yaml <<ROT
rotation:
  current_output: out
  current_root_sha256: "$(openssl x509 -in out/root/root-cert.pem -noout -fingerprint -sha256 | cut -d= -f2)"
  new_root:
    subject: {CN: HSM Root 2031, O: E2E Corp}
    key:
      algorithm: ecdsa-p256
      store: pkcs11
      pkcs11: {module: $MODULE, token: e2e-rot, label: root-2031, pin: env:MESHCA_PIN}
    validity: 10y
  cross_sign: true
ROT
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes --jobs 2
expect_in "$WORK/last.out" "PKCS#11 token 'e2e-rot'"
expect_in "$WORK/last.out" "[generated in this run]"
expect_in "$WORK/last.out" "3 clusters rotated; 12 bundles verified"

# The new root key lives in the token, sensitive and not extractable.
pkcs11-tool --module "$MODULE" --token-label e2e-rot --login --pin "$MESHCA_PIN" --list-objects --type privkey >objects.txt 2>/dev/null
grep -q "label:      root-2031" objects.txt || { cat objects.txt; fail "the new root key is not in the token"; }
grep -A8 "label:      root-2031" objects.txt | grep -q "never extractable" || fail "the new root key is extractable"
pass
if grep -rl "PRIVATE KEY" rot | xargs -r -n1 sh -c 'openssl pkey -in "$0" -pubout 2>/dev/null' | grep -qf <(openssl x509 -in rot/root/root-cert.pem -noout -pubkey | sed -n 2p); then
  fail "the new root private key left the token"
fi
pass

openssl verify -x509_strict -CAfile out/root/root-cert.pem rot/root/cross-signed-root-cert.pem >/dev/null || fail "cross-signed root"
for p in 1 2 3; do
  for c in east west north; do
    d=rot/phase-$p/prod/$c
    openssl verify -x509_strict -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem $d/ca-cert.pem >/dev/null || fail "$d"
  done
done
pass
# A phase-0 workload and a phase-2 workload talk through the cross-signed root.
issue_workload out/prod/east s0 server
issue_workload rot/phase-2/prod/west c2 client
handshake out/prod/east s0 rot/phase-2/prod/west c2 || { cat client.log server.log; fail "phase 0 <-> phase 2 through the cross-signed root"; }
pass
expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
finish
