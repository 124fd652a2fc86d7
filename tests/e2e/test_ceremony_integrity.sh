# Ceremony integrity for auditors: the plan digest ignores layout but not
# meaning, --expect-digest refuses a changed plan, and the transcript's hash
# chain and file digests expose edits, removals and changed outputs.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e integrity passphrase'

"$MESHCA" plan init >plan.yaml
expect_exit 0 "$MESHCA" plan digest plan.yaml
digest=$(cut -d' ' -f1 last.out)
[ ${#digest} -eq 64 ] || fail "digest is not 64 hex characters: $digest"
pass
# Comments and layout do not change the digest; a value does.
grep -v '^#' plan.yaml | sed 's/  # .*$//' >reformatted.yaml
expect_exit 0 "$MESHCA" plan digest reformatted.yaml
[ "$(cut -d' ' -f1 last.out)" = "$digest" ] || fail "comments changed the digest"
pass
sed 's/validity: 2y/validity: 3y/' plan.yaml >changed.yaml
expect_exit 0 "$MESHCA" plan digest changed.yaml
[ "$(cut -d' ' -f1 last.out)" != "$digest" ] || fail "a changed validity kept the digest"
pass

# The ceremony refuses a plan other than the approved one, before anything.
expect_exit 3 "$MESHCA" ceremony run changed.yaml --out out --yes --expect-digest "$digest"
expect_in last.err "not the approved"
[ ! -e out ] && [ ! -e keys ] || fail "a refused plan wrote something"
pass
# Without a terminal and without --yes, nothing is signed.
expect_exit 2 "$MESHCA" ceremony run plan.yaml --out out </dev/null
expect_in last.err "--yes"
[ ! -e keys/root-key.pem ] || fail "root key generated without confirmation"
pass

expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --expect-digest "$digest" --operator "Alice Operator" --witness "Bob Witness" --witness "Carol Witness"
head=$(sed -n 's/^transcript: .*(head \([0-9a-f]*\);.*/\1/p' last.out)
[ ${#head} -eq 64 ] || fail "no transcript head in the summary"
pass
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
expect_in last.out "PASS"
expect_in last.out "head $head"
expect_in out/transcript.jsonl '"plan_digest":"'"$digest"'"'
expect_in out/transcript.jsonl '"witnesses":["Bob Witness","Carol Witness"]'
expect_in out/transcript.jsonl '"operator":"Alice Operator"'
expect_not_in out/transcript.jsonl "$MESHCA_ROOT_PASS"
[ "$(head -1 out/transcript.jsonl | cut -c1-9)" = '{"details' ] || [ "$(grep -c '"step":"open"' out/transcript.jsonl)" -eq 1 ] || fail "no opening record"
pass

# An edited line is reported at the line that no longer chains to it.
cp out/transcript.jsonl saved.jsonl
sed -i '3s/"generated":true/"generated":false/' out/transcript.jsonl
expect_exit 1 "$MESHCA" transcript verify out/transcript.jsonl
expect_in last.out "transcript.jsonl:4: does not chain to line 3"
cp saved.jsonl out/transcript.jsonl
# A removed line.
sed -i '6d' out/transcript.jsonl
expect_exit 1 "$MESHCA" transcript verify out/transcript.jsonl
expect_in last.out "transcript.jsonl:6:"
cp saved.jsonl out/transcript.jsonl
# A truncated transcript.
head -n -1 saved.jsonl >out/transcript.jsonl
expect_exit 1 "$MESHCA" transcript verify out/transcript.jsonl
expect_in last.out "no closing record"
cp saved.jsonl out/transcript.jsonl
# A changed output file.
echo "# edited" >>out/prod/us-east-1/cacerts.yaml
expect_exit 1 "$MESHCA" transcript verify out/transcript.jsonl --out out
expect_in last.out "prod/us-east-1/cacerts.yaml: SHA-256 differs"
finish
