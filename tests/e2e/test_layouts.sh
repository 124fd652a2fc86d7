# Output layouts (docs/output-layouts.md): one plan writes istio-cacerts +
# k8s-secret + istio-tls, linkerd, cert-manager and spire material. Each is
# judged by the openssl CLI, each manifest decodes to the exact file bytes
# and equals what `kubectl create ... --dry-run=client -o yaml` makes offline
# from the same files, the cert-manager Issuer validates against
# cert-manager's published schema, istio-tls passes `meshca verify`, a SPIRE
# server CA and SVID chain below the spire layout verify strictly, the
# validator rejects a Linkerd mesh with an RSA issuer, and adding a layout to
# an existing output overwrites nothing.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e layouts passphrase'
export KUBECONFIG="$WORK/no-such-kubeconfig"  # kubectl stays offline

cat >plan.yaml <<'PLAN'
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: layouts}
organization: E2E Corp
root:
  subject: {CN: Layouts Root CA, O: E2E Corp}
  key: {algorithm: ecdsa-p256, store: file, file: {path: keys/root.pem, passphrase: env:MESHCA_ROOT_PASS}}
  validity: 10y
  path_len: 2
defaults:
  intermediate: {name_constraints: trust_domain}
outputs:
  layouts: [istio-cacerts, k8s-secret, istio-tls]
  namespace: mesh-ca
meshes:
  - name: istio
    trust_domain: istio.e2e.internal
    clusters: [{name: east}]
  - name: ld
    trust_domain: cluster.local
    profile: linkerd
    outputs: {layouts: [linkerd]}
    clusters: [{name: east}]
  - name: cm
    trust_domain: cm.e2e.internal
    outputs: {layouts: [cert-manager], cert_manager: {kind: Issuer, name: mesh-ca, namespace: apps}}
    clusters: [{name: east}]
  - name: cmc
    trust_domain: cmc.e2e.internal
    outputs: {layouts: [cert-manager]}
    clusters: [{name: east}]
  - name: sp
    trust_domain: sp.e2e.internal
    profile: spire
    outputs: {layouts: [spire], spire: {directory: /opt/spire/upstream}}
    clusters: [{name: east}]
PLAN
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "5 bundles issued"
digest=$("$MESHCA" plan digest plan.yaml | awk '{print $1}')

# Exact names and modes per layout.
listing() { (cd "$1" && find . -type f -printf '%m %P\n' | sort); }
expect_listing() {  # DIR EXPECTED
  [ "$(listing "$1")" = "$2" ] || { listing "$1" >&2; fail "$1: unexpected files or modes"; }
  pass
}
expect_listing out/istio/east "600 ca-key.pem
600 cacerts.yaml
600 istio-tls/cacerts.yaml
600 istio-tls/tls.key
644 ca-cert.pem
644 cert-chain.pem
644 istio-tls/ca.crt
644 istio-tls/tls.crt
644 root-cert.pem"
expect_listing out/ld/east "600 linkerd/linkerd-identity-issuer.yaml
600 linkerd/tls.key
644 linkerd/ca.crt
644 linkerd/linkerd-identity-trust-roots.yaml
644 linkerd/tls.crt"
expect_listing out/cm/east "600 cert-manager/ca-secret.yaml
600 cert-manager/tls.key
644 cert-manager/ca.crt
644 cert-manager/issuer.yaml
644 cert-manager/tls.crt"
expect_listing out/sp/east "600 spire/upstream-ca.key
644 spire/bundle.crt
644 spire/server.conf
644 spire/upstream-ca.crt"
for d in out/*/east out/*/east/*/; do
  [ "$(stat -c %a "${d%/}")" = 700 ] || fail "${d%/} is not 0700"
done
pass

# check_tls_files CERT KEY ROOTS: CERT is the CA followed by its chain to a
# root in ROOTS, KEY its one unencrypted PKCS#8 key.
check_tls_files() {
  local crt=$1 key=$2 roots=$3
  openssl verify -x509_strict -CAfile "$roots" -untrusted "$crt" "$crt" >/dev/null || fail "openssl verify: $crt"
  [ "$(grep -c 'BEGIN CERTIFICATE' "$crt")" -eq 2 ] || fail "$crt should be the intermediate then the root"
  cmp -s <(openssl x509 -in "$crt" -noout -pubkey) <(openssl pkey -in "$key" -pubout) || fail "$key does not match $crt"
  [ "$(head -1 "$key")" = "-----BEGIN PRIVATE KEY-----" ] && [ "$(grep -c BEGIN "$key")" -eq 1 ] || fail "$key not one PKCS#8 block"
  openssl x509 -in "$crt" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "$crt is not a CA"
  pass
}
check_tls_files out/istio/east/istio-tls/tls.crt out/istio/east/istio-tls/tls.key out/istio/east/istio-tls/ca.crt
for m in ld cm cmc; do
  dir=$(find out/$m/east -mindepth 1 -maxdepth 1 -type d)
  check_tls_files "$dir/tls.crt" "$dir/tls.key" "$dir/ca.crt"
  cmp -s "$dir/ca.crt" out/root/root-cert.pem || fail "$dir/ca.crt is not the root"
done
check_tls_files out/sp/east/spire/upstream-ca.crt out/sp/east/spire/upstream-ca.key out/sp/east/spire/bundle.crt
# Every layout of one bundle holds the same bytes.
cmp -s out/istio/east/istio-tls/tls.crt out/istio/east/cert-chain.pem || fail "istio-tls/tls.crt != cert-chain.pem"
cmp -s out/istio/east/istio-tls/tls.key out/istio/east/ca-key.pem || fail "istio-tls/tls.key != ca-key.pem"
pass

# Linkerd: ECDSA P-256 issuer signed with ecdsa-with-SHA256 (linkerd's CheckCertAlgoRequirements).
text=$(openssl x509 -in out/ld/east/linkerd/tls.crt -noout -text)
grep -q "ASN1 OID: prime256v1" <<<"$text" || fail "linkerd issuer is not P-256"
grep -q "Signature Algorithm: ecdsa-with-SHA256" <<<"$text" || fail "linkerd issuer not signed with ecdsa-with-SHA256"
openssl x509 -in out/ld/east/linkerd/tls.crt -noout -ext keyUsage | grep -q "Certificate Sign, CRL Sign" || fail "linkerd profile keyUsage"
pass

# Manifests: exact kind/apiVersion/keys, base64 data = file bytes, labels, and
# semantically equal to kubectl's offline rendering of the same files.
check_manifest() {  # FILE KIND NAME NAMESPACE TYPE KEY=PATH... (TYPE "-" for a ConfigMap)
  local file=$1 kind=$2 name=$3 ns=$4 type=$5; shift 5
  local kubectl_yaml=$WORK/kubectl.yaml from=()
  for kv in "$@"; do from+=("--from-file=$kv"); done
  command -v kubectl >/dev/null || fail "kubectl is missing (scripts/install-deps.sh installs kubernetes-client)"
  if [ "$kind" = ConfigMap ]; then
    kubectl create configmap "$name" -n "$ns" "${from[@]}" --dry-run=client -o yaml >"$kubectl_yaml"
  else
    kubectl create secret generic "$name" -n "$ns" --type="$type" "${from[@]}" --dry-run=client -o yaml >"$kubectl_yaml"
  fi
  python3 - "$file" "$kubectl_yaml" "$kind" "$name" "$ns" "$type" "$digest" "$@" <<'PY' || fail "manifest $file"
import base64, sys, yaml
path, kpath, kind, name, ns, typ, digest, *entries = sys.argv[1:]
docs = list(yaml.safe_load_all(open(path)))
assert len(docs) == 1, "one document"
m, k = docs[0], yaml.safe_load(open(kpath))
assert m["apiVersion"] == "v1" and m["kind"] == kind, (m["apiVersion"], m["kind"])
md = m["metadata"]
assert md["name"] == name and md["namespace"] == ns, md
labels = md["labels"]
assert labels["app.kubernetes.io/managed-by"] == "meshca", labels
assert labels["meshca.io/plan-digest"] == digest[:32] and md["annotations"]["meshca.io/plan-digest"] == digest, md
for key, value in labels.items():
    assert len(value) <= 63, (key, value)
want_keys = sorted(e.split("=", 1)[0] for e in entries)
assert sorted(m["data"]) == want_keys, (sorted(m["data"]), want_keys)
for e in entries:
    key, file = e.split("=", 1)
    raw = open(file, "rb").read()
    got = base64.b64decode(m["data"][key], validate=True) if kind == "Secret" else m["data"][key].encode()
    assert got == raw, f"data.{key} differs from {file}"
if kind == "Secret":
    assert m["type"] == typ, m["type"]
# kubectl's rendering of the same files: equal but for our labels/annotations and its creationTimestamp.
for doc in (m, k):
    doc["metadata"].pop("labels", None); doc["metadata"].pop("annotations", None); doc["metadata"].pop("creationTimestamp", None)
assert m == k, f"differs from kubectl:\n{m}\n{k}"
PY
  pass
}
i=out/istio/east
check_manifest $i/cacerts.yaml Secret cacerts mesh-ca Opaque \
  ca-cert.pem=$i/ca-cert.pem ca-key.pem=$i/ca-key.pem cert-chain.pem=$i/cert-chain.pem root-cert.pem=$i/root-cert.pem
check_manifest $i/istio-tls/cacerts.yaml Secret cacerts mesh-ca kubernetes.io/tls \
  tls.crt=$i/istio-tls/tls.crt tls.key=$i/istio-tls/tls.key ca.crt=$i/istio-tls/ca.crt
l=out/ld/east/linkerd
check_manifest $l/linkerd-identity-issuer.yaml Secret linkerd-identity-issuer linkerd kubernetes.io/tls \
  tls.crt=$l/tls.crt tls.key=$l/tls.key ca.crt=$l/ca.crt
check_manifest $l/linkerd-identity-trust-roots.yaml ConfigMap linkerd-identity-trust-roots linkerd - ca-bundle.crt=$l/ca.crt
c=out/cm/east/cert-manager
check_manifest $c/ca-secret.yaml Secret mesh-ca apps kubernetes.io/tls tls.crt=$c/tls.crt tls.key=$c/tls.key ca.crt=$c/ca.crt
c2=out/cmc/east/cert-manager
check_manifest $c2/ca-secret.yaml Secret meshca-ca cert-manager kubernetes.io/tls \
  tls.crt=$c2/tls.crt tls.key=$c2/tls.key ca.crt=$c2/ca.crt

# cert-manager Issuer / ClusterIssuer reference their Secret and validate
# against cert-manager's published schema (@kubernetes-models/cert-manager).
python3 - "$c/issuer.yaml" "$c2/issuer.yaml" <<'PY' || fail "issuer manifests"
import sys, yaml
issuer, cluster_issuer = (yaml.safe_load(open(p)) for p in sys.argv[1:])
assert issuer["apiVersion"] == "cert-manager.io/v1" and issuer["kind"] == "Issuer", issuer
assert issuer["metadata"]["namespace"] == "apps" and issuer["spec"] == {"ca": {"secretName": "mesh-ca"}}, issuer
assert cluster_issuer["kind"] == "ClusterIssuer" and "namespace" not in cluster_issuer["metadata"], cluster_issuer
assert cluster_issuer["spec"] == {"ca": {"secretName": "meshca-ca"}}, cluster_issuer
PY
pass
if (mkdir -p npm && cd npm && timeout 180 npm install --no-audit --no-fund --silent @kubernetes-models/cert-manager@6 >npm.log 2>&1); then
  cat >npm/validate.mjs <<'JS'
import fs from 'node:fs';
for (const file of process.argv.slice(2)) {
  const obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  const mod = await import(`@kubernetes-models/cert-manager/cert-manager.io/v1/${obj.kind}`);
  new mod[obj.kind](obj).validate();  // throws a ValidationError naming the field
}
JS
  to_json() { python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$1"; }
  to_json "$c/issuer.yaml" >npm/cm.json
  to_json "$c2/issuer.yaml" >npm/cmc.json
  (cd npm && node validate.mjs cm.json cmc.json) || fail "cert-manager schema rejects the Issuer manifests"
  # The validator does reject a broken Issuer.
  python3 -c 'import json; d=json.load(open("npm/cm.json")); d["spec"]["ca"]={"secret": "x"}; json.dump(d, open("npm/bad.json","w"))'
  if (cd npm && node validate.mjs bad.json 2>/dev/null); then fail "the schema check accepts anything"; fi
  pass
else
  # A registry the test cannot reach is a failure, not a skipped check.
  cat npm/npm.log >&2
  fail "npm could not install @kubernetes-models/cert-manager (scripts/install-deps.sh installs npm; the npm registry must be reachable)"
fi

# SPIRE: the config snippet names the files; SPIRE's own server CA and an
# SVID below the upstream intermediate verify strictly (pathLen, name constraints).
s=out/sp/east/spire
for want in 'UpstreamAuthority "disk" {' 'cert_file_path = "/opt/spire/upstream/upstream-ca.crt"' \
  'key_file_path = "/opt/spire/upstream/upstream-ca.key"' 'bundle_file_path = "/opt/spire/upstream/bundle.crt"' \
  'trust_domain = "sp.e2e.internal"'; do
  expect_in $s/server.conf "$want"
done
openssl x509 -in $s/upstream-ca.crt -noout -ext basicConstraints | grep -q "CA:TRUE, pathlen:1" || fail "spire profile pathlen"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout spire-ca.key -subj "/O=SPIRE/CN=server CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectAltName=URI:spiffe://sp.e2e.internal" -out spire-ca.csr 2>/dev/null
openssl x509 -req -in spire-ca.csr -CA <(openssl x509 -in $s/upstream-ca.crt) -CAkey $s/upstream-ca.key -days 1 \
  -copy_extensions copy -set_serial 7 -out spire-ca.pem 2>/dev/null || fail "signing a SPIRE server CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout svid.key -subj "/O=SPIRE" \
  -addext "subjectAltName=URI:spiffe://sp.e2e.internal/workload" -out svid.csr 2>/dev/null
openssl x509 -req -in svid.csr -CA spire-ca.pem -CAkey spire-ca.key -days 1 -copy_extensions copy -set_serial 8 \
  -out svid.pem 2>/dev/null || fail "signing an SVID"
cat spire-ca.pem $s/upstream-ca.crt >untrusted.pem
openssl verify -x509_strict -CAfile $s/bundle.crt -untrusted untrusted.pem svid.pem >/dev/null || fail "SVID below the spire layout does not verify"
pass

# meshca verify reads the istio-tls layout (directory and Secret).
expect_exit 0 "$MESHCA" verify out/istio/east/istio-tls out/istio/east/istio-tls/cacerts.yaml out/istio/east
expect_in last.out "all pass"
(cd out && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS"
pass

# A re-run keeps everything; a plan that adds a layout to existing bundles
# is refused and overwrites nothing.
sums=$(cat out/SHA256SUMS)
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued, 0 renewed, 5 kept"
sed 's/outputs: {layouts: \[linkerd\]}/outputs: {layouts: [linkerd, spire]}/' plan.yaml >plan-more.yaml
sed -i 's/    profile: linkerd/    profile: spire/' plan-more.yaml
expect_exit 5 "$MESHCA" ceremony run plan-more.yaml --out out --yes
expect_in last.err "out/ld/east: exists and does not match the plan: outputs.layouts: incomplete bundle (missing"
[ "$(cat out/SHA256SUMS)" = "$sums" ] && (cd out && sha256sum --quiet -c SHA256SUMS) || fail "a refused run changed the output"
pass

# The validator: Linkerd needs an ECDSA P-256 issuer, named by field path.
python3 - <<'PY'
text = open("plan.yaml").read()
old = "outputs: {layouts: [linkerd]}\n    clusters: [{name: east}]"
assert text.count(old) == 1
open("plan-rsa.yaml", "w").write(text.replace(old, old.replace("{name: east}", "{name: east, intermediate: {key: {algorithm: rsa-2048}}}")))
PY
expect_exit 3 "$MESHCA" plan validate plan-rsa.yaml
# At the value the cluster writes (its own algorithm), not at the cluster.
expect_in last.err "plan-rsa.yaml:23:61: "
expect_in last.err "meshes[1].clusters[0].intermediate.key.algorithm: is rsa-2048, but mesh 'ld' writes the linkerd layout"
finish
