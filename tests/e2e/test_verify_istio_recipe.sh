# Bundles made by Istio's own tools/certs recipe (Makefile.selfsigned.mk +
# common.mk), replayed here with the same openssl commands: an RSA-4096 root
# and an RSA-4096 intermediate with pathlen:0 and no cRLSign. meshca verify
# passes them, reporting only the missing cRLSign as WARN; openssl agrees.
source "$(dirname "$0")/lib.sh"
source "${MESHCA_TESTS_DIR:-$(dirname "$0")/..}/data/verify/openssl_ca.sh"

cat >root-ca.conf <<'EOF'
[ req ]
encrypt_key = no
prompt = no
utf8 = yes
default_md = sha256
default_bits = 4096
req_extensions = req_ext
x509_extensions = req_ext
distinguished_name = req_dn
[ req_ext ]
subjectKeyIdentifier = hash
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
[ req_dn ]
O = Istio
CN = Root CA
EOF
openssl genrsa -out root-key.pem 4096 2>/dev/null
openssl req -sha256 -new -key root-key.pem -config root-ca.conf -out root-cert.csr
openssl x509 -req -sha256 -days 3650 -signkey root-key.pem -extensions req_ext -extfile root-ca.conf \
  -in root-cert.csr -out root-cert.pem 2>/dev/null

# intermediate_bundle CLUSTER: cluster1/{ca-cert,ca-key,cert-chain,root-cert}.pem
intermediate_bundle() {
  local c=$1
  mkdir -p "$c"
  cat >"$c/intermediate.conf" <<EOF
[ req ]
encrypt_key = no
prompt = no
utf8 = yes
default_md = sha256
default_bits = 4096
req_extensions = req_ext
x509_extensions = req_ext
distinguished_name = req_dn
[ req_ext ]
subjectKeyIdentifier = hash
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
subjectAltName=@san
[ san ]
DNS.1 = istiod.istio-system.svc
[ req_dn ]
O = Istio
CN = Intermediate CA
L = $c
EOF
  openssl genrsa -out "$c/ca-key.pem" 4096 2>/dev/null
  openssl req -new -config "$c/intermediate.conf" -key "$c/ca-key.pem" -out "$c/cluster-ca.csr"
  openssl x509 -req -sha256 -days 730 -CA root-cert.pem -CAkey root-key.pem -CAcreateserial \
    -extensions req_ext -extfile "$c/intermediate.conf" -in "$c/cluster-ca.csr" -out "$c/ca-cert.pem" 2>/dev/null
  cat "$c/ca-cert.pem" root-cert.pem >"$c/cert-chain.pem"
  cp root-cert.pem "$c/root-cert.pem"
  rm "$c/intermediate.conf" "$c/cluster-ca.csr"
}
intermediate_bundle cluster1
intermediate_bundle cluster2

for c in cluster1 cluster2; do
  openssl verify -x509_strict -CAfile $c/root-cert.pem -untrusted $c/cert-chain.pem $c/ca-cert.pem >/dev/null \
    || fail "openssl rejects Istio's recipe for $c"
  pass
done

expect_exit 0 "$MESHCA" verify cluster1 --trust-domain cluster.local
expect_not_in "$WORK/last.out" "FAIL "
expect_finding "$WORK/last.out" WARN key-usage-crl-sign "CN=Intermediate CA"
expect_finding "$WORK/last.out" WARN key-usage-crl-sign "CN=Root CA"
# The missing cRLSign is the only warning.
[ "$(grep -c '^WARN ' "$WORK/last.out")" -eq 2 ] || { cat "$WORK/last.out"; fail "expected exactly 2 WARN lines"; }
pass
expect_finding "$WORK/last.out" PASS key-format "PKCS#8 key (RSA 4096)"
expect_finding "$WORK/last.out" PASS workload-peer "verifies as TLS server and client"
expect_in "$WORK/last.out" "cluster1: "

# Two clusters of the recipe share the root: the cross-cluster report says they can talk.
expect_exit 0 "$MESHCA" verify cluster1 cluster2 --problems-only
expect_in "$WORK/last.out" "cluster1 <-> cluster2: mutual trust (root O=Istio, CN=Root CA)"
expect_in "$WORK/last.out" "2 bundles checked"
finish
