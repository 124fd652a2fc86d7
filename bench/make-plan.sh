#!/usr/bin/env bash
# Writes a plan with N clusters (in meshes of at most 100) to stdout, for
# benchmarks: a root of ROOT_ALG (ecdsa-p384), intermediates of ALG. The root
# key is an encrypted file (keys/root.pem, MESHCA_ROOT_PASS), or with
# ROOT_STORE=pkcs11 key 'root' in SoftHSM2 token 'bench-root' (MESHCA_PIN).
#   bench/make-plan.sh N [ALG] [ROOT_ALG] [file|pkcs11] > plan.yaml
set -euo pipefail
n=${1:?usage: make-plan.sh N [ecdsa-p256|rsa-3072|...]}
alg=${2:-ecdsa-p256}
root_alg=${3:-ecdsa-p384}
case ${4:-file} in
  file) root_key="{algorithm: $root_alg, store: file, file: {path: keys/root.pem, passphrase: env:MESHCA_ROOT_PASS}}" ;;
  pkcs11) root_key="{algorithm: $root_alg, store: pkcs11, pkcs11: {module: /usr/lib/softhsm/libsofthsm2.so, token: bench-root, label: root, pin: env:MESHCA_PIN}}" ;;
  *) echo "make-plan.sh: root store is file or pkcs11" >&2; exit 2 ;;
esac
cat <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: bench-$n}
organization: Bench Corp
root:
  subject: {CN: Bench Root CA, O: Bench Corp}
  key: $root_key
  validity: 10y
defaults:
  intermediate: {key: {algorithm: $alg}, validity: 1y, name_constraints: trust_domain}
meshes:
PLAN
meshes=$(( (n + 99) / 100 ))
for ((m = 0; m < meshes; m++)); do
  printf '  - name: mesh-%d\n    trust_domain: mesh-%d.bench.internal\n    clusters:\n' "$m" "$m"
  for ((c = m * 100; c < n && c < (m + 1) * 100; c++)); do printf '      - {name: cluster-%d}\n' "$c"; done
done
