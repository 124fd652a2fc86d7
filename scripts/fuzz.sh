#!/usr/bin/env bash
# Runs meshca's libFuzzer targets (tests/fuzz) for a bounded time.
#
#   scripts/fuzz.sh TARGET SECONDS     one target, e.g. fuzz_plan 60
#   scripts/fuzz.sh all SECONDS        every target, SECONDS each
#   scripts/fuzz.sh list               the target names
#
# Builds the `fuzz` preset (clang, ASan + UBSan, libFuzzer) when needed. The
# seed corpus tests/fuzz/corpus/TARGET is copied to a temporary working
# corpus, with seeds that need a private key generated on the spot (keys are
# never committed); nothing is written into the repository. A crash, leak,
# UB report or per-input timeout stops libFuzzer: the input is kept under
# $MESHCA_FUZZ_ARTIFACTS (default /tmp/meshca-fuzz-artifacts/TARGET/) and the
# run resumes until SECONDS are used up. Prints total executions and crashes
# per target; exits 1 when any target crashed. An input libFuzzer reports as
# slow counts only if it is slow again when replayed alone (see run_target).
# Extra libFuzzer flags can be passed in FUZZ_ARGS (e.g. FUZZ_ARGS=-jobs=2).
# FUZZ_PARALLEL=N runs N targets at a time (default 1; each libFuzzer process
# uses one core, so CI runs as many as there are cores).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build/fuzz"
TARGETS=(fuzz_plan fuzz_pem fuzz_secret_manifest fuzz_pkcs11_uri fuzz_time fuzz_transcript)
ARTIFACTS=${MESHCA_FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/meshca-fuzz-artifacts}

usage() { echo "usage: scripts/fuzz.sh TARGET|all SECONDS   (targets: ${TARGETS[*]})" >&2; exit 2; }

[ "${1:-}" = list ] && { printf '%s\n' "${TARGETS[@]}"; exit 0; }
[ $# -eq 2 ] || usage
case "$2" in '' | *[!0-9]*) usage ;; esac
SECONDS_EACH=$2
if [ "$1" = all ]; then
  selected=("${TARGETS[@]}")
else
  [[ " ${TARGETS[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1'" >&2; usage; }
  selected=("$1")
fi

# Build (ninja does nothing when the targets are up to date).
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  (cd "$ROOT" && cmake --preset fuzz >/dev/null)
fi
(cd "$ROOT" && cmake --build --preset fuzz --target "${selected[@]}" >/dev/null) \
  || { echo "fuzz.sh: building the fuzz preset failed (cmake --build --preset fuzz)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/meshca-fuzz-run-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

max_len() {
  case "$1" in
    fuzz_time) echo 64 ;;
    fuzz_pkcs11_uri) echo 1024 ;;
    *) echo 16384 ;;
  esac
}

# Seeds that need a private key: generated here, in the working corpus only.
generate_key_seeds() {  # generate_key_seeds TARGET DIR
  local target=$1 dir=$2 t="$WORK/keys-$1"  # one per target: targets may run side by side
  mkdir -p "$t"
  case "$target" in
    fuzz_pem)
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/gen-pkcs8-p256.pem" 2>/dev/null
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$t/p384.pem" 2>/dev/null
      openssl ec -in "$t/p384.pem" -out "$dir/gen-sec1-p384.pem" 2>/dev/null
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$t/rsa.pem" 2>/dev/null
      openssl rsa -in "$t/rsa.pem" -traditional -out "$dir/gen-pkcs1-rsa.pem" 2>/dev/null
      openssl pkcs8 -topk8 -in "$dir/gen-pkcs8-p256.pem" -passout pass:fuzz -v2 aes-256-cbc \
        -out "$dir/gen-encrypted.pem" 2>/dev/null
      openssl ecparam -name prime256v1 -genkey -out "$dir/gen-ec-params-and-key.pem" 2>/dev/null
      ;;
    fuzz_secret_manifest)
      # A complete, valid cacerts Secret (root -> intermediate + its key).
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/root.key" \
        -subj "/O=Fuzz/CN=Fuzz Root" -days 3650 -sha256 -out "$t/root.pem" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:1" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/ca.key" \
        -subj "/O=Fuzz/CN=Fuzz Intermediate" -out "$t/ca.csr" 2>/dev/null
      printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid" "nameConstraints=critical,permitted;URI:prod.example" >"$t/ext"
      openssl x509 -req -in "$t/ca.csr" -CA "$t/root.pem" -CAkey "$t/root.key" -CAcreateserial -days 365 \
        -sha256 -extfile "$t/ext" -out "$t/ca.pem" 2>/dev/null
      openssl pkcs8 -topk8 -nocrypt -in "$t/ca.key" -out "$t/ca-pkcs8.key"
      cat "$t/ca.pem" "$t/root.pem" >"$t/chain.pem"
      {
        printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: cacerts\n  namespace: istio-system\ntype: Opaque\ndata:\n'
        printf '  ca-cert.pem: %s\n' "$(base64 -w0 "$t/ca.pem")"
        printf '  ca-key.pem: %s\n' "$(base64 -w0 "$t/ca-pkcs8.key")"
        printf '  cert-chain.pem: %s\n' "$(base64 -w0 "$t/chain.pem")"
        printf '  root-cert.pem: %s\n' "$(base64 -w0 "$t/root.pem")"
      } >"$dir/gen-valid-cacerts.yaml"
      ;;
  esac
  rm -rf "$t"
}

any_crash=0

run_target() {
  local target=$1 bin="$BUILD/tests/fuzz/$1"
  local corpus="$WORK/$target/corpus" out="$ARTIFACTS/$target" log="$WORK/$target/log"
  mkdir -p "$corpus" "$out" "$WORK/$target/tmp"
  touch "$WORK/$target/started"
  cp "$ROOT/tests/fuzz/corpus/$target/"* "$corpus/"
  generate_key_seeds "$target" "$corpus"
  local seeds
  seeds=$(find "$corpus" -type f | wc -l)
  local dict=()
  [ -f "$ROOT/tests/fuzz/dict/${target#fuzz_}.dict" ] && dict=("-dict=$ROOT/tests/fuzz/dict/${target#fuzz_}.dict")

  local start=$SECONDS left=$SECONDS_EACH execs=0 runs=0
  local before_crashes
  before_crashes=$(find "$out" -type f | wc -l)
  while [ "$left" -gt 0 ] && [ "$runs" -lt 50 ]; do
    runs=$((runs + 1))
    local rc=0
    # shellcheck disable=SC2086
    TMPDIR="$WORK/$target/tmp" "$bin" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
      -print_final_stats=1 -artifact_prefix="$out/" "${dict[@]}" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
    local n
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    if [ "$rc" -ne 0 ]; then
      echo "---- $target: libFuzzer stopped (exit $rc); last lines of its log:" >&2
      grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==|Test unit written|^[a-z].*: '" "$log" | head -20 >&2 || true
      # A run that found nothing to write is a harness problem: do not spin.
      grep -q "Test unit written" "$log" || { tail -20 "$log" >&2; break; }
    fi
    left=$((SECONDS_EACH - (SECONDS - start)))
  done
  # A slow-unit-* file is libFuzzer's report of an input that once took
  # longer than -report_slow_units (10 s), which on a loaded machine can be a
  # stall of the process rather than of the code. Each is replayed once
  # alone: slow again (over 2 s) is a finding like a crash; fast is printed
  # as a note and removed, so it is not counted.
  local unit ms
  while IFS= read -r unit; do
    local t0
    t0=$(date +%s%N)
    timeout 60 "$bin" -runs=1 "$unit" >/dev/null 2>&1 || true
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "${ms:-99999}" -le 2000 ]; then
      echo "note: $target reported $(basename "$unit") as slow; alone it runs in ${ms} ms (a stall of the loaded machine): not counted" >&2
      rm -f "$unit"
    fi
  done < <(find "$out" -type f -name 'slow-unit-*' -newer "$WORK/$target/started")
  local crashes=$(( $(find "$out" -type f | wc -l) - before_crashes ))
  echo "$execs $crashes" >"$WORK/$target/result"
  printf '%-22s %10d executions in %4ds, %d crash%s (seeds %d, corpus now %d)%s\n' "$target" "$execs" \
    "$((SECONDS - start))" "$crashes" "$([ "$crashes" -eq 1 ] && echo "" || echo "es")" "$seeds" \
    "$(find "$corpus" -type f | wc -l)" "$([ "$crashes" -eq 0 ] || echo "; inputs in $out/")"
}

parallel=${FUZZ_PARALLEL:-1}
running=0
for t in "${selected[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

total=0 crashes=0
for t in "${selected[@]}"; do
  [ -f "$WORK/$t/result" ] || { echo "fuzz.sh: $t did not finish" >&2; any_crash=1; continue; }
  read -r e c <"$WORK/$t/result"
  total=$((total + e))
  crashes=$((crashes + c))
  [ "$c" -eq 0 ] || any_crash=1
done
[ ${#selected[@]} -le 1 ] || echo "total: $total executions, $crashes crashes"
exit "$any_crash"
