# Every built-in certificate profile, used plan-wide and per mesh: the
# ceremony's output passes `meshca audit` against its plan and `meshca
# verify` bundle by bundle, openssl accepts every bundle, and a re-run of the
# same plan keeps every bundle (the conformance check finds nothing) and
# still audits clean.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e profiles passphrase'
mkdir -p keys

# plan PATH PLAN_PROFILE_LINE MESH_PROFILE_LINE
plan() {
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: profiles}
organization: Profiles Corp
$2
root:
  subject: {CN: Profiles Root, O: Profiles Corp}
  key: {algorithm: ecdsa-p384, store: file, file: {path: keys/root-$4.pem, passphrase: env:MESHCA_ROOT_PASS}}
  validity: 10y
meshes:
  - name: prod
    trust_domain: prod.profiles.internal
$3
    clusters: [{name: east}]
  - name: dev
    trust_domain: dev.profiles.internal
    clusters: [{name: lab}]
PLAN
}

audit_and_verify() {  # OUT PLAN
  expect_exit 0 "$MESHCA" audit "$1" "$2"
  expect_in last.out "audit PASSED"
  for c in prod/east dev/lab; do
    expect_exit 0 "$MESHCA" verify "$1/$c" --trust-domain "${c%%/*}.profiles.internal"
    openssl verify -x509_strict -CAfile "$1/$c/root-cert.pem" -untrusted "$1/$c/cert-chain.pem" "$1/$c/ca-cert.pem" >/dev/null \
      || fail "openssl refuses $1/$c"
    pass
  done
}

for profile in meshca istio-tools-certs linkerd spire; do
  for scope in plan mesh; do
    name=$profile-$scope
    if [ $scope = plan ]; then plan $name.yaml "profile: $profile" "" $name; else plan $name.yaml "" "    profile: $profile" $name; fi
    expect_exit 0 "$MESHCA" ceremony run $name.yaml --out out-$name --yes
    audit_and_verify out-$name $name.yaml
    expect_exit 0 "$MESHCA" ceremony run $name.yaml --out out-$name --yes
    expect_in last.out "0 bundles issued, 0 renewed, 2 kept"
    audit_and_verify out-$name $name.yaml
  done
done
finish
