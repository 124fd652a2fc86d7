# M-of-N custody of a file root's passphrase (core/secret_shares): meshca
# makes the passphrase at the first ceremony and writes one share per
# custodian; a later ceremony opens the key from any 3 of the 5 shares and
# refuses every 2-subset, a corrupted share and a duplicate, naming the
# custodian, before the key file is decrypted. The runbook's recovery with
# gfcombine (its code block, run verbatim) gives the passphrase from the share
# files alone, and no share or the passphrase is in OUT, the transcript or the
# logs.
source "$(dirname "$0")/lib.sh"
SRC=${MESHCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
unset MESHCA_ROOT_PASS
CUSTODIANS=(security-officer-1 security-officer-2 security-officer-3 auditor-1 auditor-2)

write_file_plan plan.yaml keys/root-key.pem "Shares Root CA" "$PROD_DEV_MESHES"
sed -i 's|    file: {path: keys/root-key.pem, passphrase: env:MESHCA_ROOT_PASS}|    file:\
      path: keys/root-key.pem\
      passphrase:\
        shares:\
          threshold: 3\
          custodians: [security-officer-1, security-officer-2, security-officer-3, auditor-1, auditor-2]|' plan.yaml
grep -q "threshold: 3" plan.yaml || fail "the plan was not rewritten"
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_exit 0 "$MESHCA" plan show plan.yaml
expect_in last.out "3-of-5 custodian shares (security-officer-1, security-officer-2, security-officer-3, auditor-1, auditor-2)"

# Logs of every run, scanned for secrets at the end.
log() { cat last.out last.err >>runs.log; }

# The first ceremony needs a directory for the shares, never inside OUT.
expect_exit 4 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "--shares-dir"
log
[ ! -e keys/root-key.pem ] || fail "a key was made without its shares"
mkdir -m 700 out2
expect_exit 2 "$MESHCA" ceremony run plan.yaml --out out2 --yes --shares-dir out2/shares
expect_in last.err "must not be inside the output directory"
log

expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir shares
log
expect_in last.out "3 bundles issued"
for c in "${CUSTODIANS[@]}"; do
  f=shares/root-key.$c.share
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
  expect_in "$f" "custodian: $c"
  expect_in "$f" "threshold: 3"
done
[ "$(stat -c %a shares)" = 700 ] || fail "the shares directory is not 0700"
[ "$(ls shares | wc -l)" -eq 5 ] || fail "not exactly five share files"
head -1 keys/root-key.pem | grep -q "ENCRYPTED PRIVATE KEY" || fail "the root key is not encrypted"

# The transcript fingerprints each share (SHA-256 of its share line), in the
# plan's custodian order; never the share.
share_line() { sed -n 's/^share: //p' "shares/root-key.$1.share"; }
jq -se --arg c "${CUSTODIANS[3]}" --arg s "$(printf '%s' "$(share_line auditor-1)" | sha256sum | cut -d' ' -f1)" \
  '[.[] | select(.step == "root-key")][0].details.facts.passphrase_shares | .threshold == 3 and (.custodians | length) == 5
   and .custodians[3].custodian == $c and .custodians[3].share == 4 and .custodians[3].sha256 == $s' \
  out/transcript.jsonl >/dev/null || fail "the transcript does not fingerprint the shares"
pass

# A later ceremony (a renewal needs the root key) with the share files of
# custodians $@ in a fresh directory; the exit code it must give first.
use_shares() {  # use_shares WANT CUSTODIAN...
  local want=$1; shift
  rm -rf given && mkdir -m 700 given
  for c in "$@"; do cp -p "shares/root-key.$c.share" given/; done
  expect_exit "$want" "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
  log
}

# Every 3-subset opens the key.
n=0
for a in 0 1 2 3 4; do
  for b in $(seq $((a + 1)) 4); do
    for c in $(seq $((b + 1)) 4); do
      use_shares 0 "${CUSTODIANS[a]}" "${CUSTODIANS[b]}" "${CUSTODIANS[c]}"
      expect_in last.out "1 renewed"
      n=$((n + 1))
    done
  done
done
[ "$n" -eq 10 ] || fail "$n 3-subsets"
# The transcript names whose shares opened the key (the last subset's).
jq -se '[.[] | select(.step == "root-key")][-1].details.facts.passphrase_shares.given_by
        == ["security-officer-3", "auditor-1", "auditor-2"]' out/transcript.jsonl >/dev/null ||
  fail "the transcript does not name the custodians whose shares opened the key"
pass

# Every 2-subset is refused, naming who gave a share and who did not, and no
# key is touched: the bundle stays as it was.
sums=$(cat out/SHA256SUMS)
refuse_every_two_shares
[ "$(cat out/SHA256SUMS)" = "$sums" ] || fail "a refused run changed the output"
pass

# A corrupted share: one hex digit of auditor-1's share changed.
rm -rf given && mkdir -m 700 given && cp -p shares/root-key.{security-officer-1,auditor-1,auditor-2}.share given/
line=$(share_line auditor-1)
digit=${line:10:1}
swap=$([ "$digit" = 0 ] && echo 1 || echo 0)
sed -i "s/^share: .*/share: ${line:0:10}$swap${line:11}/" given/root-key.auditor-1.share
cmp -s given/root-key.auditor-1.share shares/root-key.auditor-1.share && fail "the share was not corrupted"
expect_exit 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
log
expect_in last.err "the share of custodian auditor-1 (given/root-key.auditor-1.share) does not match its checksum"

# A duplicate: security-officer-1's share handed in as auditor-1's.
rm -rf given && mkdir -m 700 given && cp -p shares/root-key.{security-officer-1,auditor-2}.share given/
cp -p shares/root-key.security-officer-1.share given/root-key.auditor-1.share
expect_exit 4 "$MESHCA" ceremony run plan.yaml --out out --yes --shares-dir given --renew prod/east
log
expect_in last.err "names custodian 'security-officer-1' (a duplicate or misplaced share file)"
[ "$(cat out/SHA256SUMS)" = "$sums" ] || fail "a refused run changed the output"
pass

# A second key creation never replaces the share set.
sed 's|keys/root-key.pem|keys2/root-key.pem|' plan.yaml >plan2.yaml
expect_exit 5 "$MESHCA" ceremony run plan2.yaml --out out3 --yes --shares-dir shares
log
expect_in last.err "already exists"
[ ! -e keys2/root-key.pem ] || fail "a key was made whose shares were not written"

# Recovery without meshca: the runbook's block, verbatim, with the share files
# of three custodians and a copy of the key file.
mkdir -m 700 recovery recovery/keys
cp -p shares/root-key.{security-officer-2,auditor-1,auditor-2}.share recovery/
cp -p keys/root-key.pem recovery/keys/
sed -n '/<!-- recovery:begin -->/,/<!-- recovery:end -->/p' "$SRC/docs/ceremony-runbook.md" | sed '1,2d;$d' | sed '$d' >recover.sh
grep -q gfcombine recover.sh || fail "no recovery block in the runbook"
(cd recovery && bash -euo pipefail ../recover.sh) >recovery.log 2>&1 || { cat recovery.log >&2; fail "the runbook's recovery failed"; }
expect_in recovery.log "passphrase recovered"
openssl pkey -in keys/root-key.pem -passin file:recovery/passphrase -noout || fail "openssl refuses the recovered passphrase"
pass
# The threshold is real: gfcombine on two of the shares gives another value.
(cd recovery && rm -f passphrase.005 passphrase && gfcombine -o two passphrase.[0-9][0-9][0-9])
[ -s recovery/two ] || fail "gfcombine wrote nothing for two shares"
openssl pkey -in keys/root-key.pem -passin file:recovery/two -noout 2>/dev/null && fail "two shares opened the key"
pass
(cd recovery && bash -euo pipefail ../recover.sh) >recovery.log 2>&1 || fail "the runbook's recovery failed the second time"
PASSPHRASE=$(cat recovery/passphrase)
[ "${#PASSPHRASE}" -eq 32 ] || fail "the passphrase is not 32 characters"

# No share and no passphrase anywhere but the share files.
for c in "${CUSTODIANS[@]}"; do
  hex=$(share_line "$c" | cut -d- -f2)
  for where in out out3 runs.log plan.yaml; do
    [ -e "$where" ] || continue
    if grep -rqiF -- "$hex" "$where"; then fail "$c's share is in $where"; fi
  done
done
for where in out out3 runs.log shares; do
  [ -e "$where" ] || continue
  if grep -rqF -- "$PASSPHRASE" "$where"; then fail "the passphrase is in $where"; fi
done
pass
finish
