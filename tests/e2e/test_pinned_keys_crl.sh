# Pinned keys with revocation.crl (issue 20): the room cannot sign a pinned
# intermediate's CRL, so it decides it. A public-only bundle carries the
# CRLs above the intermediate (chain-crls.pem) and the content of the
# intermediate's own CRL (public-bundle.yaml, `crl:`: number, thisUpdate,
# nextUpdate, revoked serials, from the ledger); `meshca bundle assemble`
# signs exactly that near the cluster. Revocations and refreshes rewrite the
# public bundle. Judged by the openssl CLI (CRL signatures and numbers,
# `openssl verify -crl_check_all` of workloads), `meshca audit` (which
# compares each planned CRL with the ledger) and `meshca verify`.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e pinned keys with CRLs'
ZERO_PIN=0000000000000000000000000000000000000000000000000000000000000000

# east keeps its key (meshca csr create); lab's is made in the room.
write_crl_plan plan.yaml keys/root.pem "Pinned CRL Root" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters:
      - {name: east, intermediate: {csr: {path: requests/east.csr.pem, spki_sha256: $ZERO_PIN}}}
      - {name: lab}
  - {name: dev, trust_domain: dev.e2e.internal, clusters: [{name: north}]}
federation: [{name: prod-dev, meshes: [prod, dev]}]"
expect_exit 0 "$MESHCA" csr create plan.yaml --cluster prod/east --out cluster-east
EAST_PIN=$(cat last.out)
mkdir -p requests && cp cluster-east/ca.csr.pem requests/east.csr.pem
sed -i "s/$ZERO_PIN/$EAST_PIN/" plan.yaml
expect_exit 0 "$MESHCA" plan validate plan.yaml

# A rotation of a plan with pinned keys and CRLs is refused, with the reason.
cp plan.yaml rot.yaml
append_rotation rot.yaml out keys/new.pem "Pinned CRL Root 2031" false
expect_exit 3 "$MESHCA" plan validate rot.yaml
expect_in last.err "meshes[0].clusters[0].intermediate.csr"
expect_in last.err "a rotation with revocation.crl"

# planned_crl DIR FIELD: a field of the `crl:` section of DIR/public-bundle.yaml.
planned_crl() { sed -n '/^crl:/,$p' "$1/public-bundle.yaml" | sed -n "s/^  $2: //p" | tr -d "'"; }
# crl_number FILE: the CRL number of the first CRL in FILE, in decimal.
crl_number() { printf '%d' "$(openssl crl -in "$1" -noout -crlnumber | cut -d= -f2)"; }  # openssl prints 0x0A
# first_crl FILE OUT, rest_crls FILE OUT: split a CRL file after its first block.
first_crl() { awk '/BEGIN X509 CRL/{n++} n==1' "$1" >"$2"; }
rest_crls() { awk '/BEGIN X509 CRL/{n++} n>1' "$1" >"$2"; }
# assemble N: the public bundle of east, completed near the cluster into asm-N.
assemble() {
  expect_exit 0 "$MESHCA" bundle assemble out/prod/east --key cluster-east/ca-key.pem --out "asm-$1"
  [ -f "asm-$1/ca-crl.pem" ] || fail "assemble $1 wrote no ca-crl.pem"
  first_crl "asm-$1/ca-crl.pem" "asm-$1.own.crl"
  openssl crl -in "asm-$1.own.crl" -noout -CAfile "asm-$1/ca-cert.pem" 2>&1 | grep -q "verify OK" \
    || fail "assemble $1: the first CRL of ca-crl.pem is not signed by the cluster's intermediate"
  [ "$(crl_number "asm-$1.own.crl")" = "$(planned_crl out/prod/east number)" ] || fail "assemble $1: not the planned CRL number"
  rest_crls "asm-$1/ca-crl.pem" "asm-$1.rest.crl"
  cmp -s "asm-$1.rest.crl" out/prod/east/chain-crls.pem || fail "assemble $1: ca-crl.pem does not end with chain-crls.pem"
  expect_exit 0 "$MESHCA" verify "asm-$1"
  pass
}
# crl_verdict BUNDLE CERT: what openssl verify -crl_check_all says of CERT with only BUNDLE's ca-crl.pem.
crl_verdict() {
  openssl verify -x509_strict -crl_check_all -CAfile "$1/root-cert.pem" -untrusted "$1/cert-chain.pem" -CRLfile "$1/ca-crl.pem" "$2" 2>&1 || true
}
audit_ok() {
  expect_exit 0 "$MESHCA" audit out plan.yaml --quiet
  expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
}

# ---- the room: a public bundle that plans its CRL ----------------------------
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
[ ! -e out/prod/east/ca-crl.pem ] || fail "the public bundle holds a ca-crl.pem the room could not sign"
[ -f out/prod/east/chain-crls.pem ] || fail "the public bundle has no chain-crls.pem"
openssl crl -in out/prod/east/chain-crls.pem -noout -CAfile out/root/root-cert.pem 2>&1 | grep -q "verify OK" \
  || fail "chain-crls.pem is not the root's CRL"
cmp -s out/prod/east/chain-crls.pem out/root/root-crl.pem || fail "chain-crls.pem is not OUT/root/root-crl.pem"
[ "$(planned_crl out/prod/east number)" = 1 ] || fail "the first planned CRL is not number 1"
grep -q "^  revoked: \[\]$" out/prod/east/public-bundle.yaml || fail "the first planned CRL revokes something"
grep -q "needs: \[.*ca-crl.pem\]" out/prod/east/public-bundle.yaml || fail "public-bundle.yaml does not say ca-crl.pem is still needed"
[ -f out/prod/lab/ca-crl.pem ] || fail "the room-made bundle has no ca-crl.pem"
if grep -rl "PRIVATE KEY" out/prod/east; then fail "a private key in the public bundle"; fi
pass
audit_ok
"$MESHCA" audit out plan.yaml >audit.txt 2>&1 || { cat audit.txt; fail "audit"; }
grep -q "public-bundle.yaml plans the intermediate's CRL number 1" audit.txt || fail "the audit does not judge the planned CRL"
expect_exit 0 "$MESHCA" verify out/prod/east
# A re-run keeps both bundles, and the audit agrees.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued, 0 renewed, 3 kept"
audit_ok

# ---- near the cluster: assemble, and a workload the CRL check accepts ---------
assemble 1
# The federation's trust files need no key: assembly carries them as the room wrote them.
for f in istio-operator.yaml istiod-values.yaml trust-manager-bundle.yaml trust-bundle.pem; do
  cmp -s "asm-1/trust/$f" "out/prod/east/trust/$f" || fail "assemble did not carry trust/$f"
done
grep -q "^  trust/trust-bundle.pem: '$(sha256sum <out/prod/east/trust/trust-bundle.pem | cut -c1-64)'" out/prod/east/public-bundle.yaml \
  || fail "public-bundle.yaml does not pin the trust files it carries"
pass
issue_workload asm-1 wl-a alice
issue_workload asm-1 wl-b bob
crl_verdict asm-1 wl-a.crt | grep -q ": OK$" || fail "a workload of the assembled bundle fails the CRL check"
pass

# ---- a revocation of a workload of the pinned intermediate --------------------
WL_SERIAL=$(openssl x509 -in wl-a.crt -noout -serial | cut -d= -f2)
lab_before=$(sha256sum <out/prod/lab/ca-crl.pem)
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --cert wl-a.crt --reason keyCompromise --yes
[ "$(planned_crl out/prod/east number)" = 2 ] || fail "the revocation did not plan CRL number 2"
grep -q "serial: '$WL_SERIAL'.*reason: 'keyCompromise'" out/prod/east/public-bundle.yaml \
  || fail "the planned CRL does not list the revoked workload"
[ "$(sha256sum <out/prod/lab/ca-crl.pem)" = "$lab_before" ] || fail "another cluster's CRL changed"
grep -q '"signed_by":"the cluster'"'"'s key, at bundle assemble"' out/transcript.jsonl \
  || fail "the transcript does not say who signs the planned CRL"
audit_ok
assemble 2
crl_verdict asm-2 wl-a.crt | grep -q "certificate revoked" || fail "the revoked workload passes the CRL check"
crl_verdict asm-2 wl-b.crt | grep -q ": OK$" || fail "a workload that was not revoked fails the CRL check"
openssl crl -in asm-2.own.crl -noout -text | grep -q "Key Compromise" || fail "the assembled CRL lost the reason"
pass
# The bundle assembled before the revocation still says the workload is good:
# that is why the runbook carries every rewritten public bundle back.
crl_verdict asm-1 wl-a.crt | grep -q ": OK$" || fail "asm-1 changed"

# ---- a refresh: every CRL reissued, the pinned one planned anew ---------------
expect_exit 0 "$MESHCA" crl refresh plan.yaml --out out --yes
[ "$(planned_crl out/prod/east number)" = 3 ] || fail "the refresh did not plan CRL number 3"
grep -q "serial: '$WL_SERIAL'" out/prod/east/public-bundle.yaml || fail "the refresh dropped the revocation"
cmp -s out/prod/east/chain-crls.pem out/root/root-crl.pem || fail "chain-crls.pem is not the refreshed root CRL"
audit_ok
assemble 3
crl_verdict asm-3 wl-a.crt | grep -q "certificate revoked" || fail "the refresh lost the revocation"

# ---- revoking the pinned intermediate itself: the root's CRL lists it ---------
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --cert out/prod/east/ca-cert.pem --reason superseded --yes
EAST_SERIAL=$(openssl x509 -in out/prod/east/ca-cert.pem -noout -serial | cut -d= -f2)
openssl crl -in out/prod/east/chain-crls.pem -noout -text | grep -q "Serial Number: $EAST_SERIAL" \
  || fail "chain-crls.pem does not revoke the intermediate"
"$MESHCA" audit out plan.yaml >audit.txt 2>&1 || true
grep -q "the root's CRL revokes this intermediate" audit.txt || fail "the audit does not warn of the revoked intermediate"
pass

# ---- what the audit and assemble refuse ---------------------------------------
# A planned CRL that drops a revocation: a valid descriptor, but not what the
# ledger owes; the audit FAILs it (assemble alone cannot know the ledger).
cp -a out tampered
python3 - tampered/prod/east/public-bundle.yaml <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines(True)
out = [l for l in lines if not l.startswith("  - {serial:")]
out = [("  revoked: []\n" if l == "  revoked:\n" else l) for l in out]
open(p, "w").write("".join(out))
PY
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "public-bundle.yaml's planned CRL lists 0 revoked serial(s), the ledger 1"
# A number the ledger never reserved.
cp -a out tampered2
sed -i "s/^  number: .*/  number: 999/" tampered2/prod/east/public-bundle.yaml
expect_exit 1 "$MESHCA" audit tampered2 plan.yaml
expect_in last.out "which the ledger never reserved"
# A descriptor whose CRL section is not in meshca's form: assemble refuses it, writing nothing.
cp -a out tampered3
sed -i "s/^  number: .*/  number: 2x/" tampered3/prod/east/public-bundle.yaml
expect_exit 3 "$MESHCA" bundle assemble tampered3/prod/east --key cluster-east/ca-key.pem --out asm-bad
expect_in last.err "public-bundle.yaml"
[ ! -e asm-bad ] || fail "a refused assemble wrote its output"
# The CRLs above, missing: refused.
cp -a out tampered4
rm tampered4/prod/east/chain-crls.pem
expect_exit 3 "$MESHCA" bundle assemble tampered4/prod/east --key cluster-east/ca-key.pem --out asm-bad
expect_in last.err "chain-crls.pem"
[ ! -e asm-bad ] || fail "a refused assemble wrote its output"
# A carried trust file that is not the one the descriptor pins: refused.
cp -a out tampered5
echo "# edited" >>tampered5/prod/east/trust/istiod-values.yaml
expect_exit 3 "$MESHCA" bundle assemble tampered5/prod/east --key cluster-east/ca-key.pem --out asm-bad
expect_in last.err "trust/istiod-values.yaml: is not the file public-bundle.yaml carries"
[ ! -e asm-bad ] || fail "a refused assemble wrote its output"
finish
