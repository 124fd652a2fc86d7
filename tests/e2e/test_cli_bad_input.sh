# The CLI as a user meets it: help at every level, version, example plans,
# and bad input (broken plan, wrong passphrase, conflicting output, secrets
# on argv) each with its exit code, a message naming the place, and nothing
# half-written.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e cli root passphrase'

expect_exit 0 "$MESHCA" --version
expect_in last.out "meshca "
expect_in last.out "OpenSSL 3"
expect_exit 0 "$MESHCA" --help
expect_in last.out "exit codes"
expect_exit 2 "$MESHCA"
for args in "plan --help" "plan init --help" "plan validate --help" "ceremony --help" "ceremony run --help" "hsm --help"; do
  # shellcheck disable=SC2086
  expect_exit 0 "$MESHCA" $args
  expect_in last.out "usage"
done
expect_exit 2 "$MESHCA" frobnicate
expect_in last.err "unknown command 'frobnicate'"
expect_exit 2 "$MESHCA" ceremony run plan.yaml
expect_in last.err "--out"
expect_exit 2 "$MESHCA" ceremony run plan.yaml --out o --bogus
# A missing argument is named as the usage line names it, and the usage follows.
expect_exit 2 "$MESHCA" plan validate
expect_in last.err "missing PLAN"
expect_in last.err "usage: meshca plan validate PLAN"
expect_not_in last.err "--plan"
# plan validate shows the policy warnings plan show prints.
"$MESHCA" plan init >warn.yaml
expect_exit 0 "$MESHCA" plan validate warn.yaml
expect_in last.out "policy warnings: "
expect_exit 2 "$MESHCA" plan init --template nope
expect_in last.err "single-mesh"

# Every embedded example plan validates.
expect_exit 0 "$MESHCA" plan init --list
cp last.out templates.txt
for t in $(awk '{print $1}' templates.txt); do
  grep -qE "^$t +[a-z]" templates.txt || fail "plan init --list shows no description for $t"
  "$MESHCA" plan init --template "$t" >"$t.yaml" || fail "plan init --template $t"
  expect_exit 0 "$MESHCA" plan validate "$t.yaml"
done

# Secrets never on the command line.
expect_exit 2 "$MESHCA" ceremony run single-mesh.yaml --out o --passphrase hunter2
expect_in last.err "never go on the command line"
expect_not_in last.err "hunter2"
expect_exit 2 "$MESHCA" hsm list --pin=1234
[ ! -e o ] || fail "output written after a usage error"
pass

# A broken plan: every error, each with file:line:column and field path; exit 3.
cat >broken.yaml <<'PLAN'
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: Broken_Name}
root:
  subject: {CN: Root}
  key: {algorithm: rsa-1024, store: file, file: {path: k.pem}}
  validity: 20 years
meshes:
  - name: prod
    trust_domain: spiffe://prod
    clusters: [{name: a}, {name: a}]
PLAN
expect_exit 3 "$MESHCA" plan validate broken.yaml
expect_in last.err "broken.yaml:3:18: metadata.name: 'Broken_Name' is not a DNS-1123 label"
expect_in last.err "broken.yaml:6:20: root.key.algorithm: RSA keys shorter than 2048 bits are not accepted"
expect_in last.err "broken.yaml:7:13: root.validity:"
expect_in last.err "broken.yaml:10:19: meshes[0].trust_domain:"
expect_in last.err "meshes[0].clusters[1].name: duplicate cluster name 'a'"
expect_exit 3 "$MESHCA" ceremony run broken.yaml --out o
[ ! -e o ] && [ ! -e k.pem ] || fail "a broken plan wrote something"
pass
expect_exit 3 "$MESHCA" plan validate missing.yaml
expect_in last.err "missing.yaml"

# Wrong passphrase: exit 4, nothing written.
"$MESHCA" plan init >plan.yaml
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out first --yes
MESHCA_ROOT_PASS='not the passphrase' expect_exit 4 "$MESHCA" ceremony run plan.yaml --out second --yes
expect_in last.err "wrong passphrase"
[ "$(ls -A second | grep -vx .meshca-lock)" = transcript.jsonl ] || fail "wrong passphrase left files in second/: $(ls -A second)"
expect_exit 0 "$MESHCA" transcript verify second/transcript.jsonl
# The chain is intact, but the summary must not read as a successful session.
expect_in last.out "1 session (0 completed, 1 failed)"
expect_in last.out "NOTE second/transcript.jsonl:"
expect_in last.out "did not complete (failed: "
expect_not_in second/transcript.jsonl "not the passphrase"
env -u MESHCA_ROOT_PASS "$MESHCA" ceremony run plan.yaml --out third --yes </dev/null >/dev/null 2>last.err && fail "ran without a passphrase"
expect_in last.err "MESHCA_ROOT_PASS is not set"

# A conflicting existing bundle: exit 5, names it, nothing replaced or added.
sed -i 's/{name: us-west-2}/{name: us-west-2, intermediate: {key: {algorithm: rsa-2048}}}\n      - {name: new-cluster}/' plan.yaml
sums=$(cat first/SHA256SUMS)
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out first --yes
expect_in last.err "first/prod/us-west-2: exists and does not match the plan"
[ ! -e first/prod/new-cluster ] || fail "a conflicting run still issued new-cluster"
[ "$(cat first/SHA256SUMS)" = "$sums" ] || fail "a refused run changed the output"
pass

# An output path that is a file: exit 5 naming it.
touch not-a-dir
expect_exit 5 "$MESHCA" ceremony run single-mesh.yaml --out not-a-dir --yes
expect_in last.err "not-a-dir"
finish
