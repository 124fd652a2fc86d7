# CRLs with a mesh root under the corporate CA (issue 20: "CRLs ... work for
# an externally issued root too"). Istio (Envoy with CRL_CHECK_ALL) refuses
# every peer unless each CA of the chain has signed a CRL in ca-crl.pem, so
# every bundle carries the intermediate's CRL, the mesh root's and one from
# each corporate CA (made here with `openssl ca -gencrl`). Checked:
# root import --crl (refusals: none given, one CA's CRL missing, a stale
# CRL, a CRL revoking the mesh root, nothing written); the ceremony's bundles
# pass openssl verify -crl_check_all, meshca verify and meshca audit;
# meshca crl import replaces the corporate CRLs in every bundle without the
# root key (and refuses a bad set, changing nothing); stale corporate CRLs
# stop a ceremony, crl refresh and revoke, and meshca verify FAILs them.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e corporate crl passphrase'

corp_pki corp "Corp Root CA"
cat corp-int.pem corp-root.pem >corp-chain.pem
ANCHOR=$(openssl x509 -in corp-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
corp_crls crls-1.pem -crldays 7

write_crl_plan plan.yaml keys/root.pem "Mesh Root CA" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]"
sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"$ANCHOR\"}/" plan.yaml
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_exit 0 "$MESHCA" root csr plan.yaml --out out --yes
corp_sign out/root/root.csr.pem mesh-root.pem 3650 1

# ---- root import --crl: refusals, nothing written ------------------------------
import_refused() {  # import_refused EXIT CRLFILE TEXT...
  local code=$1 crls=$2
  shift 2
  if [ -n "$crls" ]; then
    expect_exit "$code" "$MESHCA" root import plan.yaml --out out --yes --cert mesh-root.pem --chain corp-chain.pem --crl "$crls"
  else
    expect_exit "$code" "$MESHCA" root import plan.yaml --out out --yes --cert mesh-root.pem --chain corp-chain.pem
  fi
  for text in "$@"; do expect_in last.err "$text"; done
  [ ! -e out/root/root-cert.pem ] && [ ! -e out/root/issuer-crls.pem ] || fail "a refused import wrote the root or its CRLs"
  pass
}
import_refused 2 "" "--crl: the plan enables CRLs"
import_refused 3 int.crl "no CRL signed by O=Corp, CN=Corp Root CA"
corp_crl corp root short-root.crl -crlsec 1
cat int.crl short-root.crl >stale.pem
sleep 2
import_refused 3 stale.pem "the CRL of O=Corp, CN=Corp Root CA valid"
cp corp-int.index corp-int.index.saved
corp_revoke corp int mesh-root.pem
corp_crl corp int revoking.crl -crldays 7
cat revoking.crl root.crl >revoking.pem
cp corp-int.index.saved corp-int.index
import_refused 3 revoking.pem "revokes C=US, O=E2E Corp, CN=Mesh Root CA"

# ---- import, ceremony: four CRLs in every bundle ------------------------------
expect_exit 0 "$MESHCA" root import plan.yaml --out out --yes --cert mesh-root.pem --chain corp-chain.pem --crl crls-1.pem
expect_in last.out "issuer-crls.pem"
cmp -s out/root/issuer-crls.pem crls-1.pem || fail "out/root/issuer-crls.pem is not the imported CRLs"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
crl_check() {  # crl_check BUNDLE: openssl's strict verification with every CRL of the chain
  openssl verify -x509_strict -crl_check_all -CAfile "$1/root-cert.pem" -untrusted "$1/cert-chain.pem" -CRLfile "$1/ca-crl.pem" \
    "$1/ca-cert.pem" >/dev/null
}
for c in east west; do
  [ "$(grep -c 'BEGIN X509 CRL' out/prod/$c/ca-crl.pem)" -eq 4 ] || fail "out/prod/$c/ca-crl.pem should hold 4 CRLs"
  crl_check out/prod/$c || fail "openssl verify -crl_check_all failed for out/prod/$c"
  grep -qF "$(sed -n 2p root.crl)" out/prod/$c/ca-crl.pem || fail "out/prod/$c/ca-crl.pem lacks the anchor's CRL"
done
pass
expect_exit 0 "$MESHCA" verify out
expect_not_in last.out "FAIL"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_in last.out "PASS conformance root/issuer-crls.pem"
expect_in last.out "CRLs of the intermediate, the root and the corporate CAs, fresh"
expect_not_in last.out "FAIL"

# ---- crl import: the corporate CAs' next CRLs, no root key -----------------------
corp_crls crls-2.pem -crldays 7
cmp -s crls-1.pem crls-2.pem && fail "the second CRL set should differ (new CRL numbers)"
sums_before=$(sha256sum out/prod/*/* | sort)
# A bad set is refused and changes nothing.
expect_exit 3 "$MESHCA" crl import plan.yaml --out out --yes --crl int.crl
expect_in last.err "no CRL signed by O=Corp, CN=Corp Root CA"
[ "$(sha256sum out/prod/*/* | sort)" = "$sums_before" ] || fail "a refused crl import changed a bundle"
MESHCA_ROOT_PASS=wrong expect_exit 0 "$MESHCA" crl import plan.yaml --out out --yes --crl crls-2.pem
expect_in last.out "corporate CRLs: "
expect_in last.out "2 bundles rewritten"
cmp -s out/root/issuer-crls.pem crls-2.pem || fail "crl import did not replace out/root/issuer-crls.pem"
for c in east west; do
  grep -qF "$(sed -n 2p root.crl)" out/prod/$c/ca-crl.pem || fail "out/prod/$c/ca-crl.pem lacks the anchor's new CRL"
  crl_check out/prod/$c || fail "openssl verify -crl_check_all failed for out/prod/$c after crl import"
done
pass
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_not_in last.out "FAIL"
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
grep -q '"session":"crl-import"' out/transcript.jsonl || fail "the transcript does not record the crl-import session"

# A workload revoked under east: its intermediate's CRL, the corporate CRLs kept.
issue_workload out/prod/east wl frontend
expect_exit 0 "$MESHCA" revoke plan.yaml --out out --yes --cert wl.crt --reason keyCompromise
crl_check out/prod/east || fail "openssl verify -crl_check_all failed after revoke"
[ "$(grep -c 'BEGIN X509 CRL' out/prod/east/ca-crl.pem)" -eq 4 ] || fail "revoke dropped a corporate CRL"
pass

# ---- stale corporate CRLs stop every writer; verify FAILs them ----------------------
corp_crls crls-short.pem -crlsec 3
expect_exit 0 "$MESHCA" crl import plan.yaml --out out --yes --crl crls-short.pem
sleep 4
expect_exit 3 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "meshca crl import"
expect_exit 3 "$MESHCA" crl refresh plan.yaml --out out --yes
expect_in last.err "meshca crl import"
expect_exit 1 "$MESHCA" verify out/prod/east
expect_in last.out "FAIL crl"
expect_exit 1 "$MESHCA" audit out plan.yaml
expect_in last.out "root/issuer-crls.pem"
corp_crls crls-3.pem -crldays 7
expect_exit 0 "$MESHCA" crl import plan.yaml --out out --yes --crl crls-3.pem
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "2 kept"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_not_in last.out "FAIL"
finish
