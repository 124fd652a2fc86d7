# CRLs (revocation.crl): every bundle carries its intermediate's CRL and the
# root's; `openssl crl -verify` passes for each, `openssl verify
# -crl_check_all` passes for every chain, and after `meshca revoke` it fails
# for the revoked intermediate (and for a revoked workload certificate) while
# the other clusters still pass. Transcript, audit and checksums stay green.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e crl root passphrase'

MESH='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'
write_crl_plan plan.yaml keys/root.pem "CRL Root" "$MESH"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes

crl_blocks() {  # crl_blocks FILE PREFIX: one file per CRL block, prints their names
  csplit -s -z -f "$2" "$1" '/-----BEGIN X509 CRL-----/' '{*}'
  ls "$2"*
}
chain_ok() {  # chain_ok DIR: openssl verify with every CRL of the bundle
  openssl verify -x509_strict -crl_check_all -CAfile "$1/root-cert.pem" -untrusted "$1/cert-chain.pem" \
    -CRLfile "$1/ca-crl.pem" "${2:-$1/ca-cert.pem}" >verify.out 2>&1
}

for c in east west; do
  d=out/prod/$c
  check_bundle $d prod.e2e.internal
  # ca-crl.pem: the intermediate's CRL, then the root's, each verifying under its issuer.
  mapfile -t blocks < <(crl_blocks $d/ca-crl.pem "crl-$c-")
  [ "${#blocks[@]}" -eq 2 ] || fail "$d/ca-crl.pem holds ${#blocks[@]} CRLs, not 2"
  openssl crl -in "${blocks[0]}" -noout -verify -CAfile $d/ca-cert.pem 2>&1 | grep -q "verify OK" || fail "intermediate CRL of $c"
  openssl crl -in "${blocks[1]}" -noout -verify -CAfile out/root/root-cert.pem 2>&1 | grep -q "verify OK" || fail "root CRL in $c"
  cmp -s "${blocks[1]}" out/root/root-crl.pem || fail "$c carries another root CRL than out/root/root-crl.pem"
  openssl crl -in "${blocks[0]}" -noout -text | grep -q "X509v3 CRL Number" || fail "no CRL number"
  chain_ok $d || { cat verify.out; fail "crl_check_all fails for $c before any revocation"; }
  # The Secret manifest carries the CRLs too.
  b64=$(awk '/^  ca-crl.pem:/ { print $2 }' $d/cacerts.yaml)
  cmp -s <(printf '%s' "$b64" | base64 -d) $d/ca-crl.pem || fail "cacerts.yaml lacks ca-crl.pem for $c"
  pass
done
expect_exit 0 "$MESHCA" verify out/prod/east out/prod/west
expect_in "$WORK/last.out" "one from every CA of the chain"

# ---- revoke an intermediate: new root CRL, every bundle rewritten ---------
cp out/prod/east/ca-key.pem east-key.before
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --cert out/prod/west/ca-cert.pem --reason keyCompromise --yes
expect_in "$WORK/last.out" "revoked: O=E2E Corp"
expect_in "$WORK/last.out" "2 bundles rewritten"
serial=$(openssl x509 -in out/prod/west/ca-cert.pem -noout -serial | cut -d= -f2)
openssl crl -in out/root/root-crl.pem -noout -text >root-crl.txt
grep -q "Serial Number: $serial" root-crl.txt || { cat root-crl.txt; fail "the root CRL does not list the revoked intermediate"; }
grep -q "Key Compromise" root-crl.txt || fail "no reason code in the root CRL"
grep -q "CRL Number:" root-crl.txt && grep -A1 "CRL Number" root-crl.txt | grep -q "2" || fail "the root CRL number did not increase"
pass
chain_ok out/prod/east || { cat verify.out; fail "crl_check_all fails for the cluster that was not revoked"; }
if chain_ok out/prod/west; then fail "the revoked intermediate still verifies with crl_check_all"; fi
grep -q "certificate revoked" verify.out || { cat verify.out; fail "expected 'certificate revoked'"; }
pass
cmp -s east-key.before out/prod/east/ca-key.pem || fail "rewriting the bundle changed its key"
[ "$(stat -c %a out/prod/east/ca-key.pem)" = 600 ] || fail "ca-key.pem lost mode 0600"
pass
expect_exit 1 "$MESHCA" verify out/prod/west
expect_in "$WORK/last.out" "revokes O=E2E Corp, OU=prod, CN=west Intermediate CA"
expect_exit 0 "$MESHCA" verify out/prod/east
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_in "$WORK/last.out" "PASS crl prod/east: ca-crl.pem: CRLs of the intermediate and the root, fresh"
expect_in "$WORK/last.out" "WARN crl prod/west: the root's CRL revokes this intermediate"
(cd out && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match after the revocation"
pass
# Idempotent, and refusals with distinct exit codes.
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --serial "$serial" --reason keyCompromise --yes
expect_in "$WORK/last.out" "already revoked"
expect_exit 2 "$MESHCA" revoke plan.yaml --out out --serial 01 --reason certificateHold --yes
expect_in "$WORK/last.err" "keyCompromise"
expect_exit 3 "$MESHCA" revoke plan.yaml --out out --cert out/root/root-cert.pem --reason superseded --yes
expect_in "$WORK/last.err" "a root is not revoked"
expect_exit 3 "$MESHCA" revoke plan.yaml --out out --serial 0BADC0DE --reason superseded --yes
expect_in "$WORK/last.err" "--issuer MESH/CLUSTER"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout stranger.key -subj /CN=stranger -days 1 -out stranger.pem 2>/dev/null
expect_exit 3 "$MESHCA" revoke plan.yaml --out out --cert stranger.pem --reason superseded --yes
expect_in "$WORK/last.err" "was not issued by this plan's root"

# ---- revoke a workload certificate under its intermediate ----------------
issue_workload out/prod/east w1 server
cp out/root/root-crl.pem root-crl.before
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --cert w1.crt --reason affiliationChanged --yes
expect_in "$WORK/last.out" "issuer prod/east"
expect_in "$WORK/last.out" "1 bundle rewritten"
cmp -s root-crl.before out/root/root-crl.pem || fail "a workload revocation reissued the root CRL"
if chain_ok out/prod/east w1.crt; then fail "the revoked workload certificate still verifies"; fi
grep -q "certificate revoked" verify.out || { cat verify.out; fail "expected 'certificate revoked' for the workload"; }
issue_workload out/prod/east w2 server
chain_ok out/prod/east w2.crt || { cat verify.out; fail "a workload certificate that was not revoked fails"; }
pass

# ---- refresh: every CRL reissued, same revocations ------------------------
expect_exit 0 "$MESHCA" crl refresh plan.yaml --out out --yes
expect_in "$WORK/last.out" "2 bundles rewritten"
openssl crl -in out/root/root-crl.pem -noout -text | grep -q "Serial Number: $serial" || fail "refresh lost a revocation"
chain_ok out/prod/east || fail "east after refresh"
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
pass

# ---- renew the revoked cluster: its new bundle verifies with the CRLs ------
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --renew prod/west
chain_ok out/prod/west || { cat verify.out; fail "the renewed intermediate does not verify with its CRLs"; }
expect_exit 0 "$MESHCA" verify out/prod/east out/prod/west

# ---- a plan without CRLs cannot revoke --------------------------------------
write_file_plan plain.yaml keys/plain.pem "Plain Root" "$MESH"
expect_exit 0 "$MESHCA" ceremony run plain.yaml --out plain --yes
[ ! -e plain/prod/east/ca-crl.pem ] || fail "a plan without CRLs wrote ca-crl.pem"
# The same output audited against a plan that enables CRLs: the auditor sees they are missing.
cp plain.yaml plain-crl.yaml && printf 'revocation: {crl: true}\n' >>plain-crl.yaml
expect_exit 1 "$MESHCA" audit plain plain-crl.yaml
expect_in "$WORK/last.out" "FAIL crl prod/east: ca-crl.pem is missing"
expect_exit 3 "$MESHCA" revoke plain.yaml --out plain --cert plain/prod/east/ca-cert.pem --reason superseded --yes
expect_in "$WORK/last.err" "the plan does not enable CRLs"
finish
