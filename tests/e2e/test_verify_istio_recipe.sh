# Bundles made by Istio's own tools/certs recipe (Makefile.selfsigned.mk +
# common.mk), replayed here with the same openssl commands: an RSA-4096 root
# and an RSA-4096 intermediate with pathlen:0 and no cRLSign. meshca verify
# passes them, reporting only the missing cRLSign as WARN; openssl agrees.
source "$(dirname "$0")/lib.sh"
source "${MESHCA_TESTS_DIR:-$(dirname "$0")/..}/data/verify/openssl_ca.sh"

source "$MESHCA_SOURCE_DIR/scripts/istio-certs-recipe.sh"
istio_recipe_root .
istio_recipe_cluster . cluster1
istio_recipe_cluster . cluster2

for c in cluster1 cluster2; do
  openssl verify -x509_strict -CAfile $c/root-cert.pem -untrusted $c/cert-chain.pem $c/ca-cert.pem >/dev/null \
    || fail "openssl rejects Istio's recipe for $c"
  pass
done

expect_exit 0 "$MESHCA" verify cluster1 --trust-domain cluster.local
expect_not_in "$WORK/last.out" "FAIL "
expect_finding "$WORK/last.out" WARN key-usage-crl-sign "CN=Intermediate CA"
expect_finding "$WORK/last.out" WARN key-usage-crl-sign "CN=Root CA"
# The missing cRLSign is the only warning.
[ "$(grep -c '^WARN ' "$WORK/last.out")" -eq 2 ] || { cat "$WORK/last.out"; fail "expected exactly 2 WARN lines"; }
pass
expect_finding "$WORK/last.out" PASS key-format "PKCS#8 key (RSA 4096)"
expect_finding "$WORK/last.out" PASS workload-peer "verifies as TLS server and client"
expect_in "$WORK/last.out" "cluster1: "

# Two clusters of the recipe share the root: the cross-cluster report says they can talk.
expect_exit 0 "$MESHCA" verify cluster1 cluster2 --problems-only
expect_in "$WORK/last.out" "cluster1 <-> cluster2: mutual trust (shared root O=Istio, CN=Root CA)"
expect_in "$WORK/last.out" "2 bundles checked"
finish
