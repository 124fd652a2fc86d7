# meshca inspect and check-expiry on certificates with fixed dates and
# serials (built with openssl ca), at a fixed --at: the stable fields are
# compared with golden files in tests/data/verify/ (keys are generated at
# run time, so key identifiers and fingerprints are left out).
# GOLDEN_UPDATE=1 rewrites the golden files.
source "$(dirname "$0")/lib.sh"
DATA="${MESHCA_TESTS_DIR:-$(cd "$(dirname "$0")/.." && pwd)}/data/verify"
source "$DATA/openssl_ca.sh"
AT=2025-12-01T00:00:00Z

# Root 2020..2040 (serial 1000), intermediate 2024..2026 (serial 1001) with a
# URI name constraint, and a workload leaf 2025-11-01..2025-12-15.
newkey GRoot.key
ca_ext GRoot.ext 1 "keyCertSign, cRLSign"
rcnf=$(ca_db GRoot)
openssl req -new -key GRoot.key -subj "/C=US/O=Golden Corp/CN=Golden Root" -out GRoot.csr 2>/dev/null
openssl ca -batch -config "$rcnf" -selfsign -keyfile GRoot.key -in GRoot.csr -out GRoot.pem \
  -startdate 20200101000000Z -enddate 20400101000000Z -extfile GRoot.ext -extensions ext -notext >/dev/null 2>&1 \
  || fail "openssl ca -selfsign"
newkey GInter.key
ca_ext GInter.ext 0 "digitalSignature, keyCertSign, cRLSign"
echo "nameConstraints = critical, permitted;URI:golden.example" >>GInter.ext
openssl req -new -key GInter.key -subj "/O=Golden Corp/OU=prod/CN=golden Intermediate CA" -out GInter.csr 2>/dev/null
openssl ca -batch -config "$rcnf" -in GInter.csr -out GInter.pem -startdate 20240101000000Z -enddate 20260101000000Z \
  -extfile GInter.ext -extensions ext -notext >/dev/null 2>&1 || fail "openssl ca (intermediate)"
icnf=$(ca_db GInter)
newkey leaf.key
cat >leaf.ext <<'EXT'
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:spiffe://golden.example/ns/shop/sa/cart
authorityKeyIdentifier = keyid
EXT
openssl req -new -key leaf.key -subj "/O=workload/CN=cart" -out leaf.csr 2>/dev/null
openssl ca -batch -config "$icnf" -in leaf.csr -out leaf.pem -startdate 20251101000000Z -enddate 20251215000000Z \
  -extfile leaf.ext -extensions ext -notext >/dev/null 2>&1 || fail "openssl ca (leaf)"
bundle golden GInter GRoot
openssl verify -x509_strict -attime "$(date -d $AT +%s)" -CAfile golden/root-cert.pem -untrusted golden/cert-chain.pem \
  leaf.pem >/dev/null || fail "openssl rejects the golden leaf"
pass

# golden NAME FILE: compare FILE (without key-dependent lines) with $DATA/NAME.
golden() {
  grep -vE '^  (SKI|AKI|SHA-256) ' "$2" >"$2.stable" || true
  if [ -n "${GOLDEN_UPDATE:-}" ]; then cp "$2.stable" "$DATA/$1"; fi
  diff -u "$DATA/$1" "$2.stable" || fail "$1 differs from the golden file"
  pass
}

# inspect: a bundle directory plus a loose leaf, text and JSON.
expect_exit 0 "$MESHCA" inspect golden leaf.pem --at $AT
golden inspect.golden "$WORK/last.out"
expect_exit 0 "$MESHCA" inspect golden leaf.pem --at $AT --json
jq -e '(.certificates | length) == 3 and
       (.certificates[] | select(.subject == "O=Golden Corp, OU=prod, CN=golden Intermediate CA") |
         .serial == "1001" and .days_left == 31 and .path_len == 0 and .ca and
         .name_constraints == ["permitted URI:golden.example"] and .not_after == "2026-01-01T00:00:00Z") and
       (.certificates[] | select(.subject == "O=workload, CN=cart") |
         .subject_alt_names == ["URI:spiffe://golden.example/ns/shop/sa/cart"] and
         .extended_key_usage == ["serverAuth", "clientAuth"] and .days_left == 14 and (.ca | not)) and
       (.tree | length) == 1 and .tree[0].subject == "C=US, O=Golden Corp, CN=Golden Root" and
       .tree[0].children[0].children[0].subject == "O=workload, CN=cart" and
       (.keys | length) == 1' "$WORK/last.out" >/dev/null || { cat "$WORK/last.out"; fail "unexpected inspect JSON"; }
pass
# The Secret manifest form shows the same certificates.
{
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata: {name: cacerts, namespace: istio-system}"
  echo "stringData:"
  for f in ca-cert.pem cert-chain.pem root-cert.pem; do echo "  $f: |"; sed 's/^/    /' golden/$f; done
} >golden.yaml
expect_exit 0 "$MESHCA" inspect golden.yaml --at $AT
expect_in "$WORK/last.out" "golden.yaml:stringData.ca-cert.pem"
expect_in "$WORK/last.out" "2024-01-01T00:00:00Z .. 2026-01-01T00:00:00Z (31 days left)"
expect_exit 3 "$MESHCA" inspect nothing-here.pem

# check-expiry: the intermediate ends 31 days after --at.
# 31 days before notAfter the 2-year intermediate is long past its renew-by date (two thirds of its life).
expect_exit 1 "$MESHCA" check-expiry golden --within 30d --at $AT
golden expiry-30d.golden "$WORK/last.out"
expect_exit 1 "$MESHCA" check-expiry golden golden.yaml leaf.pem --within 31d --at $AT
golden expiry-31d.golden "$WORK/last.out"
expect_exit 1 "$MESHCA" check-expiry golden --at 2026-02-01T00:00:00Z --json
jq -e '(.ok | not) and .within == "30d" and
       ([.certificates[] | select(.status == "EXPIRED")] | length) == 1 and
       ([.certificates[] | select(.status == "OK")] | length) == 1' "$WORK/last.out" >/dev/null \
  || { cat "$WORK/last.out"; fail "unexpected check-expiry JSON"; }
pass
expect_exit 2 "$MESHCA" check-expiry golden --within soon

# verify at the same fixed time agrees: valid, the intermediate expiring soon is a WARN.
expect_exit 0 "$MESHCA" verify golden --at 2025-12-20T00:00:00Z --trust-domain golden.example
expect_finding "$WORK/last.out" WARN expiry-soon "expires in 12 days"
expect_exit 1 "$MESHCA" verify golden --at 2026-01-02T00:00:00Z
expect_finding "$WORK/last.out" FAIL validity "expired on 2026-01-01T00:00:00Z"
finish
