# Profile istio-tools-certs: a ceremony with it makes certificates whose
# extensions match what Istio's tools/certs recipe makes (its openssl
# commands replayed by scripts/istio-certs-recipe.sh): the same
# basicConstraints, the same critical keyUsage bits, RSA
# 4096 keys, subject O=Istio / CN=Intermediate CA / L=<cluster>, 730-day
# intermediates, and the recipe's DNS SAN on the intermediate. The lints'
# WARN (no cRLSign) is allowed and recorded in
# the transcript; the bundles verify with openssl and meshca verify.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e istio tools certs'

cat >plan.yaml <<'PLAN'
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: migrate}
profile: istio-tools-certs
root:
  subject: {O: Istio, CN: Root CA}
  key: {algorithm: rsa-4096, store: file, file: {path: keys/root.pem, passphrase: env:MESHCA_ROOT_PASS}}
  validity: 3650d
meshes:
  - name: istio
    trust_domain: cluster.local
    clusters: [{name: cluster1}]
PLAN
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
b=out/istio/cluster1

# The recipe, replayed with Istio's own openssl commands.
source "$MESHCA_SOURCE_DIR/scripts/istio-certs-recipe.sh"
istio_recipe_root recipe >/dev/null 2>&1 || fail "the recipe's root"
istio_recipe_cluster recipe recipe/cluster1 >/dev/null 2>&1 || fail "the recipe's intermediate"

ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }
for pair in "out/root/root-cert.pem recipe/root-cert.pem" "$b/ca-cert.pem recipe/cluster1/ca-cert.pem"; do
  set -- $pair
  [ "$(ext "$1" basicConstraints)" = "$(ext "$2" basicConstraints)" ] || fail "basicConstraints differ: $1 vs $2"
  [ "$(ext "$1" keyUsage)" = "$(ext "$2" keyUsage)" ] || fail "keyUsage differs: $1: $(ext "$1" keyUsage) vs $2: $(ext "$2" keyUsage)"
  [ -z "$(ext "$1" extendedKeyUsage)" ] && [ -z "$(ext "$2" extendedKeyUsage)" ] || fail "EKU in $1 or $2"
  [ -n "$(ext "$1" subjectKeyIdentifier)" ] || fail "no SKI in $1"
  [ "$(openssl x509 -in "$1" -noout -text | grep -c 'Public-Key: (4096 bit)')" -eq 1 ] || fail "$1 is not RSA 4096"
  pass
done
grep -q "CA:TRUE$" <(ext out/root/root-cert.pem basicConstraints) || fail "root has a pathlen"
grep -q "CA:TRUE, pathlen:0" <(ext $b/ca-cert.pem basicConstraints) || fail "intermediate pathlen"
pass
# The recipe's DNS SAN on the intermediate, none on the root.
[ "$(ext $b/ca-cert.pem subjectAltName)" = "$(ext recipe/cluster1/ca-cert.pem subjectAltName)" ] || fail "subjectAltName differs"
ext $b/ca-cert.pem subjectAltName | grep -q "DNS:istiod.istio-system.svc" || fail "no DNS SAN"
[ -z "$(ext out/root/root-cert.pem subjectAltName)" ] || fail "a SAN on the root"
pass
# Subject attributes (meshca writes them in canonical order) and lifetime.
attrs() { openssl x509 -in "$1" -noout -subject -nameopt sep_multiline,sname | tail -n +2 | sed 's/^ *//' | sort; }
[ "$(attrs $b/ca-cert.pem)" = "$(attrs recipe/cluster1/ca-cert.pem)" ] || fail "subjects differ: $(attrs $b/ca-cert.pem) vs $(attrs recipe/cluster1/ca-cert.pem)"
[ "$(attrs out/root/root-cert.pem)" = "$(attrs recipe/root-cert.pem)" ] || fail "root subjects differ"
days() { echo $(( ($(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) - $(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)) / 86400 )); }
[ "$(days $b/ca-cert.pem)" = 730 ] && [ "$(days recipe/cluster1/ca-cert.pem)" = 730 ] || fail "intermediate lifetime is not 730 days"
pass

# Still a working bundle; the lints' WARN is recorded, never a failure.
openssl verify -x509_strict -CAfile $b/root-cert.pem -untrusted $b/cert-chain.pem $b/ca-cert.pem >/dev/null || fail "openssl verify"
pass
grep '"step":"intermediate"' out/transcript.jsonl | grep -q '"lint_warnings":\["key-usage-crl-sign' || fail "lint warning not in the transcript"
grep '"step":"intermediate"' out/transcript.jsonl | grep -q '"name":"istio-tools-certs"' || fail "profile not in the transcript"
pass
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
expect_exit 0 "$MESHCA" verify $b
expect_in last.out "cRLSign"
finish
