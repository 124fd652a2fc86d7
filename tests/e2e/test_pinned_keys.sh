# Keys that never cross the air gap (issue 20): clusters whose key is made
# near the cluster (by meshca csr create, and by plain openssl req, EC and
# RSA), pinned in the plan by SPKI SHA-256, signed in the room into
# public-only bundles, completed by meshca bundle assemble, and judged by
# openssl verify -x509_strict, meshca verify and a mutual-TLS handshake with
# a room-made cluster of the same mesh. Bad CSRs are refused at validation
# (exit 3) naming the cluster and the field; the audit works on the
# auditor's copy without private keys.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e pinned keys passphrase'
ZERO_PIN=0000000000000000000000000000000000000000000000000000000000000000

# east: meshca csr create (ecdsa-p256); west: openssl req (rsa-3072); lab: made in the room.
write_file_plan plan.yaml keys/root.pem "Pinned Root CA" "  - name: prod
    trust_domain: prod.e2e.internal
    clusters:
      - {name: east, intermediate: {csr: {path: requests/east.csr.pem, spki_sha256: $ZERO_PIN}}}
      - {name: west, intermediate: {key: {algorithm: rsa-3072}, csr: {path: requests/west.csr.pem, spki_sha256: $ZERO_PIN}}}
      - {name: lab}"

spki_pin() { openssl req -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }

# ---- near the clusters: keys and CSRs -------------------------------------
expect_exit 0 "$MESHCA" csr create plan.yaml --cluster prod/east --out cluster-east
EAST_PIN=$(cat last.out)
[ "$(stat -c %a cluster-east/ca-key.pem)" = 600 ] || fail "csr create: ca-key.pem is not 0600"
[ "$(stat -c %a cluster-east)" = 700 ] || fail "csr create: the key directory is not 0700"
openssl req -in cluster-east/ca.csr.pem -noout -verify 2>&1 | grep -q "verify OK" || fail "csr create: openssl does not verify the CSR"
[ "$(spki_pin cluster-east/ca.csr.pem)" = "$EAST_PIN" ] || fail "csr create printed a pin openssl does not compute"
openssl req -in cluster-east/ca.csr.pem -noout -subject | grep -q "CN *= *east Intermediate CA" || fail "csr create: subject is not the plan's"
expect_not_in last.out "PRIVATE KEY"
expect_not_in last.err "PRIVATE KEY"
pass
expect_exit 5 "$MESHCA" csr create plan.yaml --cluster prod/east --out cluster-east
expect_in last.err "never replaces"
expect_exit 2 "$MESHCA" csr create plan.yaml --cluster prod/nowhere --out x
expect_in last.err "no such cluster"

mkdir -p cluster-west requests
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out cluster-west/ca-key.pem 2>/dev/null
openssl req -new -key cluster-west/ca-key.pem -subj "/CN=ignored by meshca" -out cluster-west/ca.csr.pem
WEST_PIN=$(spki_pin cluster-west/ca.csr.pem)
cp cluster-east/ca.csr.pem requests/east.csr.pem
cp cluster-west/ca.csr.pem requests/west.csr.pem

# Pins written with colons and in capitals mean the same key.
EAST_PIN_COLONS=$(echo "$EAST_PIN" | tr a-f A-F | sed 's/../&:/g; s/:$//')
sed -i "0,/$ZERO_PIN/s//$EAST_PIN_COLONS/" plan.yaml
sed -i "0,/$ZERO_PIN/s//$WEST_PIN/" plan.yaml
expect_exit 0 "$MESHCA" plan validate plan.yaml
expect_in last.out "east: O=E2E Corp, OU=prod, CN=east Intermediate CA; ecdsa-p256 pinned (SPKI SHA-256 $EAST_PIN)"
expect_in last.out "rsa-3072 pinned (SPKI SHA-256 $WEST_PIN)"
expect_exit 0 "$MESHCA" plan show plan.yaml
expect_in last.out "pinned: made and kept by the cluster"
expect_in last.out "the CSR's subject, SANs and requested extensions are ignored"

# ---- bad CSRs: refused at validation, naming the cluster and the field -----
bad_plan() {  # bad_plan NAME CSR_FILE PIN: plan NAME.yaml with east pinned to CSR_FILE
  cp "$2" "requests/$1.csr.pem"
  sed -e "s|requests/east.csr.pem|requests/$1.csr.pem|" -e "s/$EAST_PIN_COLONS/$3/" plan.yaml >"$1.yaml"
}
expect_refused() {  # expect_refused NAME TEXT
  expect_exit 3 "$MESHCA" plan validate "$1.yaml"
  expect_in last.err "meshes[0].clusters[0].intermediate.csr"
  expect_in last.err "cluster east"
  expect_in last.err "$2"
}
bad_plan wrong-pin cluster-east/ca.csr.pem "$WEST_PIN"
expect_refused wrong-pin "not the pinned one"

# A signature that does not verify: flip the last byte of the DER (inside the signature).
openssl req -in cluster-east/ca.csr.pem -outform DER -out east.der
python3 -c "import sys; d=bytearray(open('east.der','rb').read()); d[-1]^=1; open('bad-sig.der','wb').write(d)"
openssl req -inform DER -in bad-sig.der -out bad-sig.pem 2>/dev/null
bad_plan bad-sig bad-sig.pem "$EAST_PIN"
expect_refused bad-sig "signature does not verify"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key 2>/dev/null
openssl req -new -key rsa1024.key -subj /CN=weak -out rsa1024.csr
bad_plan rsa1024 rsa1024.csr "$(spki_pin rsa1024.csr)"
expect_refused rsa1024 "RSA 1024, which meshca does not accept"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-224 -out p224.key 2>/dev/null
openssl req -new -key p224.key -subj /CN=weak -out p224.csr
bad_plan p224 p224.csr "$(spki_pin p224.csr)"
expect_refused p224 "which meshca does not accept"

head -c 300 cluster-east/ca.csr.pem >truncated.csr
bad_plan truncated truncated.csr "$EAST_PIN"
expect_refused truncated "requests/truncated.csr.pem"

bad_plan missing cluster-east/ca.csr.pem "$EAST_PIN"
rm requests/missing.csr.pem
expect_refused missing "file not found"

# A P-384 key where the plan resolves ecdsa-p256 for the cluster.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null
openssl req -new -key p384.key -subj /CN=p384 -out p384.csr
bad_plan p384 p384.csr "$(spki_pin p384.csr)"
expect_refused p384 "the CSR's key is ecdsa-p384, but the plan's key.algorithm for this cluster is ecdsa-p256"

# Pins with CRLs: tests/e2e/test_pinned_keys_crl.sh.

# ---- the room: only public keys come in, only public files go out for pinned clusters
# A CSR that asks for CA pathLen 5 and extra SANs gets the plan's values only.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out greedy.key 2>/dev/null
openssl req -new -key greedy.key -subj "/CN=greedy/O=Evil" -addext "basicConstraints=critical,CA:TRUE,pathlen:5" \
  -addext "subjectAltName=DNS:evil.example,URI:spiffe://other.domain/x" -out greedy.csr
bad_plan greedy greedy.csr "$(spki_pin greedy.csr)"
expect_exit 0 "$MESHCA" plan validate greedy.yaml
expect_exit 0 "$MESHCA" ceremony run greedy.yaml --out greedy-out --yes
ext=$(openssl x509 -in greedy-out/prod/east/ca-cert.pem -noout -subject -ext basicConstraints,subjectAltName,nameConstraints)
grep -q "CA:TRUE, pathlen:0" <<<"$ext" || fail "a CSR's requested pathLen reached the certificate: $ext"
if grep -q "evil.example\|other.domain" <<<"$ext"; then fail "a CSR's requested SANs reached the certificate: $ext"; fi
grep -q "CN *= *east Intermediate CA" <<<"$ext" || fail "the certificate's subject is not the plan's: $ext"
grep -q "URI:prod.e2e.internal" <<<"$ext" || fail "the plan's name constraints are missing: $ext"
pass

expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "3 bundles issued"
for c in east west; do
  [ ! -e "out/prod/$c/ca-key.pem" ] || fail "out/prod/$c holds a ca-key.pem"
  for f in ca-cert.pem cert-chain.pem root-cert.pem public-bundle.yaml; do [ -f "out/prod/$c/$f" ] || fail "out/prod/$c/$f missing"; done
  openssl verify -x509_strict -CAfile "out/prod/$c/root-cert.pem" -untrusted "out/prod/$c/cert-chain.pem" "out/prod/$c/ca-cert.pem" >/dev/null \
    || fail "openssl does not verify out/prod/$c/ca-cert.pem"
done
# No private key of a pinned cluster anywhere under OUT.
if grep -rl "PRIVATE KEY" out | grep -v '^out/prod/lab/' >/dev/null; then
  grep -rl "PRIVATE KEY" out | grep -v '^out/prod/lab/' >&2
  fail "a private key outside the room-made cluster's bundle"
fi
for k in cluster-east/ca-key.pem cluster-west/ca-key.pem; do
  if grep -rqF -- "$(sed -n 2p "$k")" out; then fail "$k material found under out/"; fi
done
[ "$(openssl x509 -in out/prod/east/ca-cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)" = "$EAST_PIN" ] \
  || fail "east's certificate does not carry the pinned key"
openssl x509 -in out/prod/west/ca-cert.pem -noout -text | grep -q "Public-Key: (3072 bit)" || fail "west is not the RSA-3072 key"
expect_in out/prod/east/public-bundle.yaml "needs: [ca-key.pem, cacerts.yaml]"
pass
expect_exit 0 "$MESHCA" verify out
expect_in last.out "WARN public-only"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.out "0 bundles issued, 0 renewed, 3 kept"

# ---- near the clusters again: assemble -------------------------------------
expect_exit 0 "$MESHCA" bundle assemble out/prod/east --key cluster-east/ca-key.pem --out cacerts-east
expect_exit 0 "$MESHCA" bundle assemble out/prod/west --key cluster-west/ca-key.pem --out cacerts-west
check_bundle cacerts-east prod.e2e.internal
for d in cacerts-east cacerts-west; do
  cmp -s "$d/ca-cert.pem" "out/prod/${d#cacerts-}/ca-cert.pem" || fail "$d/ca-cert.pem is not the issued certificate"
  [ -f "$d/public-bundle.yaml" ] && fail "$d still holds public-bundle.yaml"
  expect_exit 0 "$MESHCA" verify "$d"
  expect_in last.out "all pass"
done
openssl x509 -in cacerts-west/ca-cert.pem -noout -ext keyUsage | grep -q "Certificate Sign" || fail "west keyUsage"
pass
# Refusals: another key, an existing directory, an edited descriptor; nothing written.
expect_exit 3 "$MESHCA" bundle assemble out/prod/east --key cluster-west/ca-key.pem --out wrong
expect_in last.err "is not the key of this bundle"
[ ! -e wrong ] || fail "a refused assembly left a directory"
expect_exit 5 "$MESHCA" bundle assemble out/prod/east --key cluster-east/ca-key.pem --out cacerts-east
expect_in last.err "never replaces"
cp -a out/prod/east edited && echo "extra: field" >>edited/public-bundle.yaml
expect_exit 3 "$MESHCA" bundle assemble edited --key cluster-east/ca-key.pem --out from-edited
expect_in last.err "public-bundle.yaml: is not a public-only bundle descriptor as meshca writes it"
cp out/prod/east/public-bundle.yaml edited/ && sed -i "s/$EAST_PIN/$WEST_PIN/" edited/public-bundle.yaml
expect_exit 3 "$MESHCA" bundle assemble edited --key cluster-east/ca-key.pem --out from-edited
expect_in last.err "edited/public-bundle.yaml: does not describe this bundle: it must pin the key ca-cert.pem certifies"
expect_exit 1 "$MESHCA" verify edited
expect_in last.out "FAIL key-pin"
[ ! -e from-edited ] || fail "a refused assembly left a directory"
if ls -a . | grep -q '^.meshca-tmp'; then fail "assemble left its staging area behind"; fi
pass

# Mutual TLS: a workload of the assembled east and one of the room-made lab.
issue_workload cacerts-east east-wl east
issue_workload out/prod/lab lab-wl lab
handshake cacerts-east east-wl out/prod/lab lab-wl || fail "mTLS east -> lab failed"
handshake out/prod/lab lab-wl cacerts-east east-wl || fail "mTLS lab -> east failed"
pass

# ---- the auditor's public copy: every ca-key.pem removed --------------------
cp -a out public-copy
find public-copy -name ca-key.pem -delete
expect_exit 1 "$MESHCA" audit public-copy plan.yaml
expect_in last.out "incomplete bundle (missing ca-key.pem)"
expect_exit 0 "$MESHCA" audit public-copy plan.yaml --public-only
expect_in last.out "WARN not-checked OUT: 1 file(s) holding private keys are absent"
expect_in last.out "prod/lab/ca-key.pem"
expect_exit 1 "$MESHCA" transcript verify public-copy/transcript.jsonl --out public-copy
expect_exit 0 "$MESHCA" transcript verify public-copy/transcript.jsonl --out public-copy --public-only
expect_in last.out "NOTE public-copy/prod/lab/ca-key.pem: absent from this public copy"
# A public copy is still checked: a swapped chain fails.
cp public-copy/prod/east/cert-chain.pem saved-chain.pem
cp out/prod/lab/cert-chain.pem public-copy/prod/east/cert-chain.pem
expect_exit 1 "$MESHCA" audit public-copy plan.yaml --public-only
cp saved-chain.pem public-copy/prod/east/cert-chain.pem

# ---- a re-pinned cluster is a conflict until renewed ------------------------
expect_exit 0 "$MESHCA" csr create plan.yaml --cluster prod/east --out cluster-east-2
NEW_PIN=$(cat last.out)
cp cluster-east-2/ca.csr.pem requests/east.csr.pem
sed -i "s/$EAST_PIN_COLONS/$NEW_PIN/" plan.yaml
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out --yes
expect_in last.err "intermediate.csr.spki_sha256: found a certificate for key $EAST_PIN, the plan says $NEW_PIN"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --renew prod/east
expect_in last.out "1 renewed"
expect_exit 0 "$MESHCA" audit out plan.yaml
expect_exit 0 "$MESHCA" bundle assemble out/prod/east --key cluster-east-2/ca-key.pem --out cacerts-east-2

# ---- a root rotation with pinned clusters: every phase public-only ----------
# east keeps its (new) key and west its RSA key through all three phases;
# each phase is assembled near the cluster with the key already there.
export MESHCA_NEW_ROOT_PASS='e2e pinned keys new root'
cp plan.yaml rot.yaml
append_rotation rot.yaml out keys/new-root.pem "Pinned Root 2031" false
expect_exit 0 "$MESHCA" plan validate rot.yaml
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes
expect_in last.out "phase 0  x  phase 3: refuse each other"
expect_in rot/PHASES.md "that keeps its own key (prod/east, prod/west), first complete its public-only bundle"
if grep -rl "PRIVATE KEY" rot | grep -v '/prod/lab/' >/dev/null; then fail "a pinned cluster's phase holds a private key"; fi
declare -A PIN_OF=([east]=$NEW_PIN [west]=$WEST_PIN) KEY_OF=([east]=cluster-east-2/ca-key.pem [west]=cluster-west/ca-key.pem)
for c in east west; do
  cmp -s rot/phase-1/prod/$c/ca-cert.pem out/prod/$c/ca-cert.pem || fail "phase 1 changed the intermediate of $c"
  for p in 1 2 3; do
    d=rot/phase-$p/prod/$c
    [ ! -e $d/ca-key.pem ] && [ -f $d/public-bundle.yaml ] || fail "$d is not a public-only bundle"
    [ "$(openssl x509 -in $d/ca-cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)" = "${PIN_OF[$c]}" ] \
      || fail "$d does not certify the pinned key"
    expect_exit 0 "$MESHCA" bundle assemble $d --key "${KEY_OF[$c]}" --out assembled-$p-$c
    check_bundle assembled-$p-$c prod.e2e.internal
    expect_exit 0 "$MESHCA" verify assembled-$p-$c
  done
  cmp -s rot/phase-3/prod/$c/ca-cert.pem rot/phase-2/prod/$c/ca-cert.pem || fail "phase 3 changed the intermediate of $c"
  openssl verify -x509_strict -CAfile rot/root/root-cert.pem rot/phase-2/prod/$c/ca-cert.pem >/dev/null \
    || fail "phase 2 of $c is not issued by the new root"
  pass
done
expect_exit 0 "$MESHCA" audit rot rot.yaml
expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
grep '"step":"intermediate"' rot/transcript.jsonl | grep '"cluster":"east"' | grep -q '"key_custody":"cluster"' \
  || fail "the rotation's transcript does not record east's key as kept by the cluster"
# Adjacent phases talk, phase 0 and 3 do not: an assembled pinned cluster
# against the room-made lab of the neighbouring phase, both directions.
issue_workload assembled-1-east e1-wl east
issue_workload rot/phase-2/prod/lab l2-wl lab
handshake assembled-1-east e1-wl rot/phase-2/prod/lab l2-wl || fail "mTLS phase-1 east -> phase-2 lab failed"
handshake rot/phase-2/prod/lab l2-wl assembled-1-east e1-wl || fail "mTLS phase-2 lab -> phase-1 east failed"
issue_workload assembled-3-west w3-wl west
issue_workload out/prod/lab l0-wl lab
if handshake assembled-3-west w3-wl out/prod/lab l0-wl 2>/dev/null; then fail "phase 3 west still talks to phase 0 lab"; fi
pass
# The successor plan (root = the new root) adopts phase 3, pinned bundles included.
successor_plan rot.yaml next.yaml
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" ceremony run next.yaml --out rot/phase-3 --yes
expect_in last.out "0 bundles issued, 0 renewed, 3 kept"
finish
