#!/usr/bin/env bash
# The cost of asking "does this output match the plan?" against the cost of
# making the output, measured in one run on this machine (ratios, not times):
#   rerun/fresh   `ceremony run` of the same plan on its own output (every
#                 bundle kept after the conformance check) / the fresh
#                 ceremony of that plan                      target <= 0.5
#   add-one/fresh the same re-run with one cluster added       target <= 0.5
#   audit/fresh   `meshca audit OUT PLAN`                    target <= 1
#   verify/fresh  `meshca verify` of every bundle, one call  target <= 1
#   html/validate peak RSS of `plan show --format html` / `plan validate` of a
#                 100,000-cluster plan                       target <= 4
#
#   bash bench/rerun.sh [N] [MESHCA]   N defaults to 1000; MESHCA to the dev build
#   (RERUN_SKIP_RSS=1 leaves out the 100,000-cluster RSS measure, for quick
#   iterations on the timings; RERUN_REPEAT=R, default 3, repeats the fresh
#   ceremony and the re-run R times, each pair on its own output, and reports
#   the median of the R ratios, so one disturbed run on a shared machine does
#   not decide the verdict; each repetition's ratio is printed too)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-1000}
meshca=${2:-$repo/build/dev/cli/meshca}
work=$(mktemp -d /tmp/meshca-bench-rerun-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export MESHCA_ROOT_PASS='benchmark root passphrase'

now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
timed() {  # CMD... -> seconds
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

bash "$repo/bench/make-plan.sh" 1 ecdsa-p256 >seed.yaml
"$meshca" ceremony run seed.yaml --out seed-out --yes --quiet >/dev/null  # the root key, not timed
bash "$repo/bench/make-plan.sh" "$N" ecdsa-p256 >plan.yaml
bash "$repo/bench/make-plan.sh" "$((N + 1))" ecdsa-p256 >plan-plus-one.yaml

# Fresh ceremony and re-run, R times, each on its own output (every output
# is kept until the end: ext4 charges new files for recently deleted ones).
R=${RERUN_REPEAT:-3}
ratios=()
for r in $(seq 1 "$R"); do
  dir=out; [ "$r" -gt 1 ] && dir=out-$r
  f=$(timed "$meshca" ceremony run plan.yaml --out "$dir" --yes --quiet)
  k=$(timed "$meshca" ceremony run plan.yaml --out "$dir" --yes --quiet)
  ratios+=("$(ratio "$k" "$f") $f $k")
  echo "repetition $r: fresh $f s, re-run $k s, rerun/fresh $(ratio "$k" "$f")"
done
read -r rerun_ratio fresh rerun < <(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (R + 1) / 2 ))p")
audit=$(timed "$meshca" audit out plan.yaml)
mapfile -t bundles < <(find out -mindepth 2 -maxdepth 2 -type d ! -path 'out/root*' ! -path 'out/.*' | sort)
verify=$(timed "$meshca" verify "${bundles[@]}")
add_one=$(timed "$meshca" ceremony run plan-plus-one.yaml --out out --yes --quiet)

echo "meshca re-run benchmark: $N ECDSA P-256 clusters, $(nproc) cores, $(openssl version)"
echo "fresh ceremony:        $fresh s"
echo "re-run, all kept:      $rerun s   rerun/fresh   $rerun_ratio  (target <= 0.5; the median of $R repetitions, this pair's times)"
echo "re-run, one added:     $add_one s   add-one/fresh $(ratio "$add_one" "$fresh")  (target <= 0.5)"
echo "audit:                 $audit s   audit/fresh   $(ratio "$audit" "$fresh")  (target <= 1)"
echo "verify (${#bundles[@]} bundles): $verify s   verify/fresh  $(ratio "$verify" "$fresh")  (target <= 1)"

[[ ${RERUN_SKIP_RSS:-0} == 1 ]] && exit 0
bash "$repo/bench/make-plan.sh" 100000 ecdsa-p256 >plan-100k.yaml
rss() { { /usr/bin/time -f '%M' "$@" >/dev/null; } 2>&1 | tail -1; }
validate=$(rss "$meshca" plan validate plan-100k.yaml)
html=$(rss "$meshca" plan show plan-100k.yaml --format html)
echo "peak RSS, 100,000 clusters: plan validate $((validate / 1024)) MiB, plan show --format html $((html / 1024)) MiB   html/validate $(ratio "$html" "$validate")  (target <= 4)"
