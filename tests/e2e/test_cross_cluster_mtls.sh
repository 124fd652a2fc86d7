# Multi-cluster trust: workloads of two clusters of one mesh (different
# intermediates, one root) complete a mutual-TLS handshake with the openssl
# CLI on 127.0.0.1, each side trusting only its own root-cert.pem and
# presenting its cert-chain.pem. A workload of another plan's root is refused.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e mtls root passphrase'

MESH='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'
write_file_plan plan-a.yaml keys/a.pem "Fleet A Root" "$MESH"
write_file_plan plan-b.yaml keys/b.pem "Fleet B Root" "$MESH"
expect_exit 0 "$MESHCA" ceremony run plan-a.yaml --out a --yes
expect_exit 0 "$MESHCA" ceremony run plan-b.yaml --out b --yes

# A workload certificate the way istiod issues one: SPIFFE URI SAN,
# serverAuth + clientAuth, signed by the cluster's intermediate.
issue_workload() {  # issue_workload BUNDLE_DIR NAME SA
  local d=$1 n=$2
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key" 2>/dev/null
  openssl req -new -key "$n.key" -subj "/O=workload" -out "$n.csr"
  cat >"$n.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:spiffe://prod.e2e.internal/ns/default/sa/$3
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EXT
  openssl x509 -req -in "$n.csr" -CA "$d/ca-cert.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 1 \
    -extfile "$n.ext" -out "$n.crt" 2>/dev/null
  openssl verify -x509_strict -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$n.crt" >/dev/null \
    || fail "workload $n does not verify under its own root"
  pass
}
issue_workload a/prod/east server server
issue_workload a/prod/west client client
issue_workload b/prod/west stranger client

# A workload outside the mesh's trust domain is refused by the name constraint.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out evil.key 2>/dev/null
openssl req -new -key evil.key -subj "/O=workload" -out evil.csr
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=critical,URI:spiffe://other.domain/ns/x/sa/y\nextendedKeyUsage=serverAuth,clientAuth\n' >evil.ext
openssl x509 -req -in evil.csr -CA a/prod/east/ca-cert.pem -CAkey a/prod/east/ca-key.pem -CAcreateserial -days 1 -extfile evil.ext -out evil.crt 2>/dev/null
if openssl verify -CAfile a/prod/east/root-cert.pem -untrusted a/prod/east/cert-chain.pem evil.crt >evil.out 2>&1; then
  fail "a SPIFFE ID outside the trust domain verified"
fi
grep -q "permitted subtree violation" evil.out || { cat evil.out; fail "expected a name-constraints failure"; }
pass

# handshake SERVER_BUNDLE SERVER_NAME CLIENT_BUNDLE CLIENT_NAME -> 0 when mutual TLS succeeds
handshake() {
  local sd=$1 sn=$2 cd=$3 cn=$4 port ready=0
  port=$((20000 + RANDOM % 20000))
  openssl s_server -accept "127.0.0.1:$port" -naccept 1 -cert "$sn.crt" -key "$sn.key" -cert_chain "$sd/cert-chain.pem" \
    -CAfile "$sd/root-cert.pem" -Verify 2 -verify_return_error -x509_strict -tls1_3 >server.log 2>&1 < <(sleep 30) &
  local pid=$!
  for _ in $(seq 1 100); do
    grep -q ACCEPT server.log 2>/dev/null && { ready=1; break; }
    sleep 0.05
  done
  [ $ready -eq 1 ] || { kill $pid 2>/dev/null; cat server.log; fail "s_server did not start"; }
  local rc=0
  echo ping | timeout 20 openssl s_client -connect "127.0.0.1:$port" -cert "$cn.crt" -key "$cn.key" \
    -cert_chain "$cd/cert-chain.pem" -CAfile "$cd/root-cert.pem" -verify_return_error -x509_strict -tls1_3 \
    -brief >client.log 2>&1 || rc=$?
  sleep 0.2
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || rc=$((rc == 0 ? 1 : rc))
  return $rc
}

handshake a/prod/east server a/prod/west client || { cat client.log server.log; fail "mTLS between two clusters of one root failed"; }
grep -q "Verification: OK" client.log || { cat client.log; fail "client did not verify the server"; }
pass

if handshake a/prod/east server b/prod/west stranger; then fail "a workload of another root was accepted"; fi
grep -qE "unable to get local issuer certificate|certificate verify failed|unknown ca" client.log server.log \
  || { cat client.log server.log; fail "the cross-root handshake failed for another reason than trust"; }
pass
finish
