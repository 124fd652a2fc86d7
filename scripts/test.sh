#!/usr/bin/env bash
# Builds meshca and runs every test (unit, SoftHSM2 integration, end to end).
#   bash scripts/test.sh          the dev preset
#   bash scripts/test.sh asan     AddressSanitizer + UndefinedBehaviorSanitizer
#   bash scripts/test.sh tsan     ThreadSanitizer: the tests labelled concurrency
#   bash scripts/test.sh PRESET CTEST_ARGS...   only some tests, e.g. -L crash-walk
# Installs the Debian packages it needs first. MESHCA_TEST_JOBS sets ctest's
# parallelism (default: twice the cores, since the end-to-end tests spend
# much of their time waiting on fsync and on the openssl processes they
# start). MESHCA_NO_BUILD=1 runs the tests of an existing build.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}
shift || true
jobs=${MESHCA_TEST_JOBS:-$(( $(nproc) * 2 ))}

if [ -z "${MESHCA_NO_BUILD:-}" ]; then
  bash scripts/install-deps.sh
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)"
fi
# Under ASan the crash-point walk (label crash-walk: hundreds of re-runs of
# code the other tests already cover) is left out to keep CI within its
# time; the dev run walks every step. The tsan preset selects its own tests
# (label concurrency, CMakePresets.json).
args=("$@")
[ "$preset" = asan ] && [ ${#args[@]} -eq 0 ] && args=(-LE crash-walk)
run=()
if [ "$preset" = tsan ]; then
  # ThreadSanitizer's shadow memory needs the address layout of at most 28
  # bits of mmap randomisation; newer kernels default to more.
  [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -le 28 ] || run=(setarch "$(uname -m)" -R)
  reports=build/tsan/tsan-reports
  mkdir -p "$reports"
  rm -f "$reports"/report.*
fi
status=0
"${run[@]}" ctest --preset "$preset" -j "$jobs" "${args[@]}" || status=$?
if [ "$preset" = tsan ] && compgen -G "$reports/report.*" >/dev/null; then
  # Also a race in a run whose exit code a test expected to be non-zero.
  cat "$reports"/report.* >&2
  echo "test.sh: ThreadSanitizer reported the races above" >&2
  status=1
fi
exit $status
