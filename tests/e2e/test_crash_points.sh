# Crash safety proven step by step. The test-only meshca-crashpoint binary
# (tests/crashpoint) numbers every durable step meshca takes (each fsync,
# syncfs, rename, transcript append, ledger write); MESHCA_CRASH_AT=N stops it
# hard with _exit just before step N. For four kinds of session (a first
# ceremony, a renewal, a revocation, a root rotation) the test walks N over
# every step of that session (and of a corporate CRL import) and, after each stop, runs what an operator
# would run next with the ordinary binary, then checks:
#   - the re-run completes (or, for a revocation cut short after its intent
#     was recorded, is refused naming the unfinished session until
#     `revoke --resume` finishes it);
#   - every bundle passes `openssl verify -x509_strict`;
#   - `meshca transcript verify --out` and `meshca audit` pass;
#   - no revocation is lost (the root CRL lists the revoked intermediate);
#   - no CRL number is used for two different CRLs of one issuer;
#   - nothing is deleted that is not archived (a renewed bundle's old key is
#     in the bundle or under retired/).
#
# One kind per run: `bash test_crash_points.sh ceremony|renewal|revocation|rotation|crl-import|pinned-crl`
# (CTest runs the six as separate tests, in parallel with the others).
KIND=${1:?usage: test_crash_points.sh ceremony|renewal|revocation|rotation|crl-import|pinned-crl}
source "$(dirname "$0")/lib.sh"
use_crashpoint
export MESHCA_ROOT_PASS='e2e crash-point root' MESHCA_NEW_ROOT_PASS='e2e crash-point new root'

write_crl_and_rotation_plans "Crash Root" "$PROD_DEV_MESHES"
BUNDLES=(prod/east prod/west dev/lab)
WHAT=setup

# ---- what every state after a stop and a recovery must satisfy ----------------
# Every CRL seen in DIR goes into crls.tsv (issuer: its name and key
# identifier, since a renewed intermediate keeps its name; number; SHA-256 of
# the DER); one (issuer, number) with two digests is a reused CRL number.
# One openssl call per CRL block; a file already read (same SHA-256) is skipped.
record_crls() {  # record_crls DIR
  local f b sum text
  while IFS= read -r f; do
    sum=$(sha256sum <"$f" | cut -c1-64)
    grep -qx "$sum" crl-files.seen 2>/dev/null && continue
    echo "$sum" >>crl-files.seen
    rm -f crlblk-*
    csplit -s -z -f crlblk- "$f" '/-----BEGIN X509 CRL-----/' '{*}' 2>/dev/null || continue
    for b in crlblk-*; do
      text=$(openssl crl -in "$b" -noout -text)
      printf '%s %s\t%s\t%s\n' "$(grep -m1 'Issuer:' <<<"$text" | sed 's/^ *//')" \
        "$(grep -A1 'Authority Key Identifier' <<<"$text" | tail -1 | tr -d ' ')" \
        "$(grep -A1 'X509v3 CRL Number' <<<"$text" | tail -1 | tr -d ' ')" \
        "$(sha256sum <"$b" | cut -c1-64)" >>crls.tsv
    done
  done < <(find "$1" -name '*crl.pem' -not -path '*/.meshca-tmp/*')
  rm -f crlblk-*
  # A public-only bundle's planned CRL (public-bundle.yaml, `crl:`) counts as
  # a CRL of its intermediate: its number with the digest of its content.
  while IFS= read -r f; do
    grep -q '^crl:' "$f" || continue
    printf 'planned %s\t%s\t%s\n' "$(openssl x509 -in "${f%/*}/ca-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)" \
      "$(sed -n 's/^  number: //p' "$f")" "$(sed -n '/^crl:/,$p' "$f" | sha256sum | cut -c1-64)" >>crls.tsv
  done < <(find "$1" -name public-bundle.yaml -not -path '*/.meshca-tmp/*')
}
check_crl_numbers() {  # check_crl_numbers WHAT
  local reused
  reused=$(sort -u crls.tsv | awk -F'\t' '{ n[$1 FS $2]++ } END { for (k in n) if (n[k] > 1) print k }')
  [ -z "$reused" ] || fail "$1: a CRL number was used for two different CRLs: $reused"
  pass
}
check_bundles() {  # check_bundles OUT
  local b
  for b in "${BUNDLES[@]}"; do
    openssl verify -x509_strict -CAfile "$1/$b/root-cert.pem" -untrusted "$1/$b/cert-chain.pem" "$1/$b/ca-cert.pem" \
      >/dev/null || fail "$WHAT: $1/$b does not verify"
  done
  pass
}
check_output() {  # check_output OUT PLAN
  check_bundles "$1"
  expect_exit 0 "$MESHCA" transcript verify "$1/transcript.jsonl" --out "$1"
  expect_exit 0 "$MESHCA" audit "$1" "$2" --quiet
  [ -z "$(ls -A "$1/.meshca-tmp" 2>/dev/null)" ] || fail "$WHAT: staging leftovers after recovery"
  pass
}

# walk KIND SETUP RECOVER CHECK -- ARGS...: counts the session's durable steps,
# then for each step N: SETUP, crash at N, RECOVER, CHECK.
walk() {
  local kind=$1 setup=$2 recover=$3 check=$4 steps n rc
  shift 5
  $setup
  rm -f steps.log
  MESHCA_STEP_LOG="$WORK/steps.log" "$CP" "$@" >/dev/null 2>&1 || fail "$kind: the uninterrupted session failed"
  steps=$(wc -l <steps.log)
  [ "$steps" -ge 5 ] || fail "$kind: only $steps durable steps counted"
  for n in $(seq 1 "$steps"); do
    WHAT="$kind, stop at step $n/$steps ($(sed -n "${n}p" steps.log | cut -f2,3 | tr '\t' ' '))"
    $setup
    rc=0
    MESHCA_CRASH_AT=$n "$CP" "$@" >crash.out 2>&1 || rc=$?
    [ "$rc" -eq 86 ] || { cat crash.out; fail "$WHAT: expected the hard stop (exit 86), got $rc"; }
    record_crls_if_any
    $recover
    $check
  done
  echo "$kind: $steps durable steps, each one a stop followed by a checked recovery"
}
record_crls_if_any() { [ -d out ] && record_crls out; [ -d rot ] && record_crls rot; return 0; }

# ---- 1. the first ceremony: root key, root certificate, CRLs, bundles --------
ceremony_setup() { rm -rf out keys crls.tsv crl-files.seen; }
ceremony_recover() { expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --quiet; record_crls out; }
ceremony_check() { check_output out plan.yaml; check_crl_numbers "$WHAT"; }
[ "$KIND" = ceremony ] && walk ceremony ceremony_setup ceremony_recover ceremony_check -- ceremony run plan.yaml --out out --yes --quiet --jobs 1

# A complete output every later walk starts from.
rm -rf out keys
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --quiet
cp -a out base-out && cp -a keys base-keys
east_key=$(sha256sum <base-out/prod/east/ca-key.pem | cut -c1-64)
restore_base() { rm -rf out keys rot crls.tsv crl-files.seen; cp -a base-out out && cp -a base-keys keys; record_crls out; }

# ---- 2. a renewal: archive the old bundle, publish the new one ---------------
renewal_recover() { expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --quiet; record_crls out; }
renewal_check() {
  check_output out plan.yaml
  check_crl_numbers "$WHAT"
  # Nothing deleted that is not archived: the old key is in the bundle or retired/.
  local found=0 f
  for f in out/prod/east/ca-key.pem out/retired/prod/east/*/ca-key.pem; do
    [ -f "$f" ] && [ "$(sha256sum <"$f" | cut -c1-64)" = "$east_key" ] && found=1
  done
  [ $found -eq 1 ] || fail "$WHAT: the renewed bundle's old key is neither in place nor archived"
  pass
}
[ "$KIND" = renewal ] && walk renewal restore_base renewal_recover renewal_check -- ceremony run plan.yaml --out out --yes --quiet --jobs 1 --renew prod/east

# ---- 3. a revocation: ledger first (write-ahead), then CRLs, then bundles ----
west_serial=$(openssl x509 -in base-out/prod/west/ca-cert.pem -noout -serial | cut -d= -f2)
revoke_cmd=(revoke plan.yaml --out out --cert base-out/prod/west/ca-cert.pem --reason keyCompromise --yes)
REVOKE_PLAN=plan.yaml
revocation_recover() {
  local rc=0
  "$MESHCA" "${revoke_cmd[@]}" >last.out 2>last.err || rc=$?
  if [ $rc -eq 5 ]; then
    # Cut short after its intent was recorded: refused, naming it, until resumed.
    expect_in last.err "unfinished revocation session"
    expect_in last.err "--resume"
    expect_exit 5 "$MESHCA" crl refresh "$REVOKE_PLAN" --out out --yes
    expect_exit 5 "$MESHCA" ceremony run "$REVOKE_PLAN" --out out --yes
    expect_exit 0 "$MESHCA" revoke "$REVOKE_PLAN" --out out --resume --yes
    record_crls out
    expect_exit 0 "$MESHCA" "${revoke_cmd[@]}"
    expect_in last.out "already revoked"
  else
    [ $rc -eq 0 ] || { cat last.out last.err; fail "$WHAT: revoke after the stop exited $rc"; }
  fi
  record_crls out
  # A later refresh carries every revocation forward.
  expect_exit 0 "$MESHCA" crl refresh "$REVOKE_PLAN" --out out --yes
  record_crls out
}
revocation_check() {
  check_output out plan.yaml
  check_crl_numbers "$WHAT"
  openssl crl -in out/root/root-crl.pem -noout -text | grep -q "Serial Number: $west_serial" \
    || fail "$WHAT: the revocation of prod/west was lost"
  pass
}
[ "$KIND" = revocation ] && walk revocation restore_base revocation_recover revocation_check -- "${revoke_cmd[@]}"

# ---- 4. a root rotation: new root, cross-signature, phases, one publish -----
rotation_recover() {
  # The output appears whole or not at all: a stop after its rename leaves
  # it complete, and a second rotation into it is refused.
  if [ -e rot ]; then
    expect_exit 5 "$MESHCA" rotate phases rot.yaml --out rot --yes --quiet
  else
    expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes --quiet
  fi
  [ ! -e .meshca-tmp ] || [ -z "$(ls -A .meshca-tmp)" ] || fail "$WHAT: rotation staging left behind"
}
rotation_check() {
  local p
  for p in 1 2 3; do check_bundles "rot/phase-$p"; done
  expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
  expect_exit 0 "$MESHCA" audit rot rot.yaml --quiet
  diff -r -x .meshca-lock out base-out >/dev/null || fail "$WHAT: the rotation changed the current output"
  pass
}
[ "$KIND" = rotation ] && walk rotation restore_base rotation_recover rotation_check -- rotate phases rot.yaml --out rot --yes --quiet --jobs 1

# ---- 5. a corporate CRL import: ledger first, the CRL file, then bundles -----
# A mesh root under the corporate CA with CRLs; `crl import` brings the
# corporate CAs' next CRLs into every bundle (no root key).
if [ "$KIND" = crl-import ]; then
  corp_pki corp "Crash Corp Root"
  cat corp-int.pem corp-root.pem >corp-chain.pem
  corp_crl corp int int.crl -crldays 7 && corp_crl corp root root.crl -crldays 7 && cat int.crl root.crl >crls-1.pem
  write_crl_plan ext.yaml ext-keys/root.pem "Crash Ext Root" "$PROD_DEV_MESHES"
  anchor=$(openssl x509 -in corp-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
  sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"$anchor\"}/" ext.yaml
  expect_exit 0 "$MESHCA" root csr ext.yaml --out ext-out --yes --quiet
  corp_sign ext-out/root/root.csr.pem ext-root.pem 3650 1
  expect_exit 0 "$MESHCA" root import ext.yaml --out ext-out --yes --cert ext-root.pem --chain corp-chain.pem --crl crls-1.pem
  expect_exit 0 "$MESHCA" ceremony run ext.yaml --out ext-out --yes --quiet
  corp_crl corp int int.crl -crldays 7 && corp_crl corp root root.crl -crldays 7 && cat int.crl root.crl >crls-2.pem
  import_cmd=(crl import ext.yaml --out out --crl crls-2.pem --yes --quiet)
  import_setup() { rm -rf out crls.tsv crl-files.seen; cp -a ext-out out; record_crls out; }
  import_recover() {
    local rc=0
    "$MESHCA" "${import_cmd[@]}" >last.out 2>last.err || rc=$?
    if [ $rc -eq 5 ]; then
      # Cut short after its intent was recorded: finished by --resume, without the root key.
      expect_in last.err "unfinished crl-import session"
      MESHCA_ROOT_PASS=wrong expect_exit 0 "$MESHCA" revoke ext.yaml --out out --resume --yes
      record_crls out
      expect_exit 0 "$MESHCA" "${import_cmd[@]}"
    else
      [ $rc -eq 0 ] || { cat last.out last.err; fail "$WHAT: crl import after the stop exited $rc"; }
    fi
    record_crls out
  }
  import_check() {
    check_output out ext.yaml
    check_crl_numbers "$WHAT"
    cmp -s out/root/issuer-crls.pem crls-2.pem || fail "$WHAT: the imported corporate CRLs are not in place"
    local b
    for b in "${BUNDLES[@]}"; do
      grep -qF "$(sed -n 2p root.crl)" "out/$b/ca-crl.pem" || fail "$WHAT: out/$b/ca-crl.pem lacks the new corporate CRLs"
    done
    pass
  }
  walk crl-import import_setup import_recover import_check -- "${import_cmd[@]}"
fi

# ---- 6. a revocation that rewrites a public-only bundle (a pinned key) -------
# The room plans the pinned intermediate's CRL in public-bundle.yaml; the
# revocation of one of its workloads reserves the next number, then
# rewrites that public bundle. After every stop and recovery the planned
# CRL lists the workload, and no planned number names two contents.
if [ "$KIND" = pinned-crl ]; then
  zero=0000000000000000000000000000000000000000000000000000000000000000
  write_crl_plan pin.yaml pin-keys/root.pem "Crash Pinned Root" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters:
      - {name: east, intermediate: {csr: {path: requests/east.csr.pem, spki_sha256: $zero}}}
      - {name: west}"
  expect_exit 0 "$MESHCA" csr create pin.yaml --cluster prod/east --out east-key
  mkdir -p requests && cp east-key/ca.csr.pem requests/east.csr.pem
  sed -i "s/$zero/$(cat last.out)/" pin.yaml
  expect_exit 0 "$MESHCA" ceremony run pin.yaml --out pin-out --yes --quiet
  expect_exit 0 "$MESHCA" bundle assemble pin-out/prod/east --key east-key/ca-key.pem --out east-asm
  issue_workload east-asm wl alice
  wl_serial=$(openssl x509 -in wl.crt -noout -serial | cut -d= -f2)
  BUNDLES=(prod/east prod/west)
  REVOKE_PLAN=pin.yaml
  revoke_cmd=(revoke pin.yaml --out out --cert wl.crt --reason keyCompromise --yes)
  pinned_setup() { rm -rf out crls.tsv crl-files.seen; cp -a pin-out out; record_crls out; }
  pinned_check() {
    check_output out pin.yaml
    check_crl_numbers "$WHAT"
    grep -q "serial: '$wl_serial'" out/prod/east/public-bundle.yaml || fail "$WHAT: the revocation of the workload was lost"
    pass
  }
  walk pinned-crl pinned_setup revocation_recover pinned_check -- "${revoke_cmd[@]}"
fi
finish
