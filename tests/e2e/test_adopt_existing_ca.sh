# Adoption of the CA a mesh already runs as the first rotation
# (rotation.current_ca): istiod's own self-signed CA, made here with the
# openssl CLI the way istiod makes it and published as its
# istio-ca-root-cert ConfigMap, and a tools/certs cacerts directory from
# scripts/istio-certs-recipe.sh. For every pair of adjacent phases, both
# directions, workloads complete mutual TLS with the openssl CLI, each
# trusting only its own phase's root-cert.pem; phases 0 and 3 refuse each
# other. Phase 1 is public-only: assembled near the cluster with the key it
# already holds, it passes meshca verify and openssl verify -x509_strict.
# The adopted CA's key never appears under the rotation output. Refusals
# (wrong pin, ConfigMap without root-cert.pem, a chain that does not
# verify) exit 3 naming the field and write nothing. Phases 1 and 2 carry
# trust files (IstioOperator overlay, istiod Helm values, trust-manager
# Bundle, PEM) with both roots, valid against the upstream schema excerpts;
# `meshca trust check` judges every phase against its neighbours, phase 0
# being the adopted CA. A trust domain migration (cluster.local to the
# mesh's) sets meshConfig.trustDomain and the alias per phase, and
# workloads of each phase's trust domain still complete mutual TLS across
# adjacent phases. A cacerts Secret YAML is adopted without decoding its key.
source "$(dirname "$0")/lib.sh"
SRC=${MESHCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$SRC/scripts/istio-certs-recipe.sh"
export MESHCA_NEW_ROOT_PASS='e2e adoption new root'
TD=cluster.local

# adoption_plan OUT KIND PATH SHA256 NEW_KEY [MESH_TRUST_DOMAIN ADOPTED_TRUST_DOMAIN]
adoption_plan() {
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: adopt}
organization: E2E Corp
rotation:
  current_ca:
    kind: $2
    path: $3
    sha256: "$4"${7:+
    trust_domain: $7}
  new_root:
    subject: {CN: Mesh Root 2031, O: E2E Corp, C: US}
    key:
      algorithm: ecdsa-p384
      store: file
      file: {path: $5, passphrase: env:MESHCA_NEW_ROOT_PASS}
    validity: 10y
defaults:
  intermediate:
    key: {algorithm: ecdsa-p256}
    validity: 1y
    name_constraints: trust_domain
meshes:
  - name: prod
    trust_domain: ${6:-$TD}
    clusters: [{name: east}, {name: west}]
outputs: {layouts: [istio-cacerts, k8s-secret], namespace: istio-system}
PLAN
}
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# expect_phases OUT PHASE0_DIR PHASE1_EAST_DIR PHASE1_WEST_DIR [OLD_TD NEW_TD]:
# handshakes between a server of cluster east and a client of west in
# phases A and B; workloads of phases 0 and 1 carry OLD_TD, of 2 and 3 NEW_TD.
expect_phases() {
  local out=$1 p0=$2 old_td=${5:-$TD} new_td=${6:-$TD}
  declare -A dirs=([0e]=$p0 [0w]=$p0 [1e]=$3 [1w]=$4)
  for p in 2 3; do dirs[${p}e]=$out/phase-$p/prod/east dirs[${p}w]=$out/phase-$p/prod/west; done
  local td
  for p in 0 1 2 3; do
    td=$old_td
    [ "$p" -lt 2 ] || td=$new_td
    issue_workload "${dirs[${p}e]}" "server$p" "server" "$td"
    issue_workload "${dirs[${p}w]}" "client$p" "client" "$td"
  done
  local a b pair want
  for pair in "0 1 ok" "1 2 ok" "2 3 ok" "0 3 refused"; do
    read -r a b want <<<"$pair"
    for dir in "$a $b" "$b $a"; do
      read -r s c <<<"$dir"
      phase_handshake "${dirs[${s}e]}" "server$s" "${dirs[${c}w]}" "client$c" "$want" "phase $s server, phase $c client"
    done
  done
}

# check_adopted_output OUT PLAN KEY_OF_ADOPTED_CA [NEW_TD]: every phase
# verified, the audit passes, phase 1 public-only, no private key of the
# adopted CA.
check_adopted_output() {
  local out=$1 plan=$2 key=$3 new_td=${4:-$TD}
  (cd "$out" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match"
  expect_exit 0 "$MESHCA" transcript verify "$out/transcript.jsonl" --out "$out"
  expect_exit 0 "$MESHCA" audit "$out" "$plan"
  expect_not_in "$WORK/last.out" "FAIL"
  expect_in "$WORK/last.out" "PASS trusted-roots phase-1/prod/east"
  for c in east west; do
    [ ! -e "$out/phase-1/prod/$c/ca-key.pem" ] || fail "phase 1 of $c holds a key"
    [ -f "$out/phase-1/prod/$c/public-bundle.yaml" ] || fail "phase 1 of $c has no public-bundle.yaml"
    for p in 2 3; do check_bundle "$out/phase-$p/prod/$c" "$new_td"; done
  done
  # No file under OUT holds the adopted CA's key (plain or base64 in a manifest).
  local adopted_pub
  adopted_pub=$(openssl pkey -in "$key" -pubout)
  while IFS= read -r f; do
    [ "$(openssl pkey -in "$f" -pubout 2>/dev/null)" != "$adopted_pub" ] || fail "$f holds the adopted CA's key"
  done < <(grep -rl "PRIVATE KEY" "$out")
  local body
  body=$(sed -n '2p' "$key")
  if grep -rqF -- "$body" "$out"; then fail "the adopted key's PEM appears under $out"; fi
  if grep -rqF -- "$(base64 -w0 <"$key" | cut -c1-60)" "$out"; then fail "the adopted key appears base64-encoded under $out"; fi
  pass
}

# check_trust_files OUT PHASE TRUST_DOMAINS [TRUST_DOMAIN ALIAS]: the trust
# files of both clusters in that phase are valid against the upstream schema
# excerpts, agree with each other, list exactly the roots of the phase's
# root-cert.pem, each vouching for TRUST_DOMAINS (comma-separated), and set
# meshConfig.trustDomain and trustDomainAliases as given (or not at all).
check_trust_files() {
  local c
  for c in east west; do
    python3 - "$SRC/tests/e2e" "$SRC/tests/data/schemas" "$1/phase-$2/prod/$c" "$3" "${4:-}" "${5:-}" <<'PY' || fail "trust files of phase $2 $c"
import sys
sys.path.insert(0, sys.argv[1])
from trust_files import read_trust_files
schemas_dir, d, tds, td, alias = sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.argv[5], sys.argv[6]
mc, bundle, pems = read_trust_files(schemas_dir, f"{d}/trust")
roots = open(f"{d}/root-cert.pem").read()
assert len(mc["caCertificates"]) == 2 and pems == roots, "caCertificates are not the phase's two roots"
assert all(c["trustDomains"] == tds for c in mc["caCertificates"]), mc["caCertificates"]
assert mc.get("trustDomain", "") == td, mc.get("trustDomain")
assert mc.get("trustDomainAliases", []) == ([alias] if alias else []), mc.get("trustDomainAliases")
PY
  done
  pass
}

# ---- istiod's self-signed CA ------------------------------------------------
# As istiod makes istio-ca-secret: a self-signed RSA-2048 root, O=cluster.local,
# CA:TRUE, keyCertSign; workloads carry only a SPIFFE URI SAN and are issued
# by the root itself.
mkdir -p istiod
openssl genrsa -out istiod/ca-key.pem 2048 2>/dev/null
openssl req -x509 -new -key istiod/ca-key.pem -sha256 -days 3650 -subj "/O=cluster.local" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" -out istiod/ca-cert.pem
mkdir -p current
{
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio-ca-root-cert\n  namespace: default\n  labels: {istio.io/config: "true"}\ndata:\n  root-cert.pem: |\n'
  sed 's/^/    /' istiod/ca-cert.pem
} >current/istio-ca-root-cert.yaml
# Phase 0 as the clusters run it: istiod signs with the root.
P0=istiod-phase0
mkdir -p $P0
cp istiod/ca-cert.pem $P0/ca-cert.pem
cp istiod/ca-key.pem $P0/ca-key.pem
cp istiod/ca-cert.pem $P0/cert-chain.pem
cp istiod/ca-cert.pem $P0/root-cert.pem
PIN=$(fingerprint istiod/ca-cert.pem)

adoption_plan istiod.yaml istiod-self-signed current/istio-ca-root-cert.yaml "$PIN" keys/new-istiod.pem
expect_exit 0 "$MESHCA" plan validate istiod.yaml
expect_in "$WORK/last.out" "rotation from the adopted istiod-self-signed CA of current/istio-ca-root-cert.yaml (root SHA-256 $PIN; its key never comes to the room)"
expect_exit 0 "$MESHCA" plan show istiod.yaml
expect_in "$WORK/last.out" "istiod-self-signed"
expect_in "$WORK/last.out" "$PIN"
expect_in "$WORK/last.out" "never comes to the room"

# Refusals: exit 3 at validation, naming the field; nothing written.
adoption_plan wrong-pin.yaml istiod-self-signed current/istio-ca-root-cert.yaml "$(printf 'AB%.0s' {1..32})" keys/new-x.pem
expect_exit 3 "$MESHCA" rotate phases wrong-pin.yaml --out refused --yes
expect_in "$WORK/last.err" "rotation.current_ca.sha256"
sed '/root-cert.pem/,$d' current/istio-ca-root-cert.yaml >current/no-root.yaml
printf '  other.pem: x\n' >>current/no-root.yaml
adoption_plan no-root.yaml istiod-self-signed current/no-root.yaml "$PIN" keys/new-x.pem
expect_exit 3 "$MESHCA" rotate phases no-root.yaml --out refused --yes
expect_in "$WORK/last.err" "rotation.current_ca.path"
expect_in "$WORK/last.err" "has no data.root-cert.pem"
[ ! -e refused ] && [ ! -e keys/new-x.pem ] && [ ! -e .meshca-tmp ] || fail "a refused adoption wrote files"
pass

# An adoption plan's ceremony is the rotation: `ceremony run` is refused, writing nothing.
expect_exit 3 "$MESHCA" ceremony run istiod.yaml --out refused --yes
expect_in "$WORK/last.err" "its ceremony is \`meshca rotate phases\`"
[ ! -e refused ] && [ ! -e keys/new-istiod.pem ] || fail "ceremony run on an adoption plan wrote files"
pass

expect_exit 0 "$MESHCA" rotate phases istiod.yaml --out rot-istiod --yes
expect_in "$WORK/last.out" "phase 0  x  phase 3: refuse each other"
[ "$(fingerprint rot-istiod/root/previous-root-cert.pem)" = "$PIN" ] || fail "previous-root-cert.pem is not the adopted root"
expect_in rot-istiod/PHASES.md "the adopted istiod-self-signed CA"
expect_in rot-istiod/PHASES.md "meshca bundle assemble"
# Phase 1, completed near each cluster with the key istiod already holds.
for c in east west; do
  expect_exit 0 "$MESHCA" bundle assemble rot-istiod/phase-1/prod/$c --key istiod/ca-key.pem --out assembled-istiod-$c
  d=assembled-istiod-$c
  cmp -s $d/ca-cert.pem istiod/ca-cert.pem || fail "phase 1 of $c does not keep istiod's signing certificate"
  # The trust files come along, checked against the SHA-256 public-bundle.yaml pins.
  diff -r rot-istiod/phase-1/prod/$c/trust $d/trust >/dev/null || fail "phase 1 of $c: trust/ not carried into the assembled bundle"
  openssl verify -x509_strict -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem $d/ca-cert.pem >/dev/null || fail "phase 1 $c"
  expect_exit 0 "$MESHCA" verify $d --trust-domain $TD
  pass
done
check_adopted_output rot-istiod istiod.yaml istiod/ca-key.pem
check_trust_files rot-istiod 1 "$TD"
check_trust_files rot-istiod 2 "$TD"
# Phase 3 is what the successor plan adopts: no trust files outside a
# federation, and the runbook says to drop the phase-2 lists.
[ ! -e rot-istiod/phase-3/prod/east/trust ] || fail "phase 3 of an unfederated mesh has trust files"
expect_in rot-istiod/PHASES.md "drop the old root from the trust configuration phases 1 and 2 applied"
expect_in rot-istiod/PHASES.md "phase-1/<mesh>/<cluster>/trust/istiod-values.yaml"
expect_exit 0 "$MESHCA" trust check istiod.yaml rot-istiod
expect_in "$WORK/last.out" "phase 0 prod/east"
expect_not_in "$WORK/last.out" "FAIL"
pass
# The auditor notices a phase-1 bundle that does not trust both roots.
cp -a rot-istiod tampered
cp tampered/phase-3/prod/east/root-cert.pem tampered/phase-1/prod/east/root-cert.pem
expect_exit 1 "$MESHCA" audit tampered istiod.yaml
expect_in "$WORK/last.out" "FAIL trusted-roots phase-1/prod/east: root-cert.pem does not hold the roots this phase must trust"
expect_phases rot-istiod $P0 assembled-istiod-east assembled-istiod-west

# ---- a tools/certs cacerts directory -----------------------------------------
istio_recipe_root recipe/root
istio_recipe_cluster recipe/root recipe/cluster1
RPIN=$(fingerprint recipe/root/root-cert.pem)
adoption_plan cacerts.yaml istio-cacerts recipe/cluster1 "$RPIN" keys/new-cacerts.pem
# A cacerts directory whose chain does not verify: another root.
cp -a recipe/cluster1 recipe/broken
ROOTCA_CN="Other Root" istio_recipe_root recipe/other
cp recipe/other/root-cert.pem recipe/broken/root-cert.pem
adoption_plan broken.yaml istio-cacerts recipe/broken "$(fingerprint recipe/other/root-cert.pem)" keys/new-x.pem
expect_exit 3 "$MESHCA" rotate phases broken.yaml --out refused --yes
expect_in "$WORK/last.err" "rotation.current_ca.path"
expect_in "$WORK/last.err" "does not verify"
[ ! -e refused ] && [ ! -e keys/new-x.pem ] || fail "a refused adoption wrote files"
pass
# The adopted CA's key is never opened: the rotation runs without it.
mv recipe/cluster1/ca-key.pem recipe/cluster1-ca-key.pem
expect_exit 0 "$MESHCA" rotate phases cacerts.yaml --out rot-cacerts --yes
mv recipe/cluster1-ca-key.pem recipe/cluster1/ca-key.pem
for c in east west; do
  expect_exit 0 "$MESHCA" bundle assemble rot-cacerts/phase-1/prod/$c --key recipe/cluster1/ca-key.pem --out assembled-cacerts-$c
  d=assembled-cacerts-$c
  cmp -s $d/ca-cert.pem recipe/cluster1/ca-cert.pem || fail "phase 1 of $c does not keep the tools/certs intermediate"
  openssl verify -x509_strict -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem $d/ca-cert.pem >/dev/null || fail "phase 1 $c"
  expect_exit 0 "$MESHCA" verify $d --trust-domain $TD
  pass
done
check_adopted_output rot-cacerts cacerts.yaml recipe/cluster1/ca-key.pem
expect_phases rot-cacerts recipe/cluster1 assembled-cacerts-east assembled-cacerts-west

# ---- the cacerts Secret YAML ---------------------------------------------------
# As `kubectl get secret cacerts -o yaml` prints it. Its ca-key.pem is not
# even base64: adoption never decodes it.
{
  printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: cacerts, namespace: istio-system}\ntype: Opaque\ndata:\n'
  for f in ca-cert cert-chain root-cert; do printf '  %s.pem: %s\n' $f "$(base64 -w0 recipe/cluster1/$f.pem)"; done
  printf '  ca-key.pem: "never decoded: not base64 at all!"\n'
} >recipe/cacerts-secret.yaml
adoption_plan secret.yaml istio-cacerts recipe/cacerts-secret.yaml "$RPIN" keys/new-secret.pem
expect_exit 0 "$MESHCA" plan validate secret.yaml
expect_exit 0 "$MESHCA" rotate phases secret.yaml --out rot-secret --yes
cmp -s rot-secret/phase-1/prod/east/ca-cert.pem recipe/cluster1/ca-cert.pem || fail "phase 1 from the Secret is not its intermediate"
expect_exit 0 "$MESHCA" audit rot-secret secret.yaml
expect_not_in "$WORK/last.out" "FAIL"
pass

# ---- a trust domain migration: istiod's cluster.local to the mesh's --------------
NEW_TD=prod.e2e.internal
adoption_plan migrate.yaml istiod-self-signed current/istio-ca-root-cert.yaml "$PIN" keys/new-migrate.pem $NEW_TD $TD
expect_exit 0 "$MESHCA" plan show migrate.yaml
expect_in "$WORK/last.out" "$TD -> $NEW_TD"
expect_exit 0 "$MESHCA" rotate phases migrate.yaml --out rot-migrate --yes
for c in east west; do
  expect_exit 0 "$MESHCA" bundle assemble rot-migrate/phase-1/prod/$c --key istiod/ca-key.pem --out assembled-migrate-$c
done
check_adopted_output rot-migrate migrate.yaml istiod/ca-key.pem $NEW_TD
check_trust_files rot-migrate 1 "$NEW_TD,$TD" $TD $NEW_TD
check_trust_files rot-migrate 2 "$NEW_TD,$TD" $NEW_TD $TD
[ ! -e rot-migrate/phase-3/prod/east/trust ] || fail "phase 3 of a migration has trust files"
expect_in rot-migrate/PHASES.md "trustDomainAliases stay as phase 2 set them"
expect_in rot-migrate/PHASES.md "this moves meshConfig.trustDomain to $NEW_TD"
expect_exit 0 "$MESHCA" trust check migrate.yaml rot-migrate
expect_not_in "$WORK/last.out" "FAIL"
pass
# Workloads of each phase's trust domain: phase-2 intermediates permit only
# the new one (name constraints), phase 0 and 1 workloads keep the old.
expect_phases rot-migrate $P0 assembled-migrate-east assembled-migrate-west $TD $NEW_TD
# The matrix reads what is deployed: a phase-2 cluster whose trust files
# trust nothing for the old trust domain refuses phase-1 workloads.
cp -a rot-migrate migrate-bad
python3 - migrate-bad/phase-2/prod/east/trust/istiod-values.yaml "$NEW_TD" <<'PY'
import sys, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path))
mc = doc["meshConfig"]
del mc["trustDomainAliases"]
for ca in mc["caCertificates"]:
    ca["trustDomains"] = [sys.argv[2]]
open(path, "w").write(yaml.safe_dump(doc))
PY
expect_exit 1 "$MESHCA" trust check migrate.yaml migrate-bad
expect_in "$WORK/last.out" "phase 2 prod/east refuses phase 1 prod/west: no root trusted for trust domain $TD"
expect_exit 1 "$MESHCA" audit migrate-bad migrate.yaml
expect_in "$WORK/last.out" "trust/istiod-values.yaml"
pass

# A migration belongs to one mesh's CA.
cat migrate.yaml >two-meshes.yaml
printf '  - name: lab\n    trust_domain: lab.e2e.internal\n    clusters: [{name: north}]\n' >>two-meshes.yaml
sed -i 's/^outputs:.*//' two-meshes.yaml
printf 'outputs: {layouts: [istio-cacerts, k8s-secret], namespace: istio-system}\n' >>two-meshes.yaml
expect_exit 3 "$MESHCA" plan validate two-meshes.yaml
expect_in "$WORK/last.err" "rotation.current_ca.trust_domain"
expect_in "$WORK/last.err" "the plan has 2 meshes"
pass
finish
