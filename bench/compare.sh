#!/usr/bin/env bash
# Measures meshca against its baselines in one run on this machine and prints
# ms/cluster and ratios:
#   meshca      `meshca ceremony run` (file-backed P-384 root), all cores and --jobs 1
#   baseline    the same per-cluster cryptography on raw libcrypto in memory
#               (bench/baseline.cpp), same thread counts: the practical limit
#   recipe      Istio's tools/certs openssl recipe replayed per cluster
#               (genpkey, req, x509 -req, cat), for a smaller N, scaled
# plus `meshca plan validate` on a 10,000-cluster plan and peak RSS of the
# ceremony at N and 10*N clusters.
#
#   bash bench/compare.sh [N]        N defaults to 1000 (ECDSA P-256 intermediates);
#                                    RSA-3072 uses N/10, RSA-4096 N/20
# Environment: MESHCA_BENCH_ROOT=ecdsa-p256 for a P-256 root (default
# ecdsa-p384); MESHCA_BENCH_ROWS="ecdsa-p256" to measure only some rows.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-1000}
ROOT=${MESHCA_BENCH_ROOT:-ecdsa-p384}
ROWS=${MESHCA_BENCH_ROWS:-ecdsa-p256 rsa-3072 rsa-4096}
cores=$(nproc)

bash "$repo/scripts/install-deps.sh" >/dev/null
cmake -S "$repo" --preset release >/dev/null
cmake --build "$repo/build/release" -j "$cores" --target meshca meshca_bench_baseline >/dev/null
meshca="$repo/build/release/cli/meshca"
baseline="$repo/build/release/bench/meshca_bench_baseline"

work=$(mktemp -d /tmp/meshca-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export MESHCA_ROOT_PASS='benchmark root passphrase'

now() { date +%s.%N; }
ms_per() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", s * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ceremony ALG N JOBS -> seconds (the root key is created beforehand, so the
# one-off PBKDF2 of the key file is not counted per cluster)
ceremony() {
  local alg=$1 n=$2 jobs=$3 dir
  dir=$(mktemp -d "$work/run-XXXXXX")
  bash "$repo/bench/make-plan.sh" "$n" "$alg" "$ROOT" >"$dir/plan.yaml"
  cp -r "$work/keys" "$dir/keys"
  local t0 t1
  t0=$(now)
  "$meshca" ceremony run "$dir/plan.yaml" --out "$dir/out" --yes --quiet --jobs "$jobs" >/dev/null
  t1=$(now)
  rm -rf "$dir"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

baseline_seconds() { "$baseline" "$2" "$3" "$1" "$ROOT" | sed 's/.*seconds=\([0-9.]*\).*/\1/'; }

# Istio's tools/certs recipe, per cluster, timed (the root is made once).
source "$repo/scripts/istio-certs-recipe.sh"
recipe() {
  local alg=$1 n=$2 t0 t1
  istio_recipe_root recipe ecdsa-p256 >/dev/null
  t0=$(now)
  for i in $(seq 1 "$n"); do istio_recipe_cluster recipe "recipe/c$i" "$alg" >/dev/null; done
  t1=$(now)
  rm -rf recipe
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# The root key file once, outside the timed runs.
bash "$repo/bench/make-plan.sh" 1 ecdsa-p256 "$ROOT" >seed.yaml
"$meshca" ceremony run seed.yaml --out seed-out --yes --quiet >/dev/null

echo "meshca benchmark (root $ROOT): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(openssl version)"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '\n%-12s %7s | %10s %10s | %10s %10s | %10s | %9s %9s | %9s\n' algorithm N "meshca" "meshca j1" "baseline" "base j1" "recipe" "m/base" "m/base j1" "recipe/m"
printf '%-12s %7s | %10s %10s | %10s %10s | %10s | %9s %9s | %9s\n' "" "" "ms/cluster" "ms/cluster" "ms/cluster" "ms/cluster" "ms/cluster" "" "" ""
for spec in "ecdsa-p256 $N 50" "rsa-3072 $((N / 10)) 10" "rsa-4096 $((N / 20)) 5"; do
  read -r alg n rn <<<"$spec"
  case " $ROWS " in *" $alg "*) ;; *) continue ;; esac
  [ "$n" -ge 1 ] || n=1
  m=$(ms_per "$(ceremony "$alg" "$n" "$cores")" "$n")
  m1=$(ms_per "$(ceremony "$alg" "$n" 1)" "$n")
  b=$(ms_per "$(baseline_seconds "$alg" "$n" "$cores")" "$n")
  b1=$(ms_per "$(baseline_seconds "$alg" "$n" 1)" "$n")
  r=$(ms_per "$(recipe "$alg" "$rn")" "$rn")
  printf '%-12s %7s | %10s %10s | %10s %10s | %10s | %9s %9s | %9s\n' "$alg" "$n" "$m" "$m1" "$b" "$b1" "$r" \
    "$(ratio "$m" "$b")" "$(ratio "$m1" "$b1")" "$(ratio "$r" "$m")"
done

echo
bash "$repo/bench/make-plan.sh" 10000 ecdsa-p256 "$ROOT" >plan-10k.yaml
t0=$(now); "$meshca" plan validate plan-10k.yaml >/dev/null; t1=$(now)
echo "plan validate, 10,000 clusters: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f s", b - a }')"
for n in "$N" $((N * 10)); do
  bash "$repo/bench/make-plan.sh" "$n" ecdsa-p256 "$ROOT" >"rss-$n.yaml"
  rss=$( { /usr/bin/time -f '%M' "$meshca" ceremony run "rss-$n.yaml" --out "rss-out-$n" --yes --quiet >/dev/null; } 2>&1 | tail -1)
  echo "peak RSS, ceremony of $n clusters: $((rss / 1024)) MiB"
  rm -rf "rss-out-$n"
done
