# The bad-input corpus (tests/data/bad/) as a table test: every entry of
# EXPECTED.tsv runs with a timeout and must give its exit code and a message
# naming the file (and line/field), never crash (no signal, no sanitizer
# report) or hang, and write nothing. Cases that need a private key, or that
# are too big to commit, are generated here. Runs under the asan preset too.
source "$(dirname "$0")/lib.sh"
SRC=${MESHCA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export MESHCA_ROOT_PASS='bad input corpus passphrase'
export MESHCA_PIN='bad-corpus-pin'
TIMEOUT=${MESHCA_CORPUS_TIMEOUT:-60}

cp -r "$SRC/tests/data/bad" "$WORK/bad"
mkdir -p "$WORK/gen" "$WORK/run"
cd "$WORK/run"

# A plan around one value from the corpus (line 9: pkcs11 uri; line 10:
# root.validity or root.not_after), single-quoted for YAML.
embed() {  # embed KIND VALUE OUT
  local v=${2//\'/\'\'}
  mkdir -p "$(dirname "$3")"
  {
    printf 'apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: embedded}\nroot:\n  subject: {CN: Embedded Root}\n  key:\n    algorithm: ecdsa-p384\n'
    case $1 in
      uri) printf "    store: pkcs11\n    pkcs11: {uri: '%s'}\n  validity: 10y\n" "$v" ;;
      duration) printf "    store: file\n    file: {path: keys/root-key.pem, passphrase: env:MESHCA_ROOT_PASS}\n  validity: '%s'\n" "$v" ;;
      time) printf "    store: file\n    file: {path: keys/root-key.pem, passphrase: env:MESHCA_ROOT_PASS}\n  not_after: '%s'\n" "$v" ;;
    esac
    printf 'meshes: [{name: prod, trust_domain: prod.example, clusters: [{name: c1}]}]\n'
  } >"$3"
}

snapshot() { find "$WORK/bad" "$WORK/run" -printf '%p %s %m %T@\n' | LC_ALL=C sort; }

FAILURES=0 ENTRIES=0
problem() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }

# check_run LABEL WANT_EXIT FRAGMENT ABSENT CMD...: runs CMD (already in
# $WORK/run); prints the reasons it does not meet the expectation, if any.
check_run() {
  local label=$1 want=$2 fragment=$3 absent=$4; shift 4
  local before after got=0
  before=$(snapshot)
  timeout "$TIMEOUT" "$@" >"$WORK/last.out" 2>"$WORK/last.err" </dev/null || got=$?
  after=$(snapshot)
  local why=()
  if [ "$got" -eq 124 ]; then why+=("hung (killed after ${TIMEOUT}s)")
  elif [ "$got" -ge 128 ]; then why+=("died by signal $((got - 128))")
  fi
  if grep -qaE "AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer" "$WORK/last.err"; then
    why+=("sanitizer report on stderr")
  fi
  [ "$got" -eq "$want" ] || why+=("exit $got, expected $want")
  grep -qaF -- "$fragment" "$WORK/last.out" "$WORK/last.err" || why+=("message lacks '$fragment'")
  if [ -n "$absent" ] && grep -qaF -- "$absent" "$WORK/last.out" "$WORK/last.err"; then
    why+=("output contains '$absent' (a secret)")
  fi
  [ "$before" = "$after" ] || why+=("files were written: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -3 | tr '\n' ' ')")
  if [ ${#why[@]} -ne 0 ]; then
    printf '%s\n' "${why[@]}"
    return 1
  fi
}

while IFS=$'\t' read -r file cmd code fragment notes; do
  case "$file" in '' | '#'*) continue ;; esac
  ENTRIES=$((ENTRIES + 1))
  [ -e "$WORK/bad/$file" ] || { problem "$file: listed in EXPECTED.tsv but missing"; continue; }
  case "$cmd" in
    uri | duration | time)
      arg="../gen/$file.yaml"
      embed "$cmd" "$(cat "$WORK/bad/$file")" "$WORK/run/$arg"
      # The generated plan is part of the run directory's expected state.
      args=(plan validate "$arg")
      ;;
    "plan validate") arg="../bad/$file"; args=(plan validate "$arg") ;;
    "plan digest") arg="../bad/$file"; args=(plan digest "$arg") ;;
    "ceremony run") arg="../bad/$file"; args=(ceremony run "$arg" --out out --yes) ;;
    inspect | verify | check-expiry) arg="../bad/$file"; args=("$cmd" "$arg") ;;
    *) problem "$file: unknown command '$cmd' in EXPECTED.tsv"; continue ;;
  esac
  want_fragment=${fragment//\{file\}/$arg}
  absent=""
  IFS=',' read -ra note_list <<<"${notes:-}"
  for n in "${note_list[@]}"; do
    case "$n" in
      absent=*) absent=${n#absent=} ;;
      *) problem "$file: unknown note '$n' in EXPECTED.tsv" ;;
    esac
  done
  if reasons=$(check_run "$file" "$code" "$want_fragment" "$absent" "$MESHCA" "${args[@]}"); then
    pass
  else
    problem "$file ($cmd): $(echo "$reasons" | tr '\n' ';')"
    sed -n '1,5p' "$WORK/last.err" >&2
  fi
done <"$WORK/bad/EXPECTED.tsv"

[ "$ENTRIES" -ge 60 ] || problem "EXPECTED.tsv has only $ENTRIES entries (at least 60 expected)"
[ ! -e "$WORK/run/out" ] && [ ! -e "$WORK/run/keys" ] || problem "a refused input left out/ or keys/ behind"

# ---- Cases generated here: private keys (never committed) and big files.
gen="$WORK/gen/keys"
mkdir -p "$gen"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$gen/key-only.pem" 2>/dev/null
head -c 120 "$gen/key-only.pem" >"$gen/key-truncated.pem"
cp "$WORK/bad/pem/junk-between-blocks.pem" "$gen/cert-then-key.pem"
sed -n '1,4p' "$gen/key-only.pem" >>"$gen/cert-then-key.pem"  # a key block cut after its 3rd line
# A file over the 4 MiB input limit, and a plan over its 4 MiB limit.
{ echo "-----BEGIN CERTIFICATE-----"; head -c 3300000 /dev/zero | base64 -w 64; echo "-----END CERTIFICATE-----"; } >"$gen/too-large.pem"
{ head -n 1 "$WORK/bad/plans/unknown-key-store.yaml"; for _ in $(seq 1 80000); do echo "# padding padding padding padding padding padding padding"; done; } >"$gen/too-large-plan.yaml"
# A root key file that is not an encrypted key (a plain PEM certificate; a key in the clear).
mkdir -p "$gen/plan-cert-as-key" "$gen/plan-clear-key"
write_file_plan "$gen/plan-cert-as-key/plan.yaml" root.pem "Corpus Root" "  - {name: m, trust_domain: m.example, clusters: [{name: c}]}"
cp "$WORK/bad/pem/no-final-newline.pem" "$gen/plan-cert-as-key/root.pem"
write_file_plan "$gen/plan-clear-key/plan.yaml" root.pem "Corpus Root" "  - {name: m, trust_domain: m.example, clusters: [{name: c}]}"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$gen/plan-clear-key/root.pem" 2>/dev/null

generated() {  # generated LABEL WANT FRAGMENT CMD...
  local label=$1 want=$2 fragment=$3; shift 3
  ENTRIES=$((ENTRIES + 1))
  local reasons
  if reasons=$(check_run "$label" "$want" "$fragment" "" "$MESHCA" "$@"); then pass
  else problem "$label: $(echo "$reasons" | tr '\n' ';')"; fi
}
generated key-only.pem 3 "no certificate or CRL found" inspect "$gen/key-only.pem"
expect_in "$WORK/last.out" "PRIVATE KEY (ECDSA P-256)"
generated key-truncated.pem 3 "$gen/key-truncated.pem: the PRIVATE KEY block starting at line 1 is truncated" inspect "$gen/key-truncated.pem"
generated cert-then-truncated-key.pem 0 "$gen/cert-then-key.pem: the PRIVATE KEY block starting at line" inspect "$gen/cert-then-key.pem"
generated too-large.pem 3 "$gen/too-large.pem: file is larger than" inspect "$gen/too-large.pem"
generated too-large-plan.yaml 3 "$gen/too-large-plan.yaml" plan validate "$gen/too-large-plan.yaml"
expect_in "$WORK/last.err" "larger than"
# A refused root key file: exit 3 naming it, the key file untouched, and of
# the output only the transcript recording the attempt (as for a wrong
# passphrase).
for case in cert-as-key clear-key; do
  d="$gen/plan-$case"
  cp "$d/root.pem" "$d/root.pem.orig"
  ENTRIES=$((ENTRIES + 1))
  got=0
  timeout "$TIMEOUT" "$MESHCA" ceremony run "$d/plan.yaml" --out "$d/out" --yes >"$WORK/last.out" 2>"$WORK/last.err" </dev/null || got=$?
  if [ "$got" -ne 3 ] || ! grep -qF "$d/root.pem" "$WORK/last.err" || ! grep -qF "is not an encrypted PKCS#8 key" "$WORK/last.err"; then
    problem "root key file $case: exit $got, expected 3 naming $d/root.pem: $(head -2 "$WORK/last.err")"
  elif grep -qaE "AddressSanitizer|runtime error:" "$WORK/last.err"; then
    problem "root key file $case: sanitizer report"
  elif ! cmp -s "$d/root.pem" "$d/root.pem.orig"; then
    problem "root key file $case: the key file was changed"
  elif [ -e "$d/out" ] && [ "$(ls -A "$d/out" | grep -vx .meshca-lock)" != transcript.jsonl ]; then
    problem "root key file $case: left $(ls -A "$d/out" | tr '\n' ' ') in the output"
  else
    expect_not_in "$WORK/last.err" "BEGIN"
  fi
done
echo "$(basename "$0"): $ENTRIES entries"
[ "$FAILURES" -eq 0 ] || fail "$FAILURES corpus entries did not behave as expected"
finish
