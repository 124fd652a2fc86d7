# openCryptoki's soft token under its own pkcsslotd (state in
# /var/lib/opencryptoki saved and restored; CTest RESOURCE_LOCK
# opencryptoki_state). RSA works end to end; this build has no EC key
# generation, which meshca reports from the mechanism list before logging in.
# PINs are 4-8 characters: a longer PIN is refused without being sent.
source "$(dirname "$0")/lib.sh"
source "$MESHCA_SOURCE_DIR/tests/tokens/lib.sh"
start_opencryptoki
exercise_token "rsa-2048 rsa-3072" "ecdsa-p256 ecdsa-p384"
# A PIN longer than the token allows is never sent: after a good login (which
# clears the retry counter) it leaves the counter clean.
expect_exit 0 "$MESHCA" hsm list --module "$MODULE" --token "$TOKEN" --pin-source env:MESHCA_PIN
MESHCA_PIN=123456789 expect_exit 4 "$MESHCA" ceremony run plan-rsa-2048.yaml --out long-pin --yes
expect_in last.err "accepts user PINs of 4-8 characters"
expect_in last.err "NOT sent"
expect_exit 0 "$MESHCA" hsm list --module "$MODULE" --token "$TOKEN" --json
python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["tokens"][0]["flags"]; assert not f["user_pin_count_low"] and not f["user_pin_final_try"], f' last.out \
  || fail "the over-long PIN was counted as a failed login"
pass
record "-" "PIN longer than the token's limit" "refused before login (exit 4)" "PINs are 4-8 characters"
# Wrong PINs until the token locks: the messages warn, then name the SO reset.
for _ in 1 2 3 4 5; do
  MESHCA_PIN=$WRONG_PIN expect_exit 4 "$MESHCA" hsm list --module "$MODULE" --token "$TOKEN" --pin-source env:MESHCA_PIN
  grep -q "LOCKED\|is locked" last.err && break
done
expect_in last.err "pkcsconf -u"
expect_not_in last.err "SoftHSM2"
expect_exit 4 "$MESHCA" ceremony run plan-rsa-2048.yaml --out locked --yes
expect_in last.err "is locked; nothing was sent"
pkcsconf -u -c 3 -S so123456 -n "$MESHCA_PIN" >/dev/null
expect_exit 0 "$MESHCA" ceremony run plan-rsa-2048.yaml --out out-rsa-2048 --yes
record "-" "user PIN locked" "refused (exit 4), SO reset named" "pkcsconf -u unlocks"
finish
