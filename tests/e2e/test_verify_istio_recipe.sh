# Bundles made by Istio's own tools/certs recipe (Makefile.selfsigned.mk +
# common.mk), replayed here with the same openssl commands: an RSA-4096 root
# and an RSA-4096 intermediate with pathlen:0 and no cRLSign. meshca verify
# passes them, reporting only the missing cRLSign as WARN; openssl agrees.
# Then the recipe with the variables users change, RSA and EC.
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

# The recipe with the variables users change (common.mk), RSA and EC: verify
# passes each (WARNs allowed) and openssl -x509_strict agrees. Raising
# INTERMEDIATE_DAYS to the root's 3650 makes the intermediate outlive the root
# by the seconds between the two openssl commands (the sleep makes it
# certain): istiod serves that bundle, so verify WARNs validity-nesting.
# recipe_variant NAME ROOT_ALG CLUSTER_ALG [VAR=VALUE...]
recipe_variant() {
  local name=$1 root_alg=$2 cluster_alg=$3
  shift 3
  (
    export "$@"
    istio_recipe_root "$name" "$root_alg"
    sleep 1
    istio_recipe_cluster "$name" "$name/cluster1" "$cluster_alg"
  )
  openssl verify -x509_strict -CAfile "$name/cluster1/root-cert.pem" -untrusted "$name/cluster1/cert-chain.pem" \
    "$name/cluster1/ca-cert.pem" >/dev/null || fail "openssl rejects the recipe variant $name"
  expect_exit 0 "$MESHCA" verify "$name/cluster1" --trust-domain cluster.local
  expect_not_in "$WORK/last.out" "FAIL "
  expect_finding "$WORK/last.out" PASS workload-peer "verifies as TLS server and client"
  pass
}
recipe_variant ec-p256 ecdsa-p256 ecdsa-p256
recipe_variant ec-p384-names ecdsa-p384 ecdsa-p256 ROOTCA_ORG=Example ROOTCA_CN="Example Root" \
  INTERMEDIATE_ORG=Example INTERMEDIATE_CN="Example Intermediate" INTERMEDIATE_SAN_DNS=istiod.mesh.svc
recipe_variant days-equal rsa-2048 rsa-2048 INTERMEDIATE_DAYS=3650
expect_finding "$WORK/last.out" WARN validity-nesting "is not inside the issuer's"
recipe_variant days-longer ecdsa-p256 rsa-3072 ROOTCA_DAYS=365 INTERMEDIATE_DAYS=730
expect_finding "$WORK/last.out" WARN validity-nesting "is not inside the issuer's"
pass

# Two clusters of the recipe share the root: the cross-cluster report says they can talk.
expect_exit 0 "$MESHCA" verify cluster1 cluster2 --problems-only
expect_in "$WORK/last.out" "cluster1 <-> cluster2: mutual trust (shared root O=Istio, CN=Root CA [SHA-256 "
expect_in "$WORK/last.out" "2 bundles checked"
finish
