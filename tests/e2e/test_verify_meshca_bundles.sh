# Every bundle meshca produces passes meshca verify with zero FAIL and zero
# WARN, as a directory and as its Secret manifest; a kubectl-style Secret
# (stringData, `kind: List`) is read too; two fleets under different roots
# appear in the cross-cluster report as unable to talk.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e verify root passphrase'

write_file_plan plan-a.yaml keys/a.pem "Fleet A Root" "$PROD_DEV_MESHES"
write_file_plan plan-b.yaml keys/b.pem "Fleet B Root" '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}]' rsa-3072 rsa-2048
expect_exit 0 "$MESHCA" ceremony run plan-a.yaml --out a --yes
expect_exit 0 "$MESHCA" ceremony run plan-b.yaml --out b --yes

# Each bundle: zero FAIL, zero WARN, with its trust domain.
for spec in a/prod/east:prod.e2e.internal a/prod/west:prod.e2e.internal a/dev/lab:dev.e2e.internal \
  b/prod/east:prod.e2e.internal; do
  d=${spec%%:*} td=${spec#*:}
  expect_exit 0 "$MESHCA" verify "$d" --trust-domain "$td"
  expect_not_in "$WORK/last.out" "FAIL "
  expect_not_in "$WORK/last.out" "WARN "
  expect_in "$WORK/last.out" "PASS manifest"
  expect_in "$WORK/last.out" "spiffe://$td/ns/default/sa/default issued like istiod does verifies"
  # The same bundle as its Secret manifest.
  expect_exit 0 "$MESHCA" verify "$d/cacerts.yaml" --trust-domain "$td"
  expect_not_in "$WORK/last.out" "WARN "
  expect_in "$WORK/last.out" "$d/cacerts.yaml: "
done

# The wrong trust domain is refused by the intermediate's name constraint.
expect_exit 1 "$MESHCA" verify a/prod/east --trust-domain dev.e2e.internal
expect_in "$WORK/last.out" "FAIL name-constraints"
expect_in "$WORK/last.out" "permitted subtree violation"

# kubectl get secret -o yaml style: stringData, a List of two Secrets.
indent() { sed 's/^/      /' "$1"; }
{
  echo "apiVersion: v1"
  echo "kind: List"
  echo "items:"
  for c in east west; do
    d=a/prod/$c
    echo "- apiVersion: v1"
    echo "  kind: Secret"
    echo "  metadata: {name: cacerts, namespace: istio-system, uid: 0c1d-$c, resourceVersion: \"42\"}"
    echo "  type: Opaque"
    echo "  stringData:"
    for f in ca-cert.pem ca-key.pem cert-chain.pem; do
      echo "    $f: |"
      sed 's/^/      /' "$d/$f"
    done
    echo "  data:"
    echo "    root-cert.pem: $(base64 -w0 "$d/root-cert.pem")"
  done
} >kubectl-list.yaml
expect_exit 0 "$MESHCA" verify kubectl-list.yaml --trust-domain prod.e2e.internal
expect_not_in "$WORK/last.out" "WARN "
expect_in "$WORK/last.out" "kubectl-list.yaml#istio-system/cacerts"
expect_in "$WORK/last.out" "<-> kubectl-list.yaml#istio-system/cacerts: mutual trust"

# A kubernetes.io/tls Secret built from a meshca bundle.
{
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata: {name: cacerts, namespace: istio-system}"
  echo "type: kubernetes.io/tls"
  echo "data:"
  echo "  tls.crt: $(base64 -w0 a/prod/east/ca-cert.pem)"
  echo "  tls.key: $(base64 -w0 a/prod/east/ca-key.pem)"
  echo "  ca.crt: $(base64 -w0 a/prod/east/root-cert.pem)"
} >tls-secret.yaml
expect_exit 0 "$MESHCA" verify tls-secret.yaml
expect_in "$WORK/last.out" "PASS layout"
expect_in "$WORK/last.out" "kubernetes.io/tls layout"

# Bad base64 in a Secret is a FAIL, not a crash.
sed 's/^\(  tls.key: ....\)./\1$/' tls-secret.yaml >bad-secret.yaml
expect_exit 1 "$MESHCA" verify bad-secret.yaml
expect_in "$WORK/last.out" "data.tls.key is not valid base64"

# A manifest that disagrees with the files beside it.
cp -r a/prod/east edited
chmod u+w edited/root-cert.pem
cat b/root/root-cert.pem >edited/root-cert.pem
expect_exit 1 "$MESHCA" verify edited
expect_in "$WORK/last.out" "FAIL manifest"

# Cross-cluster: same root talks, different roots cannot. a/prod/east and
# b/prod/east both claim trust domain prod.e2e.internal (their name
# constraints): clusters of one mesh that cannot talk are a failure, and the
# two roots, whose subjects differ only in CN here, are named with SHA-256.
fp_a=$(openssl x509 -in a/root/root-cert.pem -noout -fingerprint -sha256 | cut -d= -f2)
fp_b=$(openssl x509 -in b/root/root-cert.pem -noout -fingerprint -sha256 | cut -d= -f2)
expect_exit 1 "$MESHCA" verify a/prod/east a/prod/west a/dev/lab b/prod/east
expect_in "$WORK/last.out" "a/prod/east <-> a/prod/west: mutual trust (shared root C=US, O=E2E Corp, CN=Fleet A Root [SHA-256 $fp_a])"
expect_in "$WORK/last.out" "different trust domains prod.e2e.internal / dev.e2e.internal"
expect_in "$WORK/last.out" "a/prod/east  x  b/prod/east: FAIL cannot talk: no shared root (C=US, O=E2E Corp, CN=Fleet A Root [SHA-256 $fp_a] vs C=US, O=E2E Corp, CN=Fleet B Root [SHA-256 $fp_b]); both claim trust domain prod.e2e.internal"
expect_in "$WORK/last.out" "a/dev/lab  x  b/prod/east: cannot talk"
expect_not_in "$WORK/last.out" "a/dev/lab  x  b/prod/east: FAIL"
expect_in "$WORK/last.out" "4 bundles checked at"
expect_in "$WORK/last.out" "2 pairs of one trust domain cannot talk"
expect_exit 1 "$MESHCA" verify --json a/prod/east b/prod/east
jq -e '(.ok | not) and (.cross_cluster | length) == 1 and (.cross_cluster[0].mutual | not) and
       .cross_cluster[0].must_talk and (.cross_cluster[0].ok | not) and
       ([.bundles[].ok] | all) and ([.bundles[].counts.warn] | add) == 0' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "unexpected JSON cross-cluster report"; }
pass
# Different trust domains under different roots: separate meshes, no failure.
expect_exit 0 "$MESHCA" verify a/dev/lab b/prod/east
expect_in "$WORK/last.out" "a/dev/lab  x  b/prod/east: cannot talk: no shared root"

# A root rotation bundle: root-cert.pem holds both roots, so B's workloads are
# accepted one way; one trust domain needs both ways.
mkdir rotating
cp a/prod/east/{ca-cert.pem,ca-key.pem,cert-chain.pem} rotating/
cat a/prod/east/root-cert.pem b/root/root-cert.pem >rotating/root-cert.pem
expect_exit 1 "$MESHCA" verify rotating b/prod/east
expect_in "$WORK/last.out" "rotating <-  b/prod/east: FAIL one way only"
expect_in "$WORK/last.out" "both are in trust domain prod.e2e.internal, so both ways are needed"

# A PEM file is not a bundle (a root directory's files name that root: see
# test_verify_directories.sh).
expect_exit 1 "$MESHCA" verify a/prod/east/ca-cert.pem
expect_in "$WORK/last.out" "a PEM file, not a bundle"
finish
