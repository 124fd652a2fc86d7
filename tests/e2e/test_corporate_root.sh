# A mesh root under the corporate CA (issue 20, "Corporate root"): a
# two-level corporate PKI made here with the openssl CLI (self-signed
# corporate root, corporate issuing CA with pathLen 2), meshca root csr,
# the CSR signed by the corporate issuing CA with openssl, meshca root
# import, meshca ceremony run; then every bundle passes openssl verify
# -x509_strict with cert-chain.pem running up to the corporate anchor,
# meshca verify, meshca audit and a mutual-TLS handshake between two
# clusters, and a re-run keeps everything. Refused, with nothing written:
# a certificate for another key, a chain to another anchor, pathLen 0 on
# the root, a validity shorter than the planned intermediates, a second
# import, a ceremony before the import. CRLs with a root under the
# corporate CA: test_corporate_root_crl.sh; rotations to and from one:
# test_corporate_root_rotation.sh.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e corporate root passphrase'

# ---- the corporate PKI (its own process: openssl) ---------------------------
corp_pki corp "Corp Root CA"
corp_pki other "Other Root CA"
cat corp-int.pem corp-root.pem >corp-chain.pem
cat other-int.pem other-root.pem >other-chain.pem
ANCHOR=$(openssl x509 -in corp-root.pem -noout -fingerprint -sha256 | cut -d= -f2)

# ---- the plan ---------------------------------------------------------------
write_file_plan plan.yaml keys/root.pem "Mesh Root CA" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]
  - name: dev
    trust_domain: dev.e2e.internal
    clusters: [{name: lab}]"
sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"$ANCHOR\"}/" plan.yaml
expect_exit 0 "$MESHCA" plan validate plan.yaml

sed "s/anchor_sha256: \"$ANCHOR\"/anchor_sha256: \"12:34\"/" plan.yaml >badpin.yaml
expect_exit 3 "$MESHCA" plan validate badpin.yaml
expect_in last.err "root.external.anchor_sha256"
sed "/^  external: /d" plan.yaml >noext.yaml
expect_exit 3 "$MESHCA" plan validate noext.yaml
expect_in last.err "root.external: missing required field"

# root csr and root import are for an external root only.
sed "/^  issuer: external\$/d; /^  external: /d" plan.yaml >self.yaml
expect_exit 3 "$MESHCA" root csr self.yaml --out self-out --yes
expect_in last.err "root.issuer: self"

# ---- the ceremony before the import is refused, before the key store opens ---
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "no imported root certificate"
expect_in last.err "meshca root import"
[ ! -e keys/root.pem ] || fail "ceremony run before the import created the root key"
pass

# ---- root csr -----------------------------------------------------------------
expect_exit 0 "$MESHCA" root csr plan.yaml --out out --yes
expect_in last.out "generated in this run"
[ -f out/root/root.csr.pem ] || fail "root csr wrote no out/root/root.csr.pem"
openssl req -in out/root/root.csr.pem -noout -verify 2>&1 | grep -q "verify OK" || fail "openssl does not verify the root CSR"
openssl req -in out/root/root.csr.pem -noout -subject | grep -q "CN *= *Mesh Root CA" || fail "root CSR subject is not the plan's"
cmp -s <(openssl req -in out/root/root.csr.pem -noout -pubkey) \
  <(openssl pkey -in keys/root.pem -passin env:MESHCA_ROOT_PASS -pubout) || fail "root CSR does not carry the root key"
pass
expect_exit 5 "$MESHCA" root csr plan.yaml --out out --yes
expect_in last.err "already exists"
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "no imported root certificate"

# ---- refusals: nothing is written --------------------------------------------
refused() {  # refused CERT CHAIN TEXT...
  local cert=$1 chain=$2; shift 2
  expect_exit 3 "$MESHCA" root import plan.yaml --out out --yes --cert "$cert" --chain "$chain"
  for text in "$@"; do expect_in last.err "$text"; done
  [ ! -e out/root/root-cert.pem ] || fail "a refused import wrote out/root/root-cert.pem"
  pass
}
# A certificate for another key, with the plan's subject.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout stranger.key -subj "/C=US/O=E2E Corp/CN=Mesh Root CA" \
  -out stranger.csr 2>/dev/null
corp_sign stranger.csr stranger.pem 3650 1
refused stranger.pem corp-chain.pem "certifies another key" "than the plan's root key"
# Issued under another corporate PKI: not the pinned anchor.
corp_sign out/root/root.csr.pem other.pem 3650 1 other
refused other.pem other-chain.pem "root.external.anchor_sha256" "Other Root CA"
# pathLen 0 leaves no room for the intermediates.
corp_sign out/root/root.csr.pem pathlen0.pem 3650 0
refused pathlen0.pem corp-chain.pem "root.path_len: found critical CA:TRUE, pathLen 0" "pathLen 1 or more"
# 100 days cannot hold the planned one-year intermediates: each cluster named.
corp_sign out/root/root.csr.pem short.pem 100 1
refused short.pem corp-chain.pem "prod/east: found the planned intermediate" "prod/west" "dev/lab"
# A chain without the anchor does not reach the pinned anchor.
corp_sign out/root/root.csr.pem good.pem 3650 1
refused good.pem corp-int.pem "not self-signed"

# ---- import, then the ceremony ----------------------------------------------
expect_exit 0 "$MESHCA" root import plan.yaml --out out --yes --cert good.pem --chain corp-chain.pem
expect_in last.out "imported root: C=US, O=E2E Corp, CN=Mesh Root CA"
cmp -s out/root/root-cert.pem good.pem || fail "out/root/root-cert.pem is not the imported certificate"
[ "$(grep -c 'BEGIN CERTIFICATE' out/root/issuer-chain.pem)" -eq 2 ] || fail "issuer-chain.pem should hold 2 certificates"
pass
expect_exit 5 "$MESHCA" root import plan.yaml --out out --yes --cert good.pem --chain corp-chain.pem
expect_in last.err "never replaces a root"
expect_exit 5 "$MESHCA" root csr plan.yaml --out out --yes
expect_exit 0 "$MESHCA" verify out/root
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out

expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "reusing root certificate"
for b in out/prod/east out/prod/west out/dev/lab; do
  openssl verify -x509_strict -CAfile "$b/root-cert.pem" -untrusted "$b/cert-chain.pem" "$b/ca-cert.pem" >/dev/null \
    || fail "openssl verify -x509_strict failed for $b"
  cmp -s "$b/root-cert.pem" corp-root.pem || fail "$b/root-cert.pem is not the corporate anchor"
  cmp -s "$b/cert-chain.pem" <(cat "$b/ca-cert.pem" good.pem corp-int.pem corp-root.pem) \
    || fail "$b/cert-chain.pem is not intermediate, mesh root, corporate CA, anchor"
  cmp -s <(openssl pkey -in "$b/ca-key.pem" -pubout) <(openssl x509 -in "$b/ca-cert.pem" -noout -pubkey) \
    || fail "$b/ca-key.pem does not match"
  openssl x509 -in "$b/ca-cert.pem" -noout -issuer | grep -q "CN *= *Mesh Root CA" || fail "$b is not issued by the mesh root"
  pass
done
expect_exit 0 "$MESHCA" verify out
expect_not_in last.out "FAIL"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_in last.out "issued by the corporate CA"
expect_not_in last.out "FAIL"

# Mutual TLS between two clusters of the mesh, through the whole chain.
issue_workload out/prod/east east-wl frontend
issue_workload out/prod/west west-wl backend
export HANDSHAKE_VERIFY_DEPTH=4
handshake out/prod/east east-wl out/prod/west west-wl || fail "mTLS east -> west failed"
handshake out/prod/west west-wl out/prod/east east-wl || fail "mTLS west -> east failed"
pass

# ---- a re-run keeps everything -------------------------------------------------
sums_before=$(sha256sum out/*/*/* out/root/* | sort)
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued, 0 renewed, 3 kept"
[ "$(sha256sum out/*/*/* out/root/* | sort)" = "$sums_before" ] || fail "a re-run changed a bundle or the root"
pass
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out

# The auditor's copy without private keys audits from public files.
cp -a out audit-copy
find audit-copy \( -name ca-key.pem -o -name cacerts.yaml \) -delete
expect_exit 0 "$MESHCA" audit audit-copy plan.yaml --public-only
expect_in last.out "issued by the corporate CA"

# A swapped anchor in a bundle is found by the audit.
cp -a out tampered
chmod u+w tampered/prod/east/root-cert.pem
cp other-root.pem tampered/prod/east/root-cert.pem
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "prod/east"


# ---- the root key in a token (SoftHSM2): csr, import, ceremony, audit --------
softhsm_token corp-token
write_token_plan tplan.yaml "Token Mesh Root" ecdsa-p384 mesh-root "  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}]"
sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"$ANCHOR\"}/" tplan.yaml
expect_exit 0 "$MESHCA" root csr tplan.yaml --out tout --yes
expect_in last.out "generated in this run"
corp_sign tout/root/root.csr.pem token-root.pem 3650 1
expect_exit 0 "$MESHCA" root import tplan.yaml --out tout --yes --cert token-root.pem --chain corp-chain.pem
expect_exit 0 "$MESHCA" ceremony run tplan.yaml --out tout --yes
openssl verify -x509_strict -CAfile tout/prod/east/root-cert.pem -untrusted tout/prod/east/cert-chain.pem \
  tout/prod/east/ca-cert.pem >/dev/null || fail "openssl verify -x509_strict failed for the token-rooted bundle"
pass
expect_exit 0 "$MESHCA" verify tout
expect_exit 0 "$MESHCA" audit tout tplan.yaml

finish
