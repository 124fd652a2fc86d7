# meshca audit OUT PLAN --deployed DIR: the cacerts Secrets running in the
# clusters, as `kubectl get secret cacerts -n istio-system -o yaml` prints
# them (DIR/<mesh>/<cluster>.yaml), against the bundles the transcript
# recorded. Real ceremonies make each case: a Secret equal to the bundle, one
# from before a renewal (stale), one from another ceremony (foreign), two
# edited by hand (a chain replaced, a key swapped), one missing, a stray
# file; after a CRL refresh the deployed copy is stale by its CRLs; and a
# cluster that keeps its own key is judged by its key and certificate.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e drift passphrase'
export KUBECONFIG="$WORK/no-such-kubeconfig"  # kubectl stays offline
command -v kubectl >/dev/null || fail "kubectl is missing (scripts/install-deps.sh installs kubernetes-client)"

write_crl_plan plan.yaml keys/root.pem "Drift Root" "$PROD_DEV_MESHES"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes

# deploy BUNDLE FILE: FILE as kubectl prints the Secret holding BUNDLE's files
# once it is in a cluster (kubectl's own rendering, plus the fields the API
# server adds).
deploy() {
  local from=()
  for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem ca-crl.pem; do
    [ -f "$1/$f" ] && from+=("--from-file=$1/$f")
  done
  mkdir -p "$(dirname "$2")"
  kubectl create secret generic cacerts -n istio-system --type=Opaque "${from[@]}" --dry-run=client -o yaml \
    | sed 's/^  creationTimestamp: null$/  creationTimestamp: "2026-12-01T10:00:00Z"\n  resourceVersion: "48213"\n  uid: 6f1d2c3b-3c1e-4c47-9d0a-2f5e0e6b1a77/' >"$2"
  grep -q '^type: Opaque' "$2" || fail "kubectl did not render $1"
}
# line_of FILE KEY: the `data` line of KEY in a deployed Secret.
line_of() { grep "^  $2: " "$1"; }

deploy out/prod/east deployed/prod/east.yaml
deploy out/prod/west deployed/prod/west.yaml
deploy out/dev/lab deployed/dev/lab.yaml
expect_exit 0 "$MESHCA" audit out plan.yaml --deployed deployed
for c in prod/east prod/west dev/lab; do expect_in last.out "PASS deployed $c: equal: deployed/$c.yaml is the bundle the transcript recorded last"; done
expect_in last.out "audit PASSED"

# prod/west is renewed; the copy deployed before is now stale.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --renew prod/west
# dev/lab edited by hand: cert-chain.pem replaced by the intermediate alone
# (it still chains to this root, but no recorded bundle holds it).
chain=$(line_of deployed/dev/lab.yaml cert-chain.pem)
ca=$(line_of deployed/dev/lab.yaml ca-cert.pem)
sed -i "s|^$chain\$|  cert-chain.pem: ${ca#  ca-cert.pem: }|" deployed/dev/lab.yaml
expect_exit 1 "$MESHCA" audit out plan.yaml --deployed deployed
expect_in last.out "PASS deployed prod/east: equal"
expect_in last.out "FAIL deployed prod/west: stale: deployed/prod/west.yaml is the bundle recorded at line"
expect_in last.out "it differs from OUT/prod/west in ca-cert.pem, ca-key.pem, cert-chain.pem, ca-crl.pem; apply OUT/prod/west/cacerts.yaml"
expect_in last.out "FAIL deployed dev/lab: hand-edited: deployed/dev/lab.yaml chains to this output's root but matches no recorded bundle: differs from OUT/dev/lab in cert-chain.pem"
# Only the deployed Secrets fail: OUT itself still audits clean.
[ "$(grep '^FAIL' last.out | grep -vc '^FAIL deployed ')" -eq 0 ] || { cat last.out; fail "OUT should audit clean"; }
pass
expect_exit 1 "$MESHCA" audit out plan.yaml --deployed deployed --json
jq -e '[.findings[] | select(.check == "deployed")] | map(.result) == ["PASS", "FAIL", "FAIL"]' last.out >/dev/null \
  || { cat last.out; fail "JSON findings"; }
pass

# Another ceremony (its own root) gives prod/east's Secret: foreign. dev/lab
# gets prod/east's key: the certificates are recorded, the key is not theirs.
# prod/west is not exported at all, and a file names no planned cluster.
write_crl_plan other.yaml keys/other.pem "Other Root" "$PROD_DEV_MESHES"
expect_exit 0 "$MESHCA" ceremony run other.yaml --out other --yes
mkdir -p deployed2
deploy other/prod/east deployed2/prod/east.yaml
deploy out/dev/lab deployed2/dev/lab.yaml
sed -i "s|^$(line_of deployed2/dev/lab.yaml ca-key.pem)\$|$(line_of deployed/prod/east.yaml ca-key.pem)|" deployed2/dev/lab.yaml
cp deployed2/prod/east.yaml deployed2/prod/north.yaml
expect_exit 1 "$MESHCA" audit out plan.yaml --deployed deployed2
expect_in last.out "FAIL deployed prod/east: foreign: the CA certificate in deployed2/prod/east.yaml"
expect_in last.out "is not issued by this output's root and was never recorded by this transcript (another ceremony)"
expect_in last.out "FAIL deployed prod/west: missing: no deployed2/prod/west.yaml (kubectl get secret cacerts -n istio-system -o yaml > deployed2/prod/west.yaml)"
expect_in last.out "FAIL deployed dev/lab: hand-edited: deployed2/dev/lab.yaml chains to this output's root but matches no recorded bundle: differs from OUT/dev/lab in ca-key.pem; and its ca-key.pem does not belong to its ca-cert.pem"
expect_in last.out "FAIL stray deployed2/prod/north.yaml: names no cluster of the plan"
# openssl agrees: the foreign intermediate does not verify under this root.
grep '^  ca-cert.pem: ' deployed2/prod/east.yaml | cut -d' ' -f4 | base64 -d >foreign.pem
if openssl verify -CAfile out/root/root-cert.pem foreign.pem >/dev/null 2>&1; then fail "openssl accepts the foreign CA under this root"; fi
pass

# A CRL refresh: the deployed prod/east now carries superseded CRLs.
deploy out/prod/west deployed/prod/west.yaml
deploy out/dev/lab deployed/dev/lab.yaml
expect_exit 0 "$MESHCA" audit out plan.yaml --deployed deployed
expect_exit 0 "$MESHCA" crl refresh plan.yaml --out out --yes
expect_exit 1 "$MESHCA" audit out plan.yaml --deployed deployed
expect_in last.out "FAIL deployed prod/east: stale:"
expect_in last.out "it differs from OUT/prod/east in ca-crl.pem; apply OUT/prod/east/cacerts.yaml"

# A cluster that keeps its own key (intermediate.csr): OUT never held the
# key, so the deployed key is judged against the recorded certificate.
ZERO_PIN=0000000000000000000000000000000000000000000000000000000000000000
write_file_plan pinned.yaml keys/pinned-root.pem "Pinned Drift Root" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east, intermediate: {csr: {path: east.csr.pem, spki_sha256: $ZERO_PIN}}}]"
expect_exit 0 "$MESHCA" csr create pinned.yaml --cluster prod/east --out near-east
cp near-east/ca.csr.pem east.csr.pem
sed -i "s/$ZERO_PIN/$(cat last.out)/" pinned.yaml
expect_exit 0 "$MESHCA" ceremony run pinned.yaml --out pinned --yes
expect_exit 0 "$MESHCA" bundle assemble pinned/prod/east --key near-east/ca-key.pem --out assembled
deploy assembled deployed3/prod/east.yaml
expect_exit 0 "$MESHCA" audit pinned pinned.yaml --deployed deployed3
expect_in last.out "PASS deployed prod/east: equal"
sed -i "s|^$(line_of deployed3/prod/east.yaml ca-key.pem)\$|$(line_of deployed/prod/east.yaml ca-key.pem)|" deployed3/prod/east.yaml
expect_exit 1 "$MESHCA" audit pinned pinned.yaml --deployed deployed3
expect_in last.out "FAIL deployed prod/east: hand-edited: deployed3/prod/east.yaml holds the recorded certificates, but its ca-key.pem does not belong to its ca-cert.pem"
# A Secret without the CA certificate is no cacerts bundle at all.
sed -i '/^  ca-cert.pem: /d' deployed3/prod/east.yaml
expect_exit 1 "$MESHCA" audit pinned pinned.yaml --deployed deployed3
expect_in last.out "FAIL deployed prod/east: hand-edited: deployed3/prod/east.yaml holds no readable ca-cert.pem"

expect_exit 3 "$MESHCA" audit out plan.yaml --deployed no-such-dir
finish
