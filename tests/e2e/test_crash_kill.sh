# Crash safety, the short random complement to test_crash_points.sh (which
# walks every durable step deterministically): a 200-cluster ceremony is
# killed with SIGKILL at seeded random moments (8 trials, reproducible with
# MESHCA_KILL_SEED; MESHCA_KILL_TRIALS for more). After each
# kill no cluster directory is partial, no key lies outside OUT's private
# staging area and the bundles, a re-run completes, every bundle verifies with
# openssl, the audit passes (the cut session shows as a warning) and the root
# key file is byte-identical.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e crash passphrase'
TRIALS=${MESHCA_KILL_TRIALS:-8}
RANDOM=${MESHCA_KILL_SEED:-20261124}

bash "$MESHCA_SOURCE_DIR/bench/make-plan.sh" 200 >plan.yaml
# The root key exists before the trials (created by a first, complete run).
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out warmup --yes --quiet
root_key_sum=$(sha256sum keys/root.pem)
# How long a full run takes here (ASan makes it several times slower).
t0=$(date +%s%N)
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out timing --yes --quiet
full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf warmup timing

check_no_partial_output() {
  local trial=$1 d missing
  shopt -s nullglob
  for d in out/*/*/; do
    d=${d%/}
    case $d in out/root | out/retired/*) continue ;; esac
    for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem cacerts.yaml; do
      [ -s "$d/$f" ] || fail "trial $trial: $d is partial ($f missing)"
    done
  done
  # Keys only in bundles and the private staging area; no temp files elsewhere.
  missing=$(grep -rl "PRIVATE KEY" out 2>/dev/null | grep -v -e '/ca-key.pem$' -e '/cacerts.yaml$' -e '^out/.meshca-tmp/' || true)
  [ -z "$missing" ] || fail "trial $trial: private key outside bundles and staging: $missing"
  ls -A keys | grep -qv '^root.pem$' && fail "trial $trial: stray file beside the root key: $(ls -A keys)"
  [ "$(sha256sum keys/root.pem)" = "$root_key_sum" ] || fail "trial $trial: the root key file changed"
  return 0
}

killed=0
for trial in $(seq 1 "$TRIALS"); do
  rm -rf out
  delay_ms=$(( RANDOM % (full_ms + 1) ))
  "$MESHCA" ceremony run plan.yaml --out out --yes --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  [ -d out ] || continue
  check_no_partial_output "$trial"
  expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --quiet
  [ -z "$(ls -A out/.meshca-tmp 2>/dev/null)" ] || fail "trial $trial: staging leftovers after the re-run"
  [ "$(find out -mindepth 2 -maxdepth 2 -type d ! -path 'out/root' ! -path 'out/.meshca-tmp' | wc -l)" -eq 200 ] \
    || fail "trial $trial: the re-run did not complete all 200 bundles"
  openssl verify -x509_strict -CAfile out/root/root-cert.pem out/*/*/ca-cert.pem | grep -v ': OK$' && fail "trial $trial: a bundle does not verify"
  expect_exit 0 "$MESHCA" audit out plan.yaml --quiet
  check_no_partial_output "$trial"
  pass
done
[ "$killed" -ge $((TRIALS / 2)) ] || fail "only $killed of $TRIALS runs were still running when killed; the timing is off"
echo "killed $killed of $TRIALS runs mid-flight (full run ${full_ms} ms)"
finish
