# Federation (docs/plan-reference.md "federation") and the trust
# configuration written beside each bundle of a federated mesh
# (docs/output-layouts.md "Trust configuration"): meshes prod and lab of one
# plan federated with an external root made here with the openssl CLI, mesh
# dev not federated. Every emitted YAML validates against the upstream
# schema excerpts in tests/data/schemas (python3-jsonschema, offline) and
# holds exactly the expected roots (openssl fingerprints); workloads of prod
# and of the partner verify against lab's trust bundle, one of another PKI
# does not, and the partner's does not verify under dev. A re-run keeps the
# bundles, `audit` passes and fails a hand-edited trust file, and a changed
# federation is a conflict naming the trust file until the bundles are renewed.
source "$(dirname "$0")/lib.sh"
SRC=${MESHCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export MESHCA_ROOT_PASS='e2e federation passphrase'

# The partner's root, made the way a foreign PKI makes one.
mkdir partner
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner/ca-key.pem -out partner/ca-cert.pem \
  -subj "/O=Partner Corp/CN=Partner Root CA" -days 3650 -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cp partner/ca-cert.pem partner/root-cert.pem
cp partner/ca-cert.pem partner/cert-chain.pem
cp partner/ca-cert.pem partner-root.pem
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//'; }
partner_fp=$(fp partner-root.pem)

write_plan() {  # write_plan PATH KEYFILE FEDERATION_YAML
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: federation}
organization: E2E Corp
root:
  subject: {CN: Federation Root CA, O: E2E Corp}
  key: {algorithm: ecdsa-p256, store: file, file: {path: $2, passphrase: env:MESHCA_ROOT_PASS}}
  validity: 10y
meshes:
  - {name: prod, trust_domain: prod.e2e.internal, clusters: [{name: east}]}
  - {name: lab, trust_domain: lab.e2e.internal, outputs: {layouts: [istio-cacerts]}, clusters: [{name: west}]}
  - {name: dev, trust_domain: dev.e2e.internal, clusters: [{name: north}]}
$3
PLAN
}
FEDERATION="federation:
  - name: east-west
    meshes: [prod, lab]
    external_roots:
      - {name: partner, file: partner-root.pem, sha256: '$partner_fp', trust_domains: [partner.e2e.external]}"
write_plan plan.yaml keys/root.pem "$FEDERATION"
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_exit 0 "$MESHCA" plan show plan.yaml
expect_in last.out "federation east-west: meshes prod, lab; external roots partner (partner-root.pem, SHA-256 $partner_fp, trust domains partner.e2e.external)"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
root_fp=$(fp out/root/root-cert.pem)

# The trust files of the federated clusters, none for dev.
for b in prod/east lab/west; do
  for f in istio-operator.yaml istiod-values.yaml trust-manager-bundle.yaml trust-bundle.pem; do
    [ -f "out/$b/trust/$f" ] || fail "out/$b/trust/$f missing"
  done
  pass
done
[ ! -e out/dev/north/trust ] || fail "dev is not federated but has trust files"
pass
expect_in out/SHA256SUMS "lab/west/trust/trust-bundle.pem"
expect_in out/SHA256SUMS "prod/east/trust/istio-operator.yaml"

# Schema and content: python3 checks each YAML against the upstream schema
# excerpts and writes the PEMs it holds, one file per root, for openssl.
check_trust() {  # check_trust BUNDLE OWN_TRUST_DOMAINS
  python3 - "$SRC/tests/e2e" "$SRC/tests/data/schemas" "out/$1/trust" "$2" <<'PY' || fail "trust files of $1"
import sys, jsonschema
sys.path.insert(0, sys.argv[1])
from trust_files import read_trust_files, schemas
schemas_dir, d, own = sys.argv[2], sys.argv[3], sys.argv[4].split(",")
mesh_config, bundle, pems = read_trust_files(schemas_dir, d)
mesh_schema, bundle_schema = schemas(schemas_dir)
# The validators do refuse what is not the upstream structure.
for bad, schema in (({"caCertificates": [{"pem": "x", "trustDomain": ["a"]}]}, mesh_schema),
                    ({"caCertificates": [{"pem": "x", "spiffeBundleUrl": "https://x"}]}, mesh_schema),
                    (dict(bundle, spec={"sources": [{"inline": "x"}], "target": {"configMap": {"key": "k"}}}), bundle_schema)):
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        continue
    raise SystemExit(f"schema accepted {bad}")
cas = mesh_config["caCertificates"]
assert [c.get("trustDomains") for c in cas] == [own, ["partner.e2e.external"]], cas
assert "trustDomainAliases" not in mesh_config
for i, c in enumerate(cas):
    open(f"root{i}.pem", "w").write(c["pem"])
PY
  [ "$(fp root0.pem)" = "$root_fp" ] || fail "$1: first root is not the plan's root"
  [ "$(fp root1.pem)" = "$partner_fp" ] || fail "$1: second root is not the partner's"
  pass
}
check_trust prod/east prod.e2e.internal,lab.e2e.internal
check_trust lab/west lab.e2e.internal,prod.e2e.internal

# Workloads: prod's and the partner's verify against lab's trust bundle;
# one of another PKI does not; the partner's is not trusted by dev.
issue_workload out/prod/east prod-app app prod.e2e.internal
issue_workload partner partner-app app partner.e2e.external
write_plan other.yaml keys/other-root.pem ""
expect_exit 0 "$MESHCA" ceremony run other.yaml --out other --yes
issue_workload other/prod/east other-app app prod.e2e.internal
lab_trust=out/lab/west/trust/trust-bundle.pem
openssl verify -x509_strict -CAfile $lab_trust -untrusted out/prod/east/cert-chain.pem prod-app.crt >/dev/null || fail "prod workload not trusted by lab"
pass
openssl verify -x509_strict -CAfile $lab_trust partner-app.crt >/dev/null || fail "partner workload not trusted by lab"
pass
if openssl verify -x509_strict -CAfile $lab_trust -untrusted other/prod/east/cert-chain.pem other-app.crt >/dev/null 2>&1; then
  fail "a workload of another PKI is trusted by lab"
fi
pass
if openssl verify -x509_strict -CAfile out/dev/north/root-cert.pem partner-app.crt >/dev/null 2>&1; then
  fail "dev is not federated but trusts the partner"
fi
pass

# A re-run keeps every bundle; audit passes, and fails a hand-edited trust file.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_in last.out "audit PASSED"
cp out/lab/west/trust/istiod-values.yaml saved-values.yaml
sed -i 's/partner.e2e.external/evil.example/' out/lab/west/trust/istiod-values.yaml
expect_exit 1 "$MESHCA" audit out plan.yaml
expect_in last.out "lab/west"
expect_in last.out "trust/istiod-values.yaml"
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "trust/istiod-values.yaml"
cp saved-values.yaml out/lab/west/trust/istiod-values.yaml

# Another federation (the partner dropped): the bundles' trust files are no
# longer the plan's; the re-run names them and writes nothing, renewal
# reissues them as planned.
write_plan changed.yaml keys/root.pem "federation: [{name: east-west, meshes: [prod, lab]}]"
expect_exit 5 "$MESHCA" ceremony run changed.yaml --out out --yes
expect_in last.err "trust/"
expect_in last.err "--renew prod/east"
cmp -s saved-values.yaml out/lab/west/trust/istiod-values.yaml || fail "a refused run changed a trust file"
pass
expect_exit 0 "$MESHCA" ceremony run changed.yaml --out out --yes --renew prod/east --renew lab/west
[ "$(grep -c 'BEGIN CERTIFICATE' $lab_trust)" = 1 ] || fail "the renewed trust bundle still holds the partner's root"
pass
expect_exit 0 "$MESHCA" audit out changed.yaml
expect_in last.out "audit PASSED"
finish
