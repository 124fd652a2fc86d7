# The foundation end to end: a 2-mesh x 3-cluster plan with a file-backed
# root becomes bundles that the openssl CLI accepts, with the right
# extensions, permissions, manifests and checksums; a re-run keeps them.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e file root passphrase'

write_file_plan plan.yaml keys/root.pem "E2E Root CA" '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: us-east-1}, {name: us-west-2}, {name: eu-west-1}]
  - name: staging
    trust_domain: staging.e2e.internal
    clusters: [{name: us-east-1}, {name: eu-west-1}, {name: ap-south-1, intermediate: {key: {algorithm: rsa-2048}}}]'

expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_in last.out "2 meshes, 6 clusters"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "6 bundles issued, 0 renewed, 0 kept"

openssl x509 -in out/root/root-cert.pem -noout -ext basicConstraints,keyUsage | grep -q "CA:TRUE, pathlen:1" || fail "root pathlen"
openssl verify -x509_strict -CAfile out/root/root-cert.pem out/root/root-cert.pem >/dev/null || fail "root does not self-verify"
pass
for mesh in prod staging; do
  for d in out/$mesh/*/; do
    check_bundle "${d%/}" "$mesh.e2e.internal"
    cmp -s "${d%/}/root-cert.pem" out/root/root-cert.pem || fail "$d root-cert.pem differs from out/root"
  done
done
openssl x509 -in out/staging/ap-south-1/ca-key.pem -noout 2>/dev/null && fail "key parsed as cert"
openssl pkey -in out/staging/ap-south-1/ca-key.pem -noout -text | grep -q "2048 bit" || fail "RSA override ignored"
pass

(cd out && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
pass
[ "$(stat -c %a keys/root.pem)" = 600 ] || fail "root key file not 0600"
head -1 keys/root.pem | grep -q "ENCRYPTED PRIVATE KEY" || fail "root key file not encrypted"
if grep -rl "PRIVATE KEY" out | grep -v -e '/ca-key.pem$' -e '/cacerts.yaml$' >/dev/null; then fail "a private key outside ca-key.pem"; fi
if grep -rqF -- "$(sed -n 2p keys/root.pem)" out; then fail "root key material in out/"; fi
expect_not_in last.out "$MESHCA_ROOT_PASS"
expect_not_in last.err "$MESHCA_ROOT_PASS"

# While a ceremony runs, its command line carries no secret (they come from
# the environment, a file or the terminal).
bash "$MESHCA_SOURCE_DIR/bench/make-plan.sh" 300 >big.yaml
"$MESHCA" ceremony run big.yaml --out big-out --yes --quiet --jobs 1 >/dev/null 2>&1 &
pid=$!
# (stat calls every /proc file empty: read it until it holds the command)
cmdline=""
for _ in $(seq 1 200); do
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  case $cmdline in *"ceremony run"*) break ;; esac
  sleep 0.005
done
wait $pid || fail "the background ceremony failed"
case $cmdline in *"ceremony run"*) ;; *) fail "could not read the running ceremony's command line" ;; esac
case $cmdline in *"$MESHCA_ROOT_PASS"*) fail "the passphrase is on the command line" ;; esac
pass

# Re-run: everything kept, byte for byte.
sha_before=$(cat out/SHA256SUMS)
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued, 0 renewed, 6 kept"
[ "$(cat out/SHA256SUMS)" = "$sha_before" ] || fail "re-run changed the output"
pass
finish
