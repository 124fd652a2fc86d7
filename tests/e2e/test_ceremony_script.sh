#!/usr/bin/env bash
# The printable ceremony script (meshca plan script): its HTML prints in
# headless Chromium to the pages the layout promises (the cover, three
# numbered steps a page, the closing checks), judged by poppler's pdfinfo and
# pdftotext; it references nothing on the network; and a real ceremony's
# transcript, as `meshca transcript verify` prints it, holds exactly the
# sheet's numbered steps, with the root fingerprint openssl computes.
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps.sh)"
command -v pdftotext >/dev/null || fail "poppler-utils is not installed (scripts/install-deps.sh)"

export MESHCA_ROOT_PASS="e2e script passphrase"
write_crl_plan plan.yaml root-key.pem "E2E Script Root" "$PROD_DEV_MESHES"
digest=$("$MESHCA" plan digest plan.yaml | cut -d' ' -f1)

# The sheet in both formats; the numbered steps as "N TITLE" lines.
expect_exit 0 "$MESHCA" plan script plan.yaml --format html
cp "$WORK/last.out" script.html
expect_exit 0 "$MESHCA" plan script plan.yaml --format markdown
sed -n 's/^### Step \([0-9]*\)\. \(.*\) (transcript: `.*`)$/\1 \2/p' "$WORK/last.out" >sheet-steps.txt
steps=$(wc -l <sheet-steps.txt)
# open, confirm, root key, root certificate, root CRL, 3 clusters, close
[ "$steps" -eq 9 ] || { cat sheet-steps.txt >&2; fail "expected 9 numbered steps on the sheet, got $steps"; }
pass
expect_exit 2 "$MESHCA" plan script plan.yaml --format pdf

# Nothing on the network: no URL, no external resource of any kind.
for ref in 'http:' 'https:' '//' 'src=' 'href=' 'url(' '@import'; do
  expect_not_in script.html "$ref"
done

# Print it as the room would (lib.sh print_html).
start=$(date +%s)
print_html script.html script.pdf
echo "chromium printed the script in $(($(date +%s) - start)) s"
[ -s script.pdf ] || fail "no PDF"
pass

# Pages: the cover, one per three steps, the closing checks.
pages=$(pdfinfo script.pdf | sed -n 's/^Pages: *//p')
want=$((1 + (steps + 2) / 3 + 1))
[ "$pages" -eq "$want" ] || fail "the PDF has $pages pages, not the $want the layout promises"
pass
pdfinfo script.pdf | grep -q 'Page size:.*(A4)' || { pdfinfo script.pdf >&2; fail "not A4"; }
pass
page_text() { pdftotext -layout -f "$1" -l "$1" script.pdf -; }
page_text 1 >page1.txt
expect_in page1.txt "Ceremony script: e2e"
expect_in page1.txt "$digest"
expect_in page1.txt "P1. Identify the people in the room"
expect_in page1.txt "P2. Check the plan"
expect_not_in page1.txt "Step 1."
# Each numbered step on its page: steps 1-3 on page 2, 4-6 on page 3, ...
while read -r n title; do
  page_text $((2 + (n - 1) / 3)) >page.txt
  expect_in page.txt "Step $n. $title"
done <sheet-steps.txt
page_text "$pages" >last-page.txt
expect_in last-page.txt "C1. Verify the transcript"
expect_in last-page.txt "C2. Sign off"
pdftotext script.pdf all.txt
expect_in all.txt "CN=E2E Script Root"

# The ceremony, then its transcript as the witnesses read it at C1.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --expect-digest "$digest" --operator Alice --witness Bob
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out --plan plan.yaml
cp "$WORK/last.out" verify.txt
expect_not_in verify.txt "NO RECORD"
sed -n 's/^  step \([0-9]*\) *\([^:]*\): .*/\1 \2/p' verify.txt >transcript-steps.txt
diff sheet-steps.txt transcript-steps.txt || fail "the transcript's steps differ from the sheet's"
pass
# Without --plan the titles come from the copy of the plan the ceremony left in OUT.
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out
sed -n 's/^  step \([0-9]*\) *\([^:]*\): .*/\1 \2/p' "$WORK/last.out" | diff sheet-steps.txt - || fail "OUT/plan.yaml gave other titles"
pass

# What the sheet leaves blank, as transcript verify shows it: the root's
# fingerprint is the one openssl computes, the head the one the run printed.
root_fp=$(openssl x509 -in out/root/root-cert.pem -noout -fingerprint -sha256 | cut -d= -f2)
grep -q "^  step 4 .*issued, sha256 $root_fp" verify.txt || { cat verify.txt >&2; fail "step 4 does not show the root's fingerprint $root_fp"; }
pass
head=$(sed -n 's/^PASS .*head \([0-9a-f]\{64\}\).*/\1/p' verify.txt)
grep -q "^  step 9 .*completed, head $head" verify.txt || fail "the last step does not show the transcript head"
pass

# A re-run (every bundle kept, the CRL reused) records the same steps again.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out --plan plan.yaml
[ "$(grep -c '^session ' "$WORK/last.out")" -eq 2 ] || fail "expected two scripted sessions"
pass
awk '/^session 2 /{on=1; next} on && /^  step /' "$WORK/last.out" | sed -n 's/^  step \([0-9]*\) *\([^:]*\): .*/\1 \2/p' |
  diff sheet-steps.txt - || fail "the re-run's steps differ from the sheet's"
pass
expect_not_in "$WORK/last.out" "NO RECORD"
finish
