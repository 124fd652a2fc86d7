# What verify, inspect and check-expiry do with a directory that is not one
# bundle (issue 18 items 1, 6): an OUT, a mesh directory and the root
# directory mean every bundle below them and the root; retired/ is skipped
# with a note; each certificate is listed once; a root has one rotate-by
# date whether it is read from a bundle, from OUT/root or from the plan.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e directories root passphrase'

write_file_plan plan.yaml keys/root.pem "Directories Root" "$PROD_DEV_MESHES"
printf 'revocation:\n  crl: true\n' >>plan.yaml
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --renew prod/west
[ -d out/retired/prod/west ] || fail "the renewal archived nothing"
[ -f out/root/root-crl.pem ] || fail "no root CRL"
fp=$(openssl x509 -in out/root/root-cert.pem -noout -fingerprint -sha256 | cut -d= -f2)

# ---- verify ---------------------------------------------------------------------
# OUT: the root and the three bundles in service; retired/ skipped with a note.
expect_exit 0 "$MESHCA" verify out
for label in "out/root (root)" "out/prod/east (istio-cacerts)" "out/prod/west (istio-cacerts)" "out/dev/lab (istio-cacerts)"; do
  expect_in "$WORK/last.out" "== $label"
done
expect_not_in "$WORK/last.out" "== out/retired"
expect_in "$WORK/last.err" "note: out/retired: skipped: bundles archived by a renewal are not in service"
expect_in "$WORK/last.out" "PASS layout               out/root: root directory: checked as a root CA (root-cert.pem and its CRL root-crl.pem)"
expect_in "$WORK/last.out" "PASS crl                  out/root/root-crl.pem: 1 CRL(s)"
expect_in "$WORK/last.out" "out/root: root C=US, O=E2E Corp, CN=Directories Root [SHA-256 $fp]"
expect_in "$WORK/last.out" "out/prod/east: root C=US, O=E2E Corp, CN=Directories Root [SHA-256 $fp]"
expect_in "$WORK/last.out" "out/prod/east <-> out/prod/west: mutual trust"
expect_in "$WORK/last.out" "4 bundles checked at"
expect_in "$WORK/last.out" "all pass"
# The same with a trailing slash, the glob the runbook once showed, and a mesh directory.
expect_exit 0 "$MESHCA" verify out/
expect_in "$WORK/last.out" "== out/root (root)"
expect_exit 0 "$MESHCA" verify out/*/*
expect_in "$WORK/last.out" "== out/root (root)"
[ "$(grep -c '^== out/root (root)' "$WORK/last.out")" -eq 1 ] || fail "out/root checked more than once for its two files"
pass
expect_in "$WORK/last.err" "note: out/retired/prod: skipped"
expect_exit 0 "$MESHCA" verify out/prod
expect_in "$WORK/last.out" "2 bundles checked at"
expect_not_in "$WORK/last.out" "out/root"
# The root directory alone; and a named retired bundle is checked when asked for.
expect_exit 0 "$MESHCA" verify out/root --json
jq -e '.ok and (.bundles | length) == 1 and .bundles[0].layout == "root" and
       .bundles[0].root_fingerprint == "'"$fp"'"' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "unexpected JSON for the root directory"; }
pass
retired=$(find out/retired/prod/west -mindepth 1 -maxdepth 1 -type d | head -1)
expect_exit 0 "$MESHCA" verify "$retired"
expect_in "$WORK/last.out" "== $retired (istio-cacerts)"
# A stale root CRL fails the root directory (Envoy refuses a stale CRL).
expect_exit 1 "$MESHCA" verify out/root --at "$(date -u -d '+40 days' +%Y-%m-%dT%H:%M:%SZ)"
expect_in "$WORK/last.out" "FAIL crl                  out/root/root-crl.pem: the CRL of C=US, O=E2E Corp, CN=Directories Root is stale"
# A root directory whose CRL is not the root's.
cp -r out/root otherroot
openssl crl -in out/prod/east/ca-crl.pem -out otherroot/root-crl.pem 2>/dev/null  # the first CRL: the intermediate's
expect_exit 1 "$MESHCA" verify otherroot
expect_in "$WORK/last.out" "is not signed by any certificate of the chain"
# A directory named twice is read once, and is not "nothing found" the second time.
expect_exit 0 "$MESHCA" verify out/prod out/prod/
expect_in "$WORK/last.out" "2 bundles checked at"
# Nothing below: an empty directory and a directory with only retired bundles.
mkdir empty
expect_exit 1 "$MESHCA" verify empty
expect_in "$WORK/last.out" "no bundle, root directory or Secret manifest found in or below this directory"
expect_exit 3 "$MESHCA" inspect empty
expect_exit 3 "$MESHCA" check-expiry out/retired
expect_in "$WORK/last.err" "nothing to check"

# ---- inspect --------------------------------------------------------------------
expect_exit 0 "$MESHCA" inspect out
expect_in "$WORK/last.out" "# out/root (root)"
# The root's CRL once, with every file that holds it (root-crl.pem and each bundle's ca-crl.pem).
[ "$(grep -cE '^CRL .*out/root/root-crl.pem.*: issuer C=US, O=E2E Corp, CN=Directories Root' "$WORK/last.out")" -eq 1 ] \
  || { cat "$WORK/last.out"; fail "inspect does not show the root CRL once"; }
pass
# The root once, with every file that holds it.
[ "$(grep -c "^  SHA-256           $fp" "$WORK/last.out")" -eq 1 ] || fail "inspect shows the root more than once"
pass
expect_exit 0 "$MESHCA" inspect out/root/root-crl.pem --json
jq -e '(.certificates | length) == 0 and (.crls | length) == 1 and .crls[0].revoked == 0 and
       .crls[0].issuer == "C=US, O=E2E Corp, CN=Directories Root"' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "unexpected inspect JSON for a CRL file"; }
pass

# ---- check-expiry and the one rotate-by date --------------------------------------
expect_exit 0 "$MESHCA" check-expiry out --within 30d
[ "$(grep -c 'CN=Directories Root notAfter' "$WORK/last.out")" -eq 1 ] || fail "check-expiry lists the root more than once"
pass
expect_in "$WORK/last.out" "CRL of C=US, O=E2E Corp, CN=Directories Root nextUpdate"
expect_in "$WORK/last.out" "refresh by"
rotate_by() { grep 'CN=Directories Root notAfter' "$WORK/last.out" | sed -E 's/.*rotate by ([0-9TZ:-]+).*/\1/'; }
from_out=$(rotate_by)
expect_exit 0 "$MESHCA" check-expiry out/root/root-cert.pem
from_root_file=$(rotate_by)
expect_exit 0 "$MESHCA" check-expiry out/prod/east
from_bundle=$(rotate_by)
[ -n "$from_out" ] && [ "$from_out" = "$from_root_file" ] && [ "$from_out" = "$from_bundle" ] \
  || fail "three rotate-by dates for one root: OUT $from_out, root-cert.pem $from_root_file, bundle $from_bundle"
pass
# plan show computes the root's dates from the plan; at the time the
# ceremony issued the root it gives the same date.
issued=$(date -u -d "$(openssl x509 -in out/root/root-cert.pem -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 "$MESHCA" plan show plan.yaml --at "$issued"
planned=$(grep -m1 'rotate by' "$WORK/last.out" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' | head -1)
[ "$from_out" = "$planned" ] || fail "plan show says the root rotates by $planned, check-expiry $from_out"
pass
# JSON: roles include the CRLs.
expect_exit 0 "$MESHCA" check-expiry out --json
jq -e '([.certificates[] | select(.role == "root")] | length) == 1 and
       ([.certificates[] | select(.role == "crl")] | length) >= 2 and .ok' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "unexpected check-expiry JSON"; }
pass
# A CRL past its refresh-by date is RENEW; past nextUpdate EXPIRED.
expect_exit 1 "$MESHCA" check-expiry out/root/root-crl.pem --at "$(date -u -d '+25 days' +%Y-%m-%dT%H:%M:%SZ)" --within 1d
expect_in "$WORK/last.out" "RENEW"
expect_in "$WORK/last.out" "refresh CRLs with: meshca crl refresh PLAN --out OUT"
expect_exit 1 "$MESHCA" check-expiry out/root/root-crl.pem --at "$(date -u -d '+31 days' +%Y-%m-%dT%H:%M:%SZ)"
expect_in "$WORK/last.out" "EXPIRED"
finish
