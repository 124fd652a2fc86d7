# meshca trust check (docs/verification.md "The trust matrix"): the matrix
# of which clusters accept each other's workloads, against what the plan
# says, judged independently by mutual-TLS handshakes with the openssl CLI.
#
# Federation: three plans with three roots. Mesh prod of plan A and mesh lab
# of plan B pin each other's root in their federation; mesh other (plan C)
# is federated with nobody; mesh dev of plan A shares prod's root but is not
# federated. Each side of a handshake trusts its trust/trust-bundle.pem (a
# federated cluster) or root-cert.pem, as Istio would.
#
# Rotation: every pair of coexisting phases as the rotation promises, 0-3
# refused; a phase bundle broken by hand fails the check, naming the pair.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e trust check' MESHCA_NEW_ROOT_PASS='e2e trust check new root'
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//'; }

# federate PLAN NAME MESH ROOT_NAME ROOT_FILE TRUST_DOMAIN: the mesh trusts an external root.
federate() {
  cat >>"$1" <<FED
federation:
  - name: $2
    meshes: [$3]
    external_roots:
      - {name: $4, file: $5, sha256: '$(fp "$5")', trust_domains: [$6]}
FED
}

write_file_plan a.yaml keys/a.pem "Root A" '  - {name: prod, trust_domain: prod.e2e.internal, clusters: [{name: east}, {name: west}]}
  - {name: dev, trust_domain: dev.e2e.internal, clusters: [{name: north}]}'
expect_exit 0 "$MESHCA" ceremony run a.yaml --out outA --yes
cp outA/root/root-cert.pem a-root.pem
write_file_plan b.yaml keys/b.pem "Root B" '  - {name: lab, trust_domain: lab.e2e.internal, clusters: [{name: west}]}'
federate b.yaml ab lab a a-root.pem prod.e2e.internal
expect_exit 0 "$MESHCA" ceremony run b.yaml --out outB --yes
cp outB/root/root-cert.pem b-root.pem
federate a.yaml ab prod b b-root.pem lab.e2e.internal
expect_exit 0 "$MESHCA" ceremony run a.yaml --out outA --yes --renew prod/east --renew prod/west
write_file_plan c.yaml keys/c.pem "Root C" '  - {name: other, trust_domain: other.e2e.internal, clusters: [{name: south}]}'
expect_exit 0 "$MESHCA" ceremony run c.yaml --out outC --yes

# The matrix from plan A's point of view, then from plan B's.
expect_exit 0 "$MESHCA" trust check a.yaml outA outB outC --html matrix.html
expect_in last.out "prod/east <-> prod/west: talk; the plan says talk (one mesh prod)"
expect_in last.out "prod/east <-> outB: lab/west: talk; the plan says talk (federation ab (external root b))"
expect_in last.out "prod/east  x  outC: other/south: refuse each other; the plan says refuse (mesh prod is not federated with trust domain other.e2e.internal)"
expect_in last.out "prod/east  x  dev/north: refuse each other; the plan says refuse (meshes prod and dev are neither one mesh nor federated)"
# One root, two trust domains: X.509 accepts, the SPIFFE validator does not.
expect_in last.out "dev/north refuses prod/east: no root trusted for trust domain prod.e2e.internal in root-cert.pem (X.509 alone would accept it"
expect_in last.out "outB: lab/west refuses dev/north: no root trusted for trust domain dev.e2e.internal in root-cert.pem and trust/istiod-values.yaml"
expect_in last.out "outB: lab/west  x  outC: other/south: refuse each other; the plan says not judged (neither mesh is in the plan)"
expect_in last.out "5 cluster bundles, 10 pairs checked"
expect_in last.out "all as the plan says"
# The HTML renders (headless chromium prints it): one row per pair.
print_html matrix.html matrix.pdf
pdftotext matrix.pdf - | tr -s '\n ' '  ' >matrix.txt  # one line: the text as read, wherever it wraps
expect_in matrix.txt "Trust matrix"
expect_in matrix.txt "5 cluster bundles, 10 pairs checked (11 path verifications): all as the plan says"
[ "$(grep -o "as planned" matrix.txt | wc -l)" = 10 ] || fail "matrix.pdf does not show the 10 pairs"
pass
expect_exit 0 "$MESHCA" trust check b.yaml outB outC outA
expect_in last.out "lab/west  x  outC: other/south: refuse each other; the plan says refuse (mesh lab is not federated with trust domain other.e2e.internal)"

# JSON: valid, every pair once, the verdicts the handshakes below confirm.
expect_exit 0 "$MESHCA" trust check a.yaml outA outB outC --json
python3 - last.out <<'PY' || fail "trust check --json"
import json, sys, itertools
m = json.load(open(sys.argv[1]))
labels = [c["label"] for c in m["clusters"]]
assert len(labels) == 5 and m["ok"] and m["pairs_checked"] == 10, m
assert {frozenset((p["a"], p["b"])) for p in m["pairs"]} == {frozenset(x) for x in itertools.combinations(labels, 2)}
v = {frozenset((p["a"], p["b"])): p for p in m["pairs"]}
def pair(a, b): return v[frozenset((a, b))]
talk = pair("prod/east", "outB: lab/west")
assert talk["a_accepts_b"] and talk["b_accepts_a"] and talk["expected"] == "talk"
for a, b in (("prod/east", "outC: other/south"), ("outB: lab/west", "outC: other/south")):
    assert not pair(a, b)["a_accepts_b"] and not pair(a, b)["b_accepts_a"], (a, b)
dev = pair("prod/east", "dev/north")
assert dev["expected"] == "refuse" and dev["a_accepts_b_x509"] and not dev["a_accepts_b"], dev
PY
pass

# Above 12 clusters the pairs as planned are counted, and --json still
# lists every one.
write_file_plan big.yaml keys/big.pem "Root Big" "  - {name: big, trust_domain: big.e2e.internal, clusters: [$(seq -s, -f '{name: c%g}' 14)]}"
expect_exit 0 "$MESHCA" ceremony run big.yaml --out outBig --yes
expect_exit 0 "$MESHCA" trust check big.yaml outBig
expect_in last.out "91 pairs talk as the plan says (one mesh big): not listed one by one (--json lists every pair)"
expect_not_in last.out "big/c1 <-> big/c2"
expect_exit 0 "$MESHCA" trust check big.yaml outBig --json
python3 -m json.tool last.out >/dev/null || fail "trust check --json is not JSON"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["pairs"]))' last.out)" = 91 ] || fail "--json does not list the 91 pairs"
pass

# The independent judge: mutual TLS with the openssl CLI, each side trusting
# what its cluster deploys.
trust_of() { [ -f "$1/trust/trust-bundle.pem" ] && echo "$1/trust/trust-bundle.pem" || echo "$1/root-cert.pem"; }
issue_workload outA/prod/east prod-app app prod.e2e.internal
issue_workload outA/dev/north dev-app app dev.e2e.internal
issue_workload outB/lab/west lab-app app lab.e2e.internal
issue_workload outC/other/south other-app app other.e2e.internal
mtls() {  # mtls SERVER_BUNDLE SERVER CLIENT_BUNDLE CLIENT
  HANDSHAKE_SERVER_CA=$(trust_of "$1") HANDSHAKE_CLIENT_CA=$(trust_of "$3") handshake "$@"
}
both_ways() {  # both_ways BUNDLE_A A BUNDLE_B B ok|refused
  local rc1=0 rc2=0
  mtls "$1" "$2" "$3" "$4" 2>/dev/null || rc1=$?
  mtls "$3" "$4" "$1" "$2" 2>/dev/null || rc2=$?
  if [ "$5" = ok ]; then
    [ $rc1 = 0 ] && [ $rc2 = 0 ] || { cat client.log server.log; fail "$2 and $4 do not complete mutual TLS"; }
  else
    [ $rc1 != 0 ] && [ $rc2 != 0 ] || fail "$2 and $4 complete mutual TLS"
  fi
  pass
}
both_ways outA/prod/east prod-app outB/lab/west lab-app ok
both_ways outA/prod/east prod-app outC/other/south other-app refused
both_ways outB/lab/west lab-app outC/other/south other-app refused
# The pair X.509 accepts and the trust-domain check refuses (what the matrix says).
both_ways outA/prod/east prod-app outA/dev/north dev-app ok

# Bad input: OUT is not the plan's output; a trust file that is not meshca's.
expect_exit 3 "$MESHCA" trust check a.yaml outC
expect_in last.err "outC/prod/east: missing: the plan names cluster prod/east"
cp -a outA broken
sed -i 's/^  - pem: |$/  - pam: |/' broken/prod/west/trust/istiod-values.yaml
expect_exit 3 "$MESHCA" trust check a.yaml broken
expect_in last.err "broken/prod/west/trust/istiod-values.yaml:5"
expect_in last.err "meshConfig.caCertificates[0].pem: missing"
expect_exit 3 "$MESHCA" trust check a.yaml outA outB/lab
expect_in last.err "outB/lab/plan.yaml"

# ---- a rotation output ------------------------------------------------------
write_file_plan cur.yaml keys/root.pem "Fleet Root 2026" '  - {name: prod, trust_domain: prod.e2e.internal, clusters: [{name: east}, {name: west}]}'
expect_exit 0 "$MESHCA" ceremony run cur.yaml --out out --yes
cp cur.yaml rot.yaml
append_rotation rot.yaml out keys/new.pem "Fleet Root 2031" false
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes
expect_exit 0 "$MESHCA" trust check rot.yaml rot
for pair in "0 1" "1 2" "2 3"; do
  read -r a b <<<"$pair"
  expect_in last.out "phase $a prod/east <-> phase $b prod/west: talk; the plan says talk (one mesh prod, phase $a and phase $b coexist)"
done
expect_in last.out "phase 0 prod/east  x  phase 3 prod/west: refuse each other; the plan says refuse (phase 0 and phase 3 must refuse each other: the old root is retired)"
# Without a cross-signed root, phases 0 and 2 never coexist: not judged.
expect_not_in last.out "phase 0 prod/east <-> phase 2"
expect_in last.out "all as the plan says"

# Phase 2 of east trusting only the new root (phase 3's root-cert.pem, and
# without its trust files): the phase-1 clusters, still issuing under the old root, are
# refused.
cp -a rot broken-rot
cp broken-rot/phase-3/prod/east/root-cert.pem broken-rot/phase-2/prod/east/root-cert.pem
rm -r broken-rot/phase-2/prod/east/trust
expect_exit 1 "$MESHCA" trust check rot.yaml broken-rot
expect_in last.out "FAIL phase 1 prod/east <-/-> phase 2 prod/east: one way only; the plan says talk (one mesh prod, phase 1 and phase 2 coexist); phase 1 prod/east accepts phase 2 prod/east"
expect_in last.out "phase 2 prod/east refuses phase 1 prod/west: its chain to "
expect_in last.out "2 pairs differ from the plan"
# The handshake agrees.
issue_workload rot/phase-1/prod/west p1-west app
issue_workload broken-rot/phase-2/prod/east p2-east app
if handshake broken-rot/phase-2/prod/east p2-east rot/phase-1/prod/west p1-west 2>/dev/null; then
  fail "the broken phase-2 cluster accepted a phase-1 workload"
fi
pass
finish
