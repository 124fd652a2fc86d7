# A SoftHSM2 token's user PIN held as 3-of-5 custodians' shares
# (hsm/pkcs11_login.hpp). The token starts with the PIN softhsm2-util gave
# it; the first ceremony generates the root key and only then replaces the
# PIN with a random one whose shares it wrote first. pkcs11-tool judges the
# PINs; OpenSC's pkcs11-spy, between meshca and SoftHSM2, records every
# C_Login, proving that refused shares never reach the token and that a run
# never sends more than one wrong PIN. The crash-point binary stops a first
# ceremony between writing the shares and C_SetPIN, and between C_SetPIN and
# generating the key; the next ordinary run recovers each time.
source "$(dirname "$0")/lib.sh"
SRC=${MESHCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
use_crashpoint
CUSTODIANS=(security-officer-1 security-officer-2 security-officer-3 auditor-1 auditor-2)
SPY=/usr/lib/x86_64-linux-gnu/pkcs11-spy.so
[ -f "$SPY" ] || fail "OpenSC's pkcs11-spy is not installed ($SPY)"
INITIAL_PIN=initial-pin-4821
# Under the asan preset: the spy keeps its configuration until exit.
export LSAN_OPTIONS="suppressions=$MESHCA_SOURCE_DIR/tests/tokens/lsan-modules.supp:print_suppressions=0"

# A token LABEL with the initial user PIN, and PLAN naming its key through
# the spy, the PIN held as shares and the initial PIN from the environment.
token_and_plan() {  # token_and_plan LABEL PLAN
  softhsm_token "$1" "$INITIAL_PIN"
  export PKCS11SPY=$MODULE
  write_token_plan "$2" "PIN Shares Root" ecdsa-p256 root-key "$PROD_DEV_MESHES" "" "$1" "$SPY"
  sed -i 's|pin: env:MESHCA_PIN}|pin: {initial: env:MESHCA_INITIAL_PIN, shares: {threshold: 3, custodians: [security-officer-1, security-officer-2, security-officer-3, auditor-1, auditor-2]}}}|' "$2"
  grep -q "threshold: 3" "$2" || fail "the plan was not rewritten"
}
token_and_plan pin-root plan.yaml
unset MESHCA_PIN
export MESHCA_INITIAL_PIN=$INITIAL_PIN
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_exit 0 "$MESHCA" plan show plan.yaml
expect_in last.out "PIN from 3-of-5 custodian shares (security-officer-1, security-officer-2, security-officer-3, auditor-1, auditor-2); the token's initial PIN from env:MESHCA_INITIAL_PIN)"

# Every run's output goes to runs.log (scanned for secrets at the end); the
# spy's record of the run to spy.log (it shows PINs: never scanned).
run() {  # run WANT MESHCA|CP ARGS...
  local want=$1; shift
  rm -f spy.log
  PKCS11SPY_OUTPUT=$WORK/spy.log expect_exit "$want" "$@"
  cat last.out last.err >>runs.log
}
logins() { cat spy.log 2>/dev/null | grep -c '^[0-9]*: C_Login' || true; }
no_login() { [ "$(logins)" = 0 ] || fail "a login was attempted: $1"; }
wrong_pins() { cat spy.log 2>/dev/null | grep -A12 '^[0-9]*: C_Login' | grep -c 'CKR_PIN_INCORRECT' || true; }
token_login() {  # token_login LABEL PIN: pkcs11-tool's login, the judge (PIN from the environment)
  JUDGE_PIN=$2 pkcs11-tool --module "$PKCS11SPY" --token-label "$1" --login --pin env:JUDGE_PIN --list-objects >/dev/null 2>&1
}
# The PIN from any 3 share files, as the runbook recovers it (gfcombine).
recover_pin() {  # recover_pin DIR FILE...: writes DIR/pin
  local dir=$1; shift
  rm -rf "$dir" && mkdir -m 700 "$dir" && cp -p "$@" "$dir/"
  sed -n '/<!-- pin-recovery:begin -->/,/<!-- pin-recovery:end -->/p' "$SRC/docs/ceremony-runbook.md" | sed '1,2d;$d' | sed '$d' >pin-recover.sh
  grep -q gfcombine pin-recover.sh || fail "no PIN recovery block in the runbook"
  (cd "$dir" && bash -euo pipefail ../pin-recover.sh) >pin-recovery.log 2>&1 || { cat pin-recovery.log >&2; fail "the runbook's PIN recovery failed"; }
}

# Without a directory for the shares no PIN is set and nothing logs in.
run 4 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "--shares-dir"
no_login "no shares"
# Without the initial PIN, nothing changes either.
MESHCA_INITIAL_PIN= run 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir shares
[ ! -e shares ] || [ -z "$(ls shares)" ] || fail "shares were written without a login"
token_login pin-root "$INITIAL_PIN" || fail "the initial PIN no longer works after refused runs"

# The first ceremony (the crash-point binary, counting its durable steps).
rm -f steps.log
MESHCA_STEP_LOG=$WORK/steps.log run 0 "$CP" ceremony run plan.yaml --out out --yes --shares-dir shares
expect_in last.out "3 bundles issued"
[ "$(wrong_pins)" = 0 ] || fail "the first ceremony sent a wrong PIN"
for c in "${CUSTODIANS[@]}"; do
  f=shares/pin-root.user-pin.$c.share
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
  expect_in "$f" "custodian: $c"
done
[ "$(ls shares | wc -l)" -eq 5 ] || fail "not exactly five files in shares/ (a PIN-change marker left?)"
recover_pin rec1 shares/pin-root.user-pin.{security-officer-1,auditor-1,auditor-2}.share
PIN=$(cat rec1/pin)
[ "${#PIN}" -eq 32 ] || fail "the new PIN is not 32 characters"
token_login pin-root "$PIN" || fail "pkcs11-tool cannot log in with the PIN the shares give"
token_login pin-root "$INITIAL_PIN" && fail "the initial PIN still works"
pass
# The transcript fingerprints each share, never the share.
share_line() { sed -n 's/^share: //p' "$1"; }
jq -se --arg s "$(printf '%s' "$(share_line shares/pin-root.user-pin.auditor-1.share)" | sha256sum | cut -d' ' -f1)" \
  '[.[] | select(.step == "root-key")][0].details.facts.pin_shares | .threshold == 3 and (.custodians | length) == 5
   and .custodians[3].custodian == "auditor-1" and .custodians[3].share == 4 and .custodians[3].sha256 == $s' \
  out/transcript.jsonl >/dev/null || fail "the transcript does not fingerprint the PIN's shares"
pass

# A later ceremony with three custodians' share files: one login, right.
unset MESHCA_INITIAL_PIN
use_shares() {  # use_shares WANT CUSTODIAN...
  local want=$1; shift
  rm -rf given && mkdir -m 700 given
  for c in "$@"; do cp -p "shares/pin-root.user-pin.$c.share" given/; done
  run "$want" "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
}
use_shares 0 security-officer-2 auditor-1 auditor-2
expect_in last.out "1 renewed"
[ "$(logins)" = 1 ] && [ "$(wrong_pins)" = 0 ] || fail "a later ceremony did not log in exactly once with the right PIN"
jq -se '[.[] | select(.step == "root-key")][-1].details.facts.pin_shares.given_by
        == ["security-officer-2", "auditor-1", "auditor-2"]' out/transcript.jsonl >/dev/null ||
  fail "the transcript does not name the custodians whose shares unlocked the token"
pass

# Every 2-subset is refused before any login.
sums=$(cat out/SHA256SUMS)
refuse_every_two_shares no_login "two shares"
# A corrupted share is named; a duplicate refused; neither logs in.
rm -rf given && mkdir -m 700 given && cp -p shares/pin-root.user-pin.{security-officer-1,auditor-1,auditor-2}.share given/
line=$(share_line shares/pin-root.user-pin.auditor-1.share)
digit=${line:10:1}
swap=$([ "$digit" = 0 ] && echo 1 || echo 0)
sed -i "s/^share: .*/share: ${line:0:10}$swap${line:11}/" given/pin-root.user-pin.auditor-1.share
run 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
expect_in last.err "the share of custodian auditor-1 (given/pin-root.user-pin.auditor-1.share) does not match its checksum"
no_login "a corrupted share"
rm -rf given && mkdir -m 700 given && cp -p shares/pin-root.user-pin.{security-officer-1,auditor-2}.share given/
cp -p shares/pin-root.user-pin.security-officer-1.share given/pin-root.user-pin.auditor-1.share
run 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
expect_in last.err "names custodian 'security-officer-1' (a duplicate or misplaced share file)"
no_login "a duplicate share"
# No share files at all (the directory forgotten), the initial PIN still
# around: the key is seen on the token, no PIN is sent and none is changed.
rm -rf given && mkdir -m 700 given
MESHCA_INITIAL_PIN=$INITIAL_PIN run 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
expect_in last.err "needs the shares of 3 of its 5 custodians; 0 given (none)"
no_login "no share files"
MESHCA_INITIAL_PIN=$INITIAL_PIN run 4 "$MESHCA" ceremony run plan.yaml --out out-again --yes --shares-dir given
expect_in last.err "the token already holds the key"
no_login "no share files"
[ -z "$(ls given)" ] || fail "shares were written for a token that has its key"
[ "$(cat out/SHA256SUMS)" = "$sums" ] || fail "a refused run changed the output"
token_login pin-root "$PIN" || fail "the PIN stopped working after refused runs"
pass

# ---- crash windows ------------------------------------------------------------
# The first ceremony's durable steps: the PIN change, and the steps around it.
set_pin=$(awk -F'\t' '$2 == "token-set-pin" { print $1; exit }' steps.log)
first_share=$(awk -F'\t' '$2 == "rename" && $3 ~ /\.share$/ { print $1; exit }' steps.log)
[ -n "$set_pin" ] && [ -n "$first_share" ] || { cat steps.log >&2; fail "no PIN-change steps in the step log"; }
awk -F'\t' -v n=$((set_pin + 1)) '$1 == n && $2 == "unlink" && $3 ~ /pin-change$/ { found = 1 } END { exit !found }' steps.log ||
  fail "the step after C_SetPIN is not the marker's removal"
export MESHCA_INITIAL_PIN=$INITIAL_PIN

# crash_at N LABEL: a fresh token LABEL, its first ceremony stopped before step N.
crash_at() {
  token_and_plan "$2" "$2.yaml"
  unset MESHCA_PIN
  MESHCA_CRASH_AT=$1 run 86 "$CP" ceremony run "$2.yaml" --out "out-$2" --yes --shares-dir "shares-$2"
}
# resume LABEL: the next ordinary run completes; the new PIN alone works.
resume() {
  run 0 "$MESHCA" ceremony run "$1.yaml" --out "out-$1" --yes --shares-dir "shares-$1"
  [ ! -e "shares-$1/$1.user-pin.pin-change" ] || fail "$1: the PIN-change marker is left"
  recover_pin "rec-$1" "shares-$1"/*.share
  token_login "$1" "$(cat "rec-$1/pin")" || fail "$1: the shares' PIN does not log in"
  token_login "$1" "$INITIAL_PIN" && fail "$1: the initial PIN still works"
  check_bundle "out-$1/prod/east" prod.e2e.internal
  pass
}

# Stopped between the shares written and C_SetPIN: the token has its initial
# PIN; the next run tries the shares' PIN (one wrong PIN), then the initial
# one, and makes the change.
crash_at "$set_pin" crash-a
[ -e shares-crash-a/crash-a.user-pin.pin-change ] || fail "no PIN-change marker after the stop"
[ "$(ls shares-crash-a/*.share | wc -l)" -eq 5 ] || fail "the shares were not all written before C_SetPIN"
token_login crash-a "$INITIAL_PIN" || fail "the PIN changed before the stop"
resume crash-a
[ "$(wrong_pins)" = 1 ] || fail "the recovery sent $(wrong_pins) wrong PINs, not one"
jq -se '[.[] | select(.step == "root-key")][0].details.facts.pin_shares | .completed_interrupted_change and (.custodians | length) == 5' \
  out-crash-a/transcript.jsonl >/dev/null || fail "the transcript does not record the completed PIN change"
pass

# Stopped after C_SetPIN, before the marker's removal and the key: the new
# PIN works at once, the key is generated, no wrong PIN is sent.
crash_at $((set_pin + 1)) crash-b
[ -e shares-crash-b/crash-b.user-pin.pin-change ] || fail "no PIN-change marker after the stop"
token_login crash-b "$INITIAL_PIN" && fail "the PIN did not change before the stop"
resume crash-b
[ "$(wrong_pins)" = 0 ] || fail "the recovery after C_SetPIN sent a wrong PIN"
expect_in last.out "generated in this run"

# Stopped after the marker's removal, before the key: an ordinary first run.
crash_at $((set_pin + 2)) crash-c
[ ! -e shares-crash-c/crash-c.user-pin.pin-change ] || fail "the marker was not removed before the stop"
resume crash-c
[ "$(wrong_pins)" = 0 ] || fail "the run after the change sent a wrong PIN"

# Stopped while the share files were written: the PIN was not changed; the
# next run is refused naming what to move away, and sends no PIN.
crash_at "$first_share" crash-d
run 4 "$MESHCA" ceremony run crash-d.yaml --out out-crash-d --yes --shares-dir shares-crash-d
expect_in last.err "stopped while writing the share files"
expect_in last.err "the token's PIN was not changed"
no_login "an incomplete share set"
token_login crash-d "$INITIAL_PIN" || fail "the PIN changed although the shares were incomplete"
pass

# No share and no PIN anywhere but the share files (and the spy's log).
for c in "${CUSTODIANS[@]}"; do
  hex=$(share_line "shares/pin-root.user-pin.$c.share" | cut -d- -f2)
  for where in out runs.log plan.yaml steps.log; do
    if grep -rqiF -- "$hex" "$where"; then fail "$c's share is in $where"; fi
  done
done
for where in out out-crash-a out-crash-b out-crash-c runs.log steps.log shares; do
  if grep -rqF -- "$PIN" "$where"; then fail "the PIN is in $where"; fi
done
pass
finish
