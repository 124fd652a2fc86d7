# The commands README.md ("Using meshca") and docs/ceremony-runbook.md tell a
# user to type, checked against the CLI's own option table: each is run as
# written with --help appended, so a command, subcommand or option that no
# longer exists (or a secret on the command line) fails here, exit 2, before
# a user meets it. The plan and ceremony commands of the README are also
# run for real, in order, on a generated plan with a file-backed root.
# Every relative link of README.md and docs/ must point inside the repository.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='readme root passphrase'

# meshca command lines of a Markdown file: every line of a fenced block that
# starts with meshca (after an environment assignment), joined across "\"
# continuations, and every one-line `meshca ...` code span outside blocks.
extract() {  # extract FILE [FROM_HEADING]
  awk -v from="$2" '
    BEGIN { on = (from == "") }
    /^## / { if (from != "") on = ($0 == from) }
    !on { next }
    /^ *```/ { fenced = !fenced; next }
    fenced {
      line = $0; sub(/^ +/, "", line)
      if (cont != "") { line = cont " " line; cont = "" }
      if (line ~ /\\$/) { sub(/\\$/, "", line); cont = line; next }
      if (line ~ /^([A-Z_]+=[^ ]+ +)*meshca /) print line
      next
    }
    {
      rest = $0
      while (match(rest, /`meshca [^`]*`/)) {
        print substr(rest, RSTART + 1, RLENGTH - 2)
        rest = substr(rest, RSTART + RLENGTH)
      }
    }' "$1"
}

# What a shell would pass to meshca: no comment, no redirection, no
# environment prefix; <placeholders> and ... become plain words.
normalize() {
  sed -E -e 's/ +#.*$//' -e 's/<[^>]*>/PLACEHOLDER/g' -e 's/ *[0-9]?>+ *[^ ]+//g' -e 's/^([A-Z_]+=[^ ]+ +)+//' \
         -e 's/\.\.\./PLACEHOLDER/g' -e 's/ +$//'
}

meshca() { "$MESHCA" "$@"; }
count=0
for source in "README.md|## Using meshca" "docs/ceremony-runbook.md|"; do
  file=${source%%|*} heading=${source#*|}
  while IFS= read -r line; do
    cmd=$(printf '%s\n' "$line" | normalize)
    # `meshca ceremony run ... --renew mesh/cluster` style spans name a
    # command by example; a span that ends in a bare option with no value
    # is prose continuing on the next line.
    [[ "$cmd" =~ --[a-z-]+$ ]] && ! "$MESHCA" ${cmd#meshca } --help >/dev/null 2>&1 && continue
    got=0
    if [ "$cmd" = "meshca --version" ]; then
      eval "$cmd" >last.out 2>last.err || got=$?
      grep -q "^meshca " last.out && echo usage >>last.out
    else
      eval "$cmd --help" >last.out 2>last.err || got=$?
    fi
    [ "$got" -eq 0 ] || { cat last.err >&2; fail "$file: '$line' is not a valid meshca command line (exit $got)"; }
    grep -q "usage" last.out || fail "$file: '$line' did not reach a command's --help"
    pass
    count=$((count + 1))
  done < <(extract "$REPO/$file" "$heading")
done
[ "$count" -ge 25 ] || fail "only $count documented commands found"
echo "checked $count documented command lines against the option table"

# The README's flow, run for real: plan init/validate/show/digest/diff, the
# ceremony with the approved digest, renewal, transcript verify, verify,
# inspect, check-expiry, revoke, crl refresh and export.
run_readme() {  # run_readme LINE-FRAGMENT [SUBSTITUTIONS...]: the README line containing it, run as written
  local line
  line=$(extract "$REPO/README.md" "## Using meshca" | grep -F -m1 -- "$1") || fail "README has no '$1'"
  shift
  line=$(printf '%s\n' "$line" | sed -E 's/ +#.*$//')
  line=${line//MESHCA_ROOT_PASS=... /}  # the passphrase comes from the environment set above
  for s in "$@"; do line=${line//${s%%=>*}/${s#*=>}}; done
  eval "$line" >last.out 2>last.err || { cat last.err >&2; fail "README command failed: $line"; }
  pass
}
run_readme "meshca plan init > plan.yaml"
# The README's names: a mesh prod with clusters us-east-1, us-west-2 and eu-west-1, CRLs on.
grep -q "us-east-1" plan.yaml && grep -q "prod.acme.internal" plan.yaml || fail "the default template changed its names"
printf 'revocation:\n  crl: true\n' >>plan.yaml
cp plan.yaml approved.yaml
run_readme "meshca plan validate plan.yaml"
run_readme "meshca plan show plan.yaml --format html"
[ -s plan.html ] || fail "plan show wrote no plan.html"
run_readme "meshca plan digest plan.yaml"
digest=$(awk '{print $1}' last.out)
got=0; meshca plan diff approved.yaml plan.yaml >/dev/null || got=$?
[ "$got" -eq 0 ] || fail "plan diff of identical plans exited $got"
pass
run_readme "--expect-digest HEX" "HEX=>$digest" '--witness "Bob"=>--witness "Bob" --yes'
run_readme "--renew prod/us-east-1" "--renew prod/us-east-1=>--renew prod/us-east-1 --yes"
head=$(tail -n 1 out/transcript.jsonl | tr -d '\n' | sha256sum | cut -c1-64)  # what the witnesses wrote down
run_readme "meshca transcript verify out/transcript.jsonl --out out/" "HEAD=>$head"
expect_in last.out "2 sessions (2 completed, 0 failed)"
run_readme "meshca verify out/ "
expect_in last.out "out/root (root)"
expect_in last.err "out/retired: skipped"
run_readme "meshca verify out/prod/us-east-1 out/prod/eu-west-1"
run_readme "meshca inspect out/prod/us-east-1"
run_readme "meshca check-expiry out/ "
# The glob the runbook once showed names out/root's files and out/retired/prod
# as well: understood, not refused.
meshca verify out/*/* >last.out 2>last.err || { cat last.out last.err >&2; fail "meshca verify out/*/*"; }
meshca check-expiry out/*/* --within 30d >last.out 2>last.err || { cat last.out last.err >&2; fail "meshca check-expiry out/*/*"; }
expect_in last.err "out/retired/prod: skipped"
run_readme "meshca revoke plan.yaml" "--reason keyCompromise=>--reason keyCompromise --yes"
run_readme "meshca crl refresh plan.yaml" "out/=>out/ --yes"
run_readme "meshca export out --cluster prod/us-east-1"
[ -s us-east-1.tar ] || fail "export wrote no archive"
pass

# Links: every relative link target exists inside the repository.
for md in "$REPO/README.md" "$REPO"/docs/*.md; do
  dir=$(dirname "$md")
  while IFS= read -r target; do
    target=${target%%#*}
    [ -n "$target" ] || continue
    case "$target" in http://* | https://* | mailto:*) continue ;; esac
    resolved=$(realpath -m "$dir/$target")
    [[ "$resolved" == "$REPO"/* ]] || fail "$md links outside the repository: $target"
    [ -e "$resolved" ] || fail "$md links to a missing file: $target"
    pass
  done < <(grep -oE '\]\([^) ]+\)' "$md" | sed -E 's/^\]\((.*)\)$/\1/')
done
outside_doc="shared""/DESIGN"  # spelled in two parts so this file does not match its own search
if git -C "$REPO" grep -n -e "$outside_doc" -e "\.\./shared/" -- ':!tests/e2e/test_readme_commands.sh' >grep.out 2>/dev/null; then
  cat grep.out >&2
  fail "the repository points at ../shared, which is not part of it"
fi
pass
finish
