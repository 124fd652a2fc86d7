#!/usr/bin/env bash
# Measures meshca against its baselines in one run on this machine and prints
# ms/cluster and ratios:
#   meshca      `meshca ceremony run` (file-backed P-384 root), all cores and
#               --jobs 1; per cluster = (time for N clusters - time for one
#               cluster) / (N - 1): the fixed cost of a run (start-up, plan,
#               unlocking the root key file, the root certificate) is shown
#               on its own, as the baseline's own set-up is not counted either
#   baseline    the same per-cluster cryptography on raw libcrypto in memory
#               (bench/baseline.cpp: keygen, sign, verify the signature, PEM),
#               same thread counts: the practical limit; "sign-only" skips the
#               verification meshca may not skip
#   recipe      Istio's tools/certs openssl recipe replayed per cluster
#               (genpkey, req, x509 -req, cat) under a root of the same
#               algorithm, for a smaller N, scaled
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

# ceremony ALG N JOBS [ROOT_STORE] -> seconds (the root key is created beforehand, so
# generating it is not counted). Outputs are kept until the end: on ext4
# without a journal, creating files right after deleting many costs several
# times more (the allocator skips recently freed inodes), which would charge
# one run's clean-up to the next.
ceremony() {
  local alg=$1 n=$2 jobs=$3 store=${4:-file} dir
  dir=$(mktemp -d "$work/run-XXXXXX")
  bash "$repo/bench/make-plan.sh" "$n" "$alg" "$ROOT" "$store" >"$dir/plan.yaml"
  cp -r "$work/keys" "$dir/keys"
  local t0 t1
  t0=$(now)
  "$meshca" ceremony run "$dir/plan.yaml" --out "$dir/out" --yes --quiet --jobs "$jobs" >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# The fixed cost of a run: the fastest of three one-cluster ceremonies.
fixed_seconds() {  # ALG [ROOT_STORE]
  local best="" s
  for _ in 1 2 3; do
    s=$(ceremony "$1" 1 1 "${2:-file}")
    best=$(awk -v a="$s" -v b="${best:-$s}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "$best"
}

# marginal TOTAL FIXED N -> ms per cluster beyond the fixed cost
marginal() { awk -v t="$1" -v f="$2" -v n="$3" 'BEGIN { printf "%.3f", (t - f) * 1000 / (n > 1 ? n - 1 : 1) }'; }

baseline_seconds() { "$baseline" "$2" "$3" "$1" "$ROOT" ${4:+"$4"} | sed 's/.*seconds=\([0-9.]*\).*/\1/'; }

# Istio's tools/certs recipe, per cluster, timed (the root is made once).
source "$repo/scripts/istio-certs-recipe.sh"
recipe() {
  local alg=$1 n=$2 t0 t1
  istio_recipe_root recipe "$ROOT" >/dev/null
  t0=$(now)
  for i in $(seq 1 "$n"); do istio_recipe_cluster recipe "recipe/c$i" "$alg" >/dev/null; done
  t1=$(now)
  mv recipe "recipe-$alg"  # removed at the end, like every output
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

# The root key file once, outside the timed runs.
bash "$repo/bench/make-plan.sh" 1 ecdsa-p256 "$ROOT" >seed.yaml
"$meshca" ceremony run seed.yaml --out seed-out --yes --quiet >/dev/null

echo "meshca benchmark (root $ROOT): $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(openssl version)"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
fixed=$(fixed_seconds ecdsa-p256)
echo "fixed cost of a ceremony run (one cluster): $fixed s"
printf '\n%-12s %6s | %8s %8s %8s | %8s %8s %8s | %8s | %7s %7s %7s | %8s\n' algorithm N "meshca" "m j1" "m all-in" "base" "base j1" "sign-only" "recipe" "m/base" "m/b j1" "m/sign" "recipe/m"
printf '%-12s %6s | %8s %8s %8s | %8s %8s %8s | %8s | %7s %7s %7s | %8s\n' "" "" "ms/cl" "ms/cl" "ms/cl" "ms/cl" "ms/cl" "ms/cl" "ms/cl" "" "" "" ""
for spec in "ecdsa-p256 $N 50" "rsa-3072 $((N / 10)) 10" "rsa-4096 $((N / 20)) 5"; do
  read -r alg n rn <<<"$spec"
  case " $ROWS " in *" $alg "*) ;; *) continue ;; esac
  [ "$n" -ge 2 ] || n=2
  t=$(ceremony "$alg" "$n" "$cores")
  m=$(marginal "$t" "$fixed" "$n")
  m1=$(marginal "$(ceremony "$alg" "$n" 1)" "$fixed" "$n")
  all=$(ms_per "$t" "$n")
  b=$(ms_per "$(baseline_seconds "$alg" "$n" "$cores")" "$n")
  b1=$(ms_per "$(baseline_seconds "$alg" "$n" 1)" "$n")
  bs=$(ms_per "$(baseline_seconds "$alg" "$n" "$cores" sign-only)" "$n")
  r=$(ms_per "$(recipe "$alg" "$rn")" "$rn")
  printf '%-12s %6s | %8s %8s %8s | %8s %8s %8s | %8s | %7s %7s %7s | %8s\n' "$alg" "$n" "$m" "$m1" "$all" "$b" "$b1" "$bs" "$r" \
    "$(ratio "$m" "$b")" "$(ratio "$m1" "$b1")" "$(ratio "$m" "$bs")" "$(ratio "$r" "$m")"
done
echo "meshca, m j1: ms per cluster beyond the fixed cost, all cores / --jobs 1; m all-in: all cores, fixed cost included"

# The root key in a SoftHSM2 token against the encrypted file, same plan.
export MESHCA_PIN=246810
eval "$(SO_PIN=1357911 USER_PIN=$MESHCA_PIN bash "$repo/scripts/softhsm-token.sh" "$work/softhsm" bench-root)"
bash "$repo/bench/make-plan.sh" 1 ecdsa-p256 "$ROOT" pkcs11 >seed-hsm.yaml
"$meshca" ceremony run seed-hsm.yaml --out seed-hsm-out --yes --quiet >/dev/null  # generates the key in the token
hsm_fixed=$(fixed_seconds ecdsa-p256 pkcs11)
t_file=$(ceremony ecdsa-p256 "$N" "$cores")
t_hsm=$(ceremony ecdsa-p256 "$N" "$cores" pkcs11)
echo
echo "root key in SoftHSM2 vs encrypted file, $N ECDSA P-256 clusters, $cores jobs:"
echo "  file:    $(ms_per "$t_file" "$N") ms/cluster all-in, $(marginal "$t_file" "$fixed" "$N") beyond the fixed $fixed s"
echo "  pkcs11:  $(ms_per "$t_hsm" "$N") ms/cluster all-in, $(marginal "$t_hsm" "$hsm_fixed" "$N") beyond the fixed $hsm_fixed s"
echo "  pkcs11/file: $(ratio "$t_hsm" "$t_file") all-in, $(ratio "$(marginal "$t_hsm" "$hsm_fixed" "$N")" "$(marginal "$t_file" "$fixed" "$N")") per cluster"

echo
bash "$repo/bench/make-plan.sh" 10000 ecdsa-p256 "$ROOT" >plan-10k.yaml
t0=$(now); "$meshca" plan validate plan-10k.yaml >/dev/null; t1=$(now)
echo "plan validate, 10,000 clusters: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f s", b - a }')"
for n in "$N" $((N * 10)); do
  bash "$repo/bench/make-plan.sh" "$n" ecdsa-p256 "$ROOT" >"rss-$n.yaml"
  rss=$( { /usr/bin/time -f '%M' "$meshca" ceremony run "rss-$n.yaml" --out "rss-out-$n" --yes --quiet >/dev/null; } 2>&1 | tail -1)
  echo "peak RSS, ceremony of $n clusters: $((rss / 1024)) MiB"
done
