# meshca audit: an output is proven to be what the approved plan describes,
# and each kind of divergence is caught: a cluster removed, a certificate
# swapped in from another run, a plan whose validity changed after approval.
# The auditor's HTML report is well-formed (xmllint), self-contained and
# names every cluster.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e audit passphrase'

write_file_plan plan.yaml keys/root.pem "Audit Root" '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}, {name: north}]
  - name: dev
    trust_domain: dev.e2e.internal
    clusters: [{name: lab}]'
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_in last.out "audit PASSED"
expect_not_in last.out "FAIL"

# The HTML report: well-formed, every cluster, no external references or scripts.
"$MESHCA" plan show plan.yaml --format html >report.html
xmllint --noout report.html || fail "plan show --format html is not well-formed"
for c in prod/east prod/west prod/north dev/lab; do expect_in report.html "$c"; done
if grep -qiE '<script|src="http|href="http|@import' report.html; then fail "the HTML report references something external"; fi
pass

# A second run of the same plan elsewhere, to steal a certificate from.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out other --yes

cp -a out tampered
rm -rf tampered/prod/north
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "FAIL bundle prod/north: the plan's cluster has no bundle"
rm -rf tampered

# Same root key, so the stolen certificate even chains: the transcript's
# record of what this ceremony issued is what exposes it.
cp -a out tampered
cp other/prod/east/ca-cert.pem other/prod/east/ca-key.pem tampered/prod/east/
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "FAIL recorded prod/east"
expect_in last.out "FAIL file-digest prod/east/ca-cert.pem: SHA-256 differs from the transcript"
rm -rf tampered

# A certificate from another PKI does not even chain.
sed 's|keys/root.pem|keys/foreign.pem|' plan.yaml >foreign.yaml
expect_exit 0 "$MESHCA" ceremony run foreign.yaml --out foreign --yes
cp -a out tampered
cp foreign/dev/lab/ca-cert.pem foreign/dev/lab/ca-key.pem tampered/dev/lab/
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "FAIL chain dev/lab"
rm -rf tampered

# A plan edited after the ceremony (validity 1y -> 2y): both the digest and
# the certificates disagree with it.
sed 's/validity: 1y/validity: 2y/' plan.yaml >edited.yaml
expect_exit 1 "$MESHCA" audit out edited.yaml
expect_in last.out "FAIL plan-digest"
expect_in last.out "FAIL validity prod/east"

# A bundle the plan does not name.
cp -a out tampered
cp -a tampered/prod/east tampered/prod/south
expect_exit 1 "$MESHCA" audit tampered plan.yaml
expect_in last.out "FAIL stray prod/south"
finish
