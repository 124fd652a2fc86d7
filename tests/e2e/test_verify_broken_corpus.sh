# meshca verify on a corpus of broken bundles built here with the openssl CLI.
# Each bundle must FAIL with its own specific reason, exit 1, and never
# crash; the good bundle it is derived from passes, and openssl verify agrees
# on the chain cases.
source "$(dirname "$0")/lib.sh"
source "${MESHCA_TESTS_DIR:-$(dirname "$0")/..}/data/verify/openssl_ca.sh"

mkroot Root
mkinter Inter Root
bundle good Inter Root

# The good bundle passes with zero FAIL and zero WARN.
expect_exit 0 "$MESHCA" verify good --trust-domain cluster.local
expect_not_in "$WORK/last.out" "FAIL "
expect_not_in "$WORK/last.out" "WARN "
expect_finding "$WORK/last.out" PASS workload-peer "spiffe://cluster.local/ns/default/sa/default"
openssl verify -x509_strict -CAfile good/root-cert.pem -untrusted good/cert-chain.pem good/ca-cert.pem >/dev/null \
  || fail "openssl rejects the good corpus bundle"
pass

# broken NAME: a copy of the good bundle to damage.
broken() { rm -rf "$1"; cp -r good "$1"; }
# verify_fails DIR SEVERITY CHECK TEXT: exit 1, the specific finding, no crash.
verify_fails() {
  expect_exit 1 "$MESHCA" verify "$1"
  expect_finding "$WORK/last.out" FAIL "$2" "$3"
  expect_not_in "$WORK/last.err" "internal"
  expect_in "$WORK/last.out" "$1: "
}

# 1. key mismatch
broken key-mismatch
newkey other.key
cp other.key key-mismatch/ca-key.pem
verify_fails key-mismatch key-match "does not match ca-cert.pem"

# 2. wrong chain order (root first)
broken wrong-order
cat Root.pem Inter.pem >wrong-order/cert-chain.pem
verify_fails wrong-order chain-order "not with ca-cert.pem"

# 3. chain without its root
broken no-root-in-chain
cp Inter.pem no-root-in-chain/cert-chain.pem
verify_fails no-root-in-chain chain-root "not a self-signed root"

# 4. CA:FALSE intermediate
ca_ext NotCa.ext 0 "keyCertSign, cRLSign" FALSE
sed -i 's/, pathlen:0//' NotCa.ext
mkinter NotCa Root
bundle not-ca NotCa Root
verify_fails not-ca basic-constraints "CA:TRUE"
if openssl verify -x509_strict -CAfile not-ca/root-cert.pem not-ca/ca-cert.pem >/dev/null 2>&1; then :; fi

# 5. no keyCertSign
ca_ext NoSign.ext 0 "digitalSignature, cRLSign"
mkinter NoSign Root
bundle no-keycertsign NoSign Root
verify_fails no-keycertsign key-usage "keyCertSign"

# 6. expired intermediate (fixed dates in the past through openssl ca)
cnf=$(ca_db Root)
newkey Old.key
ca_ext Old.ext 0 "keyCertSign, cRLSign, digitalSignature"
openssl req -new -key Old.key -subj "/O=Corpus/CN=Old" -out Old.csr 2>/dev/null
openssl ca -batch -config "$cnf" -in Old.csr -out Old.pem -startdate 20200101000000Z -enddate 20210101000000Z \
  -extfile Old.ext -extensions ext -notext >/dev/null 2>&1 || fail "openssl ca could not issue the expired intermediate"
cp Old.key Old.key.bak
bundle expired Old Root
verify_fails expired validity "expired on 2021-01-01T00:00:00Z"
expect_finding "$WORK/last.out" FAIL chain-verify "certificate has expired"

# 7. root from another PKI in root-cert.pem
mkroot Stranger
broken other-root
cp Stranger.pem other-root/root-cert.pem
verify_fails other-root chain-root "is not in root-cert.pem"
if openssl verify -x509_strict -CAfile other-root/root-cert.pem -untrusted other-root/cert-chain.pem \
  other-root/ca-cert.pem >/dev/null 2>&1; then fail "openssl accepted a bundle with a foreign root"; fi
pass

# 8. truncated ca-cert.pem
broken trunc-ca
head -c 300 Inter.pem >trunc-ca/ca-cert.pem
verify_fails trunc-ca pem "truncated"
expect_finding "$WORK/last.out" FAIL pem "ca-cert.pem"

# 9. truncated cert-chain.pem (cut inside the root)
broken trunc-chain
lines=$(wc -l <Inter.pem)
cat Inter.pem >trunc-chain/cert-chain.pem
head -n 5 Root.pem >>trunc-chain/cert-chain.pem
verify_fails trunc-chain pem "truncated"
expect_finding "$WORK/last.out" FAIL pem "cert-chain.pem"

# 10. SHA-1 signature
mkinter Sha1 Root -sha1
openssl x509 -in Sha1.pem -noout -text | grep -q "sha1WithRSAEncryption\|ecdsa-with-SHA1" || fail "openssl did not sign with SHA-1"
bundle sha1 Sha1 Root
verify_fails sha1 signature-algorithm "weak signature algorithm ecdsa-with-SHA1"

# 11. negative serial
SERIAL=-4660 mkinter Neg Root
bundle negative-serial Neg Root
verify_fails negative-serial serial "positive"

# 12. EC PARAMETERS block before the key
broken ec-params
{ openssl ecparam -name prime256v1; cat Inter.key; } >ec-params/ca-key.pem
verify_fails ec-params key-format "EC PARAMETERS"

# 13. encrypted key
broken encrypted
openssl pkey -in Inter.key -aes256 -passout pass:secret-pass -out encrypted/ca-key.pem
verify_fails encrypted key-format "encrypted"

# 14. a missing file
broken missing
rm missing/root-cert.pem
verify_fails missing layout "root-cert.pem is missing"

# 15. CRL set missing one signer (the intermediate's CRL only)
icnf=$(ca_db Inter)
rcnf=$(ca_db Root)
openssl ca -batch -config "$icnf" -gencrl -out inter.crl 2>/dev/null || fail "openssl ca -gencrl (intermediate)"
openssl ca -batch -config "$rcnf" -gencrl -out root.crl 2>/dev/null || fail "openssl ca -gencrl (root)"
broken crl-good
cat inter.crl root.crl >crl-good/ca-crl.pem
expect_exit 0 "$MESHCA" verify crl-good
expect_finding "$WORK/last.out" PASS crl "2 CRL(s)"
broken crl-missing
cp inter.crl crl-missing/ca-crl.pem
verify_fails crl-missing crl "no CRL signed by O=Corpus, CN=Root"

# 16. CRL revoking the intermediate
rcnf2=$(ca_db Root)
openssl ca -batch -config "$rcnf2" -revoke Inter.pem >/dev/null 2>&1 || fail "openssl ca -revoke"
openssl ca -batch -config "$rcnf2" -gencrl -out root-revoking.crl 2>/dev/null || fail "openssl ca -gencrl (revoking)"
broken crl-revoked
cat inter.crl root-revoking.crl >crl-revoked/ca-crl.pem
verify_fails crl-revoked crl "revokes O=Corpus, CN=Inter"
if openssl verify -crl_check_all -CRLfile crl-revoked/ca-crl.pem -CAfile good/root-cert.pem \
  -untrusted good/cert-chain.pem good/ca-cert.pem >/dev/null 2>&1; then fail "openssl accepted a revoked intermediate"; fi
pass

# 17. tls.crt layout mix-up: kubernetes.io/tls files dropped into a cacerts directory
broken tls-mixup
cp Inter.pem tls-mixup/tls.crt
cp Inter.key tls-mixup/tls.key
verify_fails tls-mixup layout "mixes the istio-cacerts files and the kubernetes.io/tls files"

# The kubernetes.io/tls layout on its own is reported as such and checked with the same rules.
mkdir tls-good
cp Inter.pem tls-good/tls.crt
cp Inter.key tls-good/tls.key
cp Root.pem tls-good/ca.crt
expect_exit 0 "$MESHCA" verify tls-good
expect_finding "$WORK/last.out" PASS layout "kubernetes.io/tls layout"
expect_finding "$WORK/last.out" PASS chain-verify "tls.crt up to ca.crt"
mkdir tls-partial
cp Inter.pem tls-partial/tls.crt
cp Root.pem tls-partial/ca.crt
expect_exit 1 "$MESHCA" verify tls-partial
expect_finding "$WORK/last.out" FAIL layout "tls.key is missing"

# Every broken bundle at once: still one report per bundle, exit 1, no crash.
expect_exit 1 "$MESHCA" verify good key-mismatch wrong-order no-root-in-chain not-ca no-keycertsign expired \
  other-root trunc-ca trunc-chain sha1 negative-serial ec-params encrypted missing crl-missing crl-revoked tls-mixup
expect_in "$WORK/last.out" "== cross-cluster trust"
expect_in "$WORK/last.out" "17 failed"
expect_exit 1 "$MESHCA" verify --json good trunc-ca
jq -e '.ok == false and (.bundles | length) == 2 and .bundles[0].ok == true and .bundles[1].counts.fail > 0' \
  "$WORK/last.out" >/dev/null || { cat "$WORK/last.out"; fail "unexpected JSON report"; }
pass

# Junk between blocks and a missing final newline are warnings, not failures.
broken junk
{ cat Inter.pem; echo "this line is junk"; printf '%s' "$(cat Root.pem)"; } >junk/cert-chain.pem
expect_exit 0 "$MESHCA" verify junk
expect_finding "$WORK/last.out" WARN pem-text "text outside any PEM block at line"
expect_finding "$WORK/last.out" WARN pem-text "does not end with a newline"

# Usage errors.
expect_exit 2 "$MESHCA" verify
expect_exit 2 "$MESHCA" verify good --at yesterday
finish
