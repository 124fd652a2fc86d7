# meshca check-expiry --format openmetrics: what the node_exporter textfile
# collector reads. promtool (Prometheus' own linter, which reads the text
# format the collector reads) and prometheus_client's strict OpenMetrics
# parser accept it; a CRL close to its nextUpdate and an intermediate past
# its renew-by date show up as due (and nothing else does); the dates are
# what openssl reads from the files, and the same as --format json.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e metrics passphrase'
command -v promtool >/dev/null || fail "promtool is missing (scripts/install-deps.sh installs prometheus)"
PY=/usr/bin/python3  # Debian's, with python3-prometheus-client
"$PY" -c 'import prometheus_client.openmetrics.parser' || fail "python3-prometheus-client is missing (scripts/install-deps.sh)"

# prod/west's intermediate lives 90 days (renew by day 60), prod/east's a
# year; CRLs are valid 7 days (refresh by day 4.67).
write_crl_plan plan.yaml keys/root.pem "Metrics Root" '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west, intermediate: {validity: 90d}}]'
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes

after() { date -u -d "@$(($(date -u +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
DAY=86400

# metrics AT WITHIN EXIT: check-expiry's metrics at AT into metrics.txt, judged by both parsers.
metrics() {
  expect_exit "$3" "$MESHCA" check-expiry out --at "$1" --within "$2" --format openmetrics
  cp "$WORK/last.out" metrics.txt
  promtool check metrics <metrics.txt >promtool.out 2>&1 || { cat metrics.txt promtool.out; fail "promtool rejects the metrics"; }
  pass
  "$PY" - metrics.txt <<'PY' || { cat metrics.txt; fail "not valid OpenMetrics"; }
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
for name in ("meshca_certificate_not_after", "meshca_certificate_renew_by", "meshca_crl_next_update", "meshca_crl_refresh_by"):
    f = families[name + "_seconds"]
    assert f.type == "gauge" and f.unit == "seconds", f
for name in ("meshca_certificate_due", "meshca_crl_due"):
    assert families[name].type == "gauge", name
certs = families["meshca_certificate_not_after_seconds"].samples
assert {s.labels["role"] for s in certs} == {"root", "intermediate"}, certs
assert all(set(s.labels) == {"role", "mesh", "cluster", "serial", "fingerprint", "subject"} for s in certs)
assert len(certs) == 3 and len(families["meshca_crl_next_update_seconds"].samples) == 3
PY
  pass
}
# value METRIC LABEL_MATCH: the value of the one sample whose labels contain LABEL_MATCH.
value() {
  local lines
  lines=$(grep -E "^$1\{[^}]*$2" metrics.txt) || fail "no $1 with $2"
  [ "$(wc -l <<<"$lines")" -eq 1 ] || fail "several $1 with $2: $lines"
  echo "${lines##* }"
}
west='mesh="prod",cluster="west"'
east='mesh="prod",cluster="east"'

# Day 6.5: every CRL is past its refresh-by date (nextUpdate on day 7); no certificate is due.
metrics "$(after $((6 * DAY + DAY / 2)))" 30d 1
[ "$(grep -c '^meshca_crl_due{.*} 1$' metrics.txt)" -eq 3 ] || { cat metrics.txt; fail "every CRL should be due"; }
[ "$(grep -c '^meshca_certificate_due{.*} 0$' metrics.txt)" -eq 3 ] || { cat metrics.txt; fail "no certificate should be due"; }
pass
# The dates openssl reads, and labels that name where each item serves.
for c in east west; do
  end=$(date -u -d "$(openssl x509 -noout -enddate -in out/prod/$c/ca-cert.pem | cut -d= -f2)" +%s)
  [ "$(value meshca_certificate_not_after_seconds "mesh=\"prod\",cluster=\"$c\"")" = "$end" ] || fail "prod/$c notAfter"
  serial=$(openssl x509 -noout -serial -in out/prod/$c/ca-cert.pem | cut -d= -f2)
  fp=$(openssl x509 -noout -fingerprint -sha256 -in out/prod/$c/ca-cert.pem | cut -d= -f2)
  expect_in metrics.txt "role=\"intermediate\",mesh=\"prod\",cluster=\"$c\",serial=\"$serial\",fingerprint=\"$fp\""
done
root_end=$(date -u -d "$(openssl x509 -noout -enddate -in out/root/root-cert.pem | cut -d= -f2)" +%s)
[ "$(value meshca_certificate_not_after_seconds 'role="root",mesh="",cluster=""')" = "$root_end" ] || fail "root notAfter"
# The intermediate's CRL, in its bundle only: nextUpdate as openssl reads it.
openssl crl -in out/prod/west/ca-crl.pem -noout -nextupdate >/dev/null
csplit -s -z -f westcrl out/prod/west/ca-crl.pem '/-----BEGIN X509 CRL-----/' '{*}'
for f in westcrl*; do
  issuer=$(openssl crl -in "$f" -noout -issuer)
  case "$issuer" in *west*) next=$(date -u -d "$(openssl crl -in "$f" -noout -nextupdate | cut -d= -f2)" +%s) ;; esac
done
[ -n "${next:-}" ] || fail "no CRL of prod/west's intermediate"
[ "$(value meshca_crl_next_update_seconds "$west")" = "$next" ] || fail "prod/west CRL nextUpdate"
pass

# Day 65: prod/west is past its renew-by date (day 60) but ends only on day
# 90 (outside --within 7d); prod/east and the root are not due.
metrics "$(after $((65 * DAY)))" 7d 1
[ "$(value meshca_certificate_due "$west")" = 1 ] || fail "prod/west should be due"
[ "$(value meshca_certificate_due "$east")" = 0 ] || fail "prod/east should not be due"
[ "$(value meshca_certificate_due 'role="root"')" = 0 ] || fail "the root should not be due"
# renew_by is the rule's date, the one --format json prints too.
expect_exit 1 "$MESHCA" check-expiry out --at "$(after $((65 * DAY)))" --within 7d --format json
json_renew=$(jq -r '.certificates[] | select(.role == "intermediate" and .cluster == "west") | .renew_by' "$WORK/last.out")
[ "$(value meshca_certificate_renew_by_seconds "$west")" = "$(date -u -d "$json_renew" +%s)" ] || fail "renew_by differs from JSON"
jq -e '[.certificates[] | select(.role == "crl")] | length == 3 and all(.next_update == .not_after)' "$WORK/last.out" >/dev/null \
  || fail "CRL rows without next_update"
jq -e '[.certificates[] | select(.role == "intermediate" and .status == "RENEW")] | map(.cluster) == ["west"]' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "only prod/west should be RENEW"; }
pass

# Nothing due: exit 0, every due gauge 0, and a deployed Secret
# (DIR/<mesh>/<cluster>.yaml) is labelled by its name.
metrics "$(after DAY)" 7d 0
if grep -E '_due\{.*\} 1$' metrics.txt; then fail "nothing should be due on day 1"; fi
pass
mkdir -p deployed/prod
{
  echo "apiVersion: v1"; echo "kind: Secret"; echo "metadata: {name: cacerts, namespace: istio-system}"; echo "data:"
  for f in ca-cert.pem cert-chain.pem root-cert.pem; do echo "  $f: $(base64 -w0 out/prod/west/$f)"; done
} >deployed/prod/west.yaml
expect_exit 0 "$MESHCA" check-expiry deployed/prod/west.yaml --at "$(after DAY)" --format openmetrics
expect_in "$WORK/last.out" "role=\"intermediate\",mesh=\"prod\",cluster=\"west\""
expect_exit 2 "$MESHCA" check-expiry out --format yaml
finish
