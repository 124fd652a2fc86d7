# Resume semantics users can predict: after a ceremony, one field of the plan
# is edited (every field the plan determines, directly or through defaults
# and profiles) and the ceremony re-run on the same OUT. The re-run either
# refuses (exit 5) naming the field that differs, or exits 0 and `meshca
# audit` of OUT against the edited plan passes. None may exit 0 with an
# audit failure. Where a bundle differs, `--renew` of the named bundles makes
# the re-run succeed and the audit pass; openssl judges the renewed bundle.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e resume passphrase'

write_file_plan base.yaml keys/root.pem "Resume Root" '  - name: prod
    trust_domain: prod.resume.internal
    clusters:
      - {name: east, intermediate: {subject: {OU: Platform}}}
      - {name: west}'
mkdir -p keys
expect_exit 0 "$MESHCA" ceremony run base.yaml --out base-out --yes
expect_exit 0 "$MESHCA" audit base-out base.yaml
expect_in last.out "audit PASSED"

# edit NAME PYTHON: base.yaml with one change (PYTHON edits the dict `p`).
edit() {
  python3 - "$2" >"$1.yaml" <<'PY'
import sys, yaml
p = yaml.safe_load(open("base.yaml"))
m = p["meshes"][0]
exec(sys.argv[1])
print(yaml.safe_dump(p, sort_keys=False))
PY
}

# case NAME PYTHON OUTCOME FIELD [RENEW...]: OUTCOME is "refused" (exit 5,
# FIELD named, renewing RENEW then succeeds) or "kept" (exit 0); either way
# the run that exits 0 is audited.
case_() {
  local name=$1 change=$2 outcome=$3 field=$4
  shift 4
  edit "$name" "$change"
  rm -rf "out-$name" && cp -a base-out "out-$name"
  if [ "$outcome" = refused ]; then
    expect_exit 5 "$MESHCA" ceremony run "$name.yaml" --out "out-$name" --yes
    expect_in last.err "$field"
    [ $# -eq 0 ] && return 0
    expect_in last.err "--renew"
    local renew=()
    for c in "$@"; do renew+=(--renew "$c"); done
    expect_exit 0 "$MESHCA" ceremony run "$name.yaml" --out "out-$name" --yes "${renew[@]}"
    for c in "$@"; do
      openssl verify -x509_strict -CAfile "out-$name/$c/root-cert.pem" -untrusted "out-$name/$c/cert-chain.pem" \
        "out-$name/$c/ca-cert.pem" >/dev/null || fail "$name: openssl refuses the renewed $c"
      pass
    done
  else
    expect_exit 0 "$MESHCA" ceremony run "$name.yaml" --out "out-$name" --yes
  fi
  "$MESHCA" audit "out-$name" "$name.yaml" >audit.out 2>&1 || { cat audit.out >&2; fail "$name: a run that exited 0 left an output the audit refuses"; }
  pass
  rm -rf "out-$name"
}

# Intermediate fields, set per cluster, per mesh and plan-wide.
case_ validity-cluster 'm["clusters"][1]["intermediate"] = {"validity": "90d"}' refused intermediate.validity prod/west
case_ validity-defaults 'p["defaults"]["intermediate"]["validity"] = "2y"' refused intermediate.validity prod/east prod/west
case_ validity-absolute 'm["intermediate"] = {"not_after": "2030-01-01T00:00:00Z"}' refused intermediate.validity prod/east prod/west
case_ subject-attribute 'm["clusters"][0]["intermediate"]["subject"]["OU"] = "Infra"' refused intermediate.subject prod/east
case_ subject-defaults 'p["defaults"]["intermediate"]["subject"] = {"C": "DE"}' refused intermediate.subject prod/east prod/west
case_ key-algorithm 'p["defaults"]["intermediate"]["key"]["algorithm"] = "ecdsa-p384"' refused intermediate.key.algorithm prod/east prod/west
case_ key-size-cluster 'm["clusters"][1]["intermediate"] = {"key": {"algorithm": "rsa-2048"}}' refused intermediate.key.algorithm prod/west
case_ name-constraints 'm["intermediate"] = {"name_constraints": "none"}' refused intermediate.name_constraints prod/east prod/west
case_ trust-domain 'm["trust_domain"] = "other.resume.internal"' refused intermediate.name_constraints prod/east prod/west
case_ mesh-profile-spire 'm["profile"] = "spire"' refused intermediate.path_len prod/east prod/west
case_ mesh-profile-linkerd 'm["profile"] = "linkerd"' refused intermediate.key_usage prod/east prod/west
case_ layouts-added 'p["outputs"]["layouts"] = ["istio-cacerts", "k8s-secret", "istio-tls"]' refused outputs.layouts prod/east prod/west
case_ namespace 'p["outputs"]["namespace"] = "mesh-ca"' refused cacerts.yaml prod/east prod/west
case_ crl-enabled 'p["revocation"] = {"crl": True}' refused revocation.crl prod/east prod/west
# The root cannot be renewed by a re-run: every root field is refused.
case_ root-validity 'p["root"]["validity"] = "20y"' refused root.validity
case_ root-subject 'p["root"]["subject"]["O"] = "Other Corp"' refused root.subject
case_ root-path-len 'p["root"]["path_len"] = 2' refused root.path_len
case_ plan-profile 'p["profile"] = "istio-tools-certs"' refused root.key_usage
# Edits that change no certificate: the bundles are kept and audited.
case_ description 'p["metadata"]["description"] = "edited"' kept -
case_ cluster-added 'm["clusters"].append({"name": "north"})' kept -
case_ mesh-added 'p["meshes"].append({"name": "dev", "trust_domain": "dev.resume.internal", "clusters": [{"name": "lab"}]})' kept -
finish
