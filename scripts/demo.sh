#!/usr/bin/env bash
# The example ceremony, end to end, on a SoftHSM2 token:
#   1. install the Debian packages and build meshca (release preset);
#   2. create a private SoftHSM2 token "acme-root" under $DEMO_DIR/softhsm
#      (random PINs, stored 0600 beside it: a stand-in for the PIN envelope);
#   3. write the two-meshes example plan, validate it, show the auditor's view
#      and its digest;
#   4. run the ceremony: the root key is generated inside the token (sensitive,
#      never extractable) and signs the root and six intermediates;
#   5. verify every bundle with the openssl CLI and the transcript with meshca.
# Bundles end up in $DEMO_DIR/out (default ./demo/out). Re-running keeps the
# token, the key and every complete bundle.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-$PWD/demo}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Installing packages and building meshca"
bash "$repo/scripts/install-deps.sh"
cmake -S "$repo" --preset release >/dev/null
cmake --build "$repo/build/release" -j "$(nproc)" --target meshca
meshca="$repo/build/release/cli/meshca"
"$meshca" --version

mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
cd "$DEMO_DIR"
umask 077

step "Creating the SoftHSM2 token 'acme-root' in $DEMO_DIR/softhsm"
if [ ! -f softhsm/softhsm2.conf ]; then
  openssl rand -hex 16 >so-pin && openssl rand -hex 8 >user-pin
  eval "$(SO_PIN=$(cat so-pin) USER_PIN=$(cat user-pin) bash "$repo/scripts/softhsm-token.sh" softhsm acme-root)"
else
  echo "token exists; reusing it"
  export SOFTHSM2_CONF="$DEMO_DIR/softhsm/softhsm2.conf"
fi
export SOFTHSM2_CONF
# The PIN reaches meshca through a file reference in the plan, never argv.
sed "s|pin: env:MESHCA_PIN|pin: file:$DEMO_DIR/user-pin|" <("$meshca" plan init --template two-meshes) >plan.yaml

step "Auditor: validate the plan, review it, record its digest"
"$meshca" plan validate plan.yaml
"$meshca" plan show plan.yaml --format html >plan.html
"$meshca" plan show plan.yaml | sed -n '/^Policy warnings/,$p'
digest=$("$meshca" plan digest plan.yaml | cut -d' ' -f1)
echo "approved plan digest: $digest (full review: $DEMO_DIR/plan.html)"

step "Ceremony: root key generated in the token, root and intermediates signed there"
"$meshca" ceremony run plan.yaml --out out --expect-digest "$digest" --yes \
  --operator "Demo Operator" --witness "Demo Witness"

step "Token: the root key is sensitive and never extractable"
"$meshca" hsm list --module /usr/lib/softhsm/libsofthsm2.so --token acme-root --pin-source "file:$DEMO_DIR/user-pin"

step "Verification summary (openssl verify -x509_strict, key match, checksums, transcript)"
failed=0
for dir in out/*/*/; do
  dir=${dir%/}
  [ "$dir" = out/root ] && continue
  if openssl verify -x509_strict -CAfile "$dir/root-cert.pem" -untrusted "$dir/cert-chain.pem" "$dir/ca-cert.pem" >/dev/null 2>&1 &&
     cmp -s <(openssl pkey -in "$dir/ca-key.pem" -pubout) <(openssl x509 -in "$dir/ca-cert.pem" -noout -pubkey); then
    printf '  OK    %-24s %s\n' "${dir#out/}" "$(openssl x509 -in "$dir/ca-cert.pem" -noout -enddate)"
  else
    printf '  FAIL  %s\n' "${dir#out/}"
    failed=1
  fi
done
(cd out && sha256sum --quiet -c SHA256SUMS) && echo "  OK    out/SHA256SUMS" || failed=1
"$meshca" transcript verify out/transcript.jsonl --out out | sed 's/^/  /' || failed=1
if grep -rqF -- "$(cat user-pin)" out; then echo "  FAIL  the PIN appears in out/"; failed=1; fi
[ $failed -eq 0 ] || { echo "demo: verification failed" >&2; exit 1; }
echo
echo "Bundles are in $DEMO_DIR/out/<mesh>/<cluster>/ (kubectl apply -f .../cacerts.yaml)."
