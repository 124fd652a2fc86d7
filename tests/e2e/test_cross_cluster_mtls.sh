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

handshake a/prod/east server a/prod/west client || { cat client.log server.log; fail "mTLS between two clusters of one root failed"; }
grep -q "Verification: OK" client.log || { cat client.log; fail "client did not verify the server"; }
pass

if handshake a/prod/east server b/prod/west stranger; then fail "a workload of another root was accepted"; fi
grep -qE "unable to get local issuer certificate|certificate verify failed|unknown ca" client.log server.log \
  || { cat client.log server.log; fail "the cross-root handshake failed for another reason than trust"; }
pass
finish
