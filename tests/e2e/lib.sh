# Shared helpers for the end-to-end tests: a private work directory, the
# meshca binary under test, assertions, the plans they write, a private
# SoftHSM2 token, and bundle checks with the openssl CLI (the independent
# judge).
set -euo pipefail

: "${MESHCA_BIN:?set MESHCA_BIN to the meshca binary}"
MESHCA="$MESHCA_BIN"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/meshca-e2e-XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
cd "$WORK"

CHECKS=0
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); }
finish() { echo "$(basename "$0"): $CHECKS checks passed"; }

# expect_exit CODE CMD...: runs CMD, captures stdout/stderr in $WORK/last.{out,err}.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$WORK/last.out" 2>"$WORK/last.err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$WORK/last.out" "$WORK/last.err" >&2; fail "expected exit $want, got $got: $*"; }
  pass
}
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not found in $1"; }
  pass
}
expect_not_in() {
  if grep -qF -- "$2" "$1"; then fail "'$2' unexpectedly found in $1"; fi
  pass
}

# The fleet most tests issue, as a YAML list body: mesh prod (clusters east
# and west) and mesh dev (cluster lab).
PROD_DEV_MESHES='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]
  - name: dev
    trust_domain: dev.e2e.internal
    clusters: [{name: lab}]'

# A plan with a file-backed root; MESHES is a YAML list body.
write_file_plan() {  # write_file_plan PATH KEYFILE ROOT_CN MESHES_YAML [ROOT_ALG] [INTER_ALG]
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: e2e}
organization: E2E Corp
root:
  subject: {CN: $3, O: E2E Corp, C: US}
  key:
    algorithm: ${5:-ecdsa-p384}
    store: file
    file: {path: $2, passphrase: env:MESHCA_ROOT_PASS}
  validity: 10y
defaults:
  intermediate:
    key: {algorithm: ${6:-ecdsa-p256}}
    validity: 1y
    name_constraints: trust_domain
meshes:
$4
outputs: {layouts: [istio-cacerts, k8s-secret], namespace: istio-system}
PLAN
}

# write_crl_plan PATH KEYFILE ROOT_CN MESHES_YAML: write_file_plan's plan with
# revocation.crl (CRLs valid 7 days) in every bundle.
write_crl_plan() {
  write_file_plan "$@"
  printf 'revocation:\n  crl: true\n  next_update: 7d\n' >>"$1"
}

# A rotation section for a plan whose current root is a file root: the new
# root's key is a file under NEW_KEY (passphrase MESHCA_NEW_ROOT_PASS).
append_rotation() {  # append_rotation PLAN CURRENT_OUT NEW_KEY NEW_ROOT_CN CROSS_SIGN
  cat >>"$1" <<ROT
rotation:
  current_output: $2
  new_root:
    subject: {CN: $4, O: E2E Corp, C: US}
    key:
      algorithm: ecdsa-p384
      store: file
      file: {path: $3, passphrase: env:MESHCA_NEW_ROOT_PASS}
    validity: 10y
  cross_sign: $5
ROT
}

# successor_plan ROTATION_PLAN NEXT_PLAN: the plan that carries on after a
# rotation (its rotation.new_root as the root, no rotation section), which
# adopts phase 3 as its output.
successor_plan() {
  python3 - "$1" "$2" <<'PY'
import sys, yaml
plan = yaml.safe_load(open(sys.argv[1]))
plan["root"] = plan.pop("rotation")["new_root"]
yaml.safe_dump(plan, open(sys.argv[2], "w"), sort_keys=False)
PY
}

# refuse_every_two_shares [CHECK...]: for the five CUSTODIANS, every 2-subset
# given to the caller's `use_shares WANT CUSTODIAN...` is refused (exit 4)
# naming who gave a share; CHECK (a command) then runs after each.
refuse_every_two_shares() {
  local a b n=0
  for a in 0 1 2 3 4; do
    for b in $(seq $((a + 1)) 4); do
      use_shares 4 "${CUSTODIANS[a]}" "${CUSTODIANS[b]}"
      expect_in last.err "needs the shares of 3 of its 5 custodians; 2 given (${CUSTODIANS[a]}, ${CUSTODIANS[b]})"
      [ $# -eq 0 ] || "$@"
      n=$((n + 1))
    done
  done
  [ "$n" -eq 10 ] || fail "$n 2-subsets"
}

# The test-only crash-point binary (tests/crashpoint) as $CP.
use_crashpoint() {
  : "${MESHCA_CRASHPOINT_BIN:?set MESHCA_CRASHPOINT_BIN to the crash-point binary}"
  CP="$MESHCA_CRASHPOINT_BIN"
}

# softhsm_token LABEL [USER_PIN]: a private SoftHSM2 token labelled LABEL
# under $WORK/hsm (its own softhsm2.conf, scripts/softhsm-token.sh). Sets
# MODULE to the SoftHSM2 module and TOKEN_LABEL to LABEL, and exports MESHCA_PIN (the user PIN, which
# plans read as env:MESHCA_PIN) and SOFTHSM2_CONF.
softhsm_token() {
  MODULE=/usr/lib/softhsm/libsofthsm2.so
  [ -f "$MODULE" ] || fail "SoftHSM2 is not installed ($MODULE)"
  export MESHCA_PIN=${2:-e2e-pin-4821}
  TOKEN_LABEL=$1
  eval "$(SO_PIN=e2e-so-pin USER_PIN=$MESHCA_PIN bash "$MESHCA_SOURCE_DIR/scripts/softhsm-token.sh" "$WORK/hsm" "$1")"
}

# A plan whose root key LABEL is in a PKCS#11 token (by default the one
# softhsm_token made, through $MODULE), its PIN env:MESHCA_PIN; MESHES is a
# YAML list body.
write_token_plan() {  # write_token_plan PATH ROOT_CN ALGORITHM LABEL MESHES_YAML [PATH_LEN] [TOKEN] [MODULE]
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: e2e-token}
root:
  subject: {CN: $2, O: E2E Corp}
  key:
    algorithm: $3
    store: pkcs11
    pkcs11: {module: ${8:-$MODULE}, token: ${7:-$TOKEN_LABEL}, label: $4, pin: env:MESHCA_PIN}
  validity: 10y
${6:+  path_len: $6}
defaults:
  intermediate: {validity: 1y, name_constraints: trust_domain}
meshes:
$5
PLAN
}

# write_crl_and_rotation_plans ROOT_CN MESHES_YAML: plan.yaml, a plan with
# CRLs (write_crl_plan, root key keys/root.pem), and rot.yaml, the same plan
# rotating out/ to the root "ROOT_CN 2031" (key keys/new.pem, not
# cross-signed). The passphrases are MESHCA_ROOT_PASS and MESHCA_NEW_ROOT_PASS.
write_crl_and_rotation_plans() {
  write_crl_plan plan.yaml keys/root.pem "$1" "$2"
  cp plan.yaml rot.yaml
  append_rotation rot.yaml out keys/new.pem "$1 2031" false
}

# check_bundle DIR TRUST_DOMAIN: everything istiod and a peer need, judged by openssl.
check_bundle() {
  local d=$1 td=$2
  for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem cacerts.yaml; do
    [ -f "$d/$f" ] || fail "$d/$f missing"
  done
  openssl verify -x509_strict -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$d/ca-cert.pem" >/dev/null \
    || fail "openssl verify -x509_strict failed for $d"
  pass
  # The chain is intermediate then root, and the root is the trusted one.
  [ "$(grep -c 'BEGIN CERTIFICATE' "$d/cert-chain.pem")" -eq 2 ] || fail "$d/cert-chain.pem should hold 2 certificates"
  cmp -s <(openssl x509 -in "$d/cert-chain.pem") <(openssl x509 -in "$d/ca-cert.pem") || fail "$d/cert-chain.pem does not start with ca-cert.pem"
  pass
  # Key matches certificate; one unencrypted PKCS#8 block.
  cmp -s <(openssl pkey -in "$d/ca-key.pem" -pubout) <(openssl x509 -in "$d/ca-cert.pem" -noout -pubkey) \
    || fail "$d/ca-key.pem does not match ca-cert.pem"
  [ "$(head -1 "$d/ca-key.pem")" = "-----BEGIN PRIVATE KEY-----" ] || fail "$d/ca-key.pem is not PKCS#8"
  [ "$(grep -c BEGIN "$d/ca-key.pem")" -eq 1 ] || fail "$d/ca-key.pem has more than one block"
  pass
  # Extensions as docs/architecture.md ("Certificates by default") specifies.
  local ext
  ext=$(openssl x509 -in "$d/ca-cert.pem" -noout -ext basicConstraints,keyUsage,nameConstraints,extendedKeyUsage)
  grep -q "Basic Constraints: critical" <<<"$ext" || fail "basicConstraints not critical in $d"
  grep -q "CA:TRUE, pathlen:0" <<<"$ext" || fail "not CA:TRUE pathlen:0 in $d"
  grep -q "Key Usage: critical" <<<"$ext" || fail "keyUsage not critical in $d"
  grep -q "Digital Signature, Certificate Sign, CRL Sign" <<<"$ext" || fail "keyUsage bits wrong in $d"
  grep -q "Name Constraints: critical" <<<"$ext" || fail "nameConstraints missing in $d"
  grep -q "URI:$td\$" <<<"$ext" || fail "nameConstraints do not permit URI:$td in $d"
  if grep -q "Extended Key Usage" <<<"$ext"; then fail "CA certificate in $d carries an EKU"; fi
  openssl x509 -in "$d/ca-cert.pem" -noout -text | grep -q "Authority Key Identifier" || fail "no AKI in $d"
  pass
  # Permissions: private key and manifest 0600, directory 0700.
  [ "$(stat -c %a "$d/ca-key.pem")" = 600 ] || fail "$d/ca-key.pem is not 0600"
  [ "$(stat -c %a "$d/cacerts.yaml")" = 600 ] || fail "$d/cacerts.yaml is not 0600"
  [ "$(stat -c %a "$d")" = 700 ] || fail "$d is not 0700"
  pass
  # Every PEM ends with a newline.
  for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem; do
    [ "$(tail -c1 "$d/$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "$d/$f does not end with a newline"
  done
  pass
  # The Secret manifest decodes to exactly the files.
  grep -q '^kind: Secret$' "$d/cacerts.yaml" || fail "cacerts.yaml is not a Secret"
  grep -q '^  name: cacerts$' "$d/cacerts.yaml" || fail "Secret is not named cacerts"
  grep -q '^  namespace: istio-system$' "$d/cacerts.yaml" || fail "Secret namespace wrong"
  for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem; do
    local b64
    b64=$(awk -v k="  $f:" 'index($0, k) == 1 { print $2 }' "$d/cacerts.yaml")
    [ -n "$b64" ] || fail "cacerts.yaml has no data for $f"
    cmp -s <(printf '%s' "$b64" | base64 -d) "$d/$f" || fail "cacerts.yaml data.$f differs from $d/$f"
  done
  pass
}

# A workload certificate the way istiod issues one: SPIFFE URI SAN,
# serverAuth + clientAuth, signed by the cluster's intermediate.
issue_workload() {  # issue_workload BUNDLE_DIR NAME SA [TRUST_DOMAIN]
  local d=$1 n=$2 td=${4:-prod.e2e.internal}
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key" 2>/dev/null
  openssl req -new -key "$n.key" -subj "/O=workload" -out "$n.csr"
  cat >"$n.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:spiffe://$td/ns/default/sa/$3
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
EXT
  openssl x509 -req -in "$n.csr" -CA "$d/ca-cert.pem" -CAkey "$d/ca-key.pem" -CAserial "$n.srl" -CAcreateserial -days 1 \
    -extfile "$n.ext" -out "$n.crt" 2>/dev/null
  openssl verify -x509_strict -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$n.crt" >/dev/null \
    || fail "workload $n does not verify under its own root"
  pass
}

# handshake SERVER_BUNDLE SERVER_NAME CLIENT_BUNDLE CLIENT_NAME -> 0 when mutual TLS succeeds
# (HANDSHAKE_VERIFY_DEPTH: the server's verify depth, 2 unless a longer chain, e.g.
# under a corporate CA, needs more; HANDSHAKE_SERVER_CA and HANDSHAKE_CLIENT_CA:
# the roots each side trusts, its bundle's root-cert.pem unless set)
handshake() {
  local sd=$1 sn=$2 cd=$3 cn=$4 port ready=0
  port=$((20000 + RANDOM % 20000))
  openssl s_server -accept "127.0.0.1:$port" -naccept 1 -cert "$sn.crt" -key "$sn.key" -cert_chain "$sd/cert-chain.pem" \
    -CAfile "${HANDSHAKE_SERVER_CA:-$sd/root-cert.pem}" -Verify "${HANDSHAKE_VERIFY_DEPTH:-2}" -verify_return_error -x509_strict -tls1_3 >server.log 2>&1 < <(sleep 30) &
  local pid=$!
  for _ in $(seq 1 100); do
    grep -q ACCEPT server.log 2>/dev/null && { ready=1; break; }
    sleep 0.05
  done
  [ $ready -eq 1 ] || { kill $pid 2>/dev/null; cat server.log; fail "s_server did not start"; }
  local rc=0
  echo ping | timeout 20 openssl s_client -connect "127.0.0.1:$port" -cert "$cn.crt" -key "$cn.key" \
    -cert_chain "$cd/cert-chain.pem" -CAfile "${HANDSHAKE_CLIENT_CA:-$cd/root-cert.pem}" -verify_return_error -x509_strict -tls1_3 \
    -brief >client.log 2>&1 || rc=$?
  sleep 0.2
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || rc=$((rc == 0 ? 1 : rc))
  # In TLS 1.3 the client may finish before the server has judged its
  # certificate: a refusal the client never saw is still a refusal.
  if grep -qE '^ERROR$|verify error' server.log; then rc=$((rc == 0 ? 1 : rc)); fi
  return $rc
}

# A corporate PKI made with the openssl CLI, its own process (the corporate
# root tests): a self-signed P-384 root and an issuing CA with pathLen 2
# (INT_PATHLEN "none": unlimited).
corp_pki() {  # corp_pki PREFIX ROOT_CN [INT_PATHLEN]: PREFIX-root.{key,pem}, PREFIX-int.{key,pem}
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$1-root.key" -sha384 -days 7300 \
    -subj "/O=Corp/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1-root.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$1-int.key" -subj "/O=Corp/CN=$2 Issuing CA" \
    -out "$1-int.csr" 2>/dev/null
  cat >"$1-int.ext" <<EXT
basicConstraints = critical, CA:TRUE$([ "${3:-2}" = none ] || echo ", pathlen:${3:-2}")
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  openssl x509 -req -in "$1-int.csr" -CA "$1-root.pem" -CAkey "$1-root.key" -CAcreateserial -days 5000 -sha384 \
    -extfile "$1-int.ext" -out "$1-int.pem" 2>/dev/null
}
# corp_sign CSR OUT DAYS PATHLEN [PREFIX]: the corporate issuing CA certifies a CSR ("none": no pathLen).
corp_sign() {
  local pathlen=", pathlen:$4"
  [ "$4" = none ] && pathlen=""
  cat >"$2.ext" <<EXT
basicConstraints = critical, CA:TRUE$pathlen
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
  openssl x509 -req -in "$1" -CA "${5:-corp}-int.pem" -CAkey "${5:-corp}-int.key" -CAcreateserial -days "$3" -sha384 \
    -extfile "$2.ext" -out "$2" 2>/dev/null
}
# The corporate CAs' CRLs, made with `openssl ca` (a database per CA):
# corp_crl PREFIX root|int OUT [OPTION...] (e.g. -crldays 7, -crlsec 2);
# corp_revoke PREFIX root|int CERT records CERT as revoked for the next CRL.
corp_ca_conf() {
  [ -f "$1-$2.cnf" ] && return 0
  printf '[ca]\ndefault_ca = corp\n[corp]\ndatabase = ./%s.index\ncrlnumber = ./%s.crlnumber\ndefault_md = sha384\n' "$1-$2" "$1-$2" >"$1-$2.cnf"
  : >"$1-$2.index"
  echo 01 >"$1-$2.crlnumber"
}
corp_crl() {
  local prefix=$1 ca=$2 out=$3
  shift 3
  corp_ca_conf "$prefix" "$ca"
  openssl ca -config "$prefix-$ca.cnf" -gencrl -keyfile "$prefix-$ca.key" -cert "$prefix-$ca.pem" "$@" -out "$out" 2>/dev/null
}
corp_revoke() {
  corp_ca_conf "$1" "$2"
  openssl ca -config "$1-$2.cnf" -revoke "$3" -keyfile "$1-$2.key" -cert "$1-$2.pem" 2>/dev/null
}
# corp_crls OUT [OPTION...]: the issuing CA's and the anchor's CRLs of the
# corporate PKI $PKI (default corp, made by corp_pki) in one file.
corp_crls() {
  local out=$1
  shift
  corp_crl "${PKI:-corp}" int int.crl "$@"
  corp_crl "${PKI:-corp}" root root.crl "$@"
  cat int.crl root.crl >"$out"
}
# print_html HTML PDF: headless chromium prints a page as a reader would see
# it (A4, no browser header or footer). Chromium wants a writable home and
# profile, and no sandbox when run as root.
print_html() {
  command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps.sh)"
  mkdir -p "$WORK/chromium-home"
  HOME="$WORK/chromium-home" timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium-home/profile" \
    --no-pdf-header-footer --print-to-pdf="$WORK/$2" "file://$WORK/$1" >chromium.log 2>&1 ||
    { cat chromium.log >&2; fail "chromium could not print $1"; }
}
# talks A_BUNDLE B_BUNDLE: workloads of both complete mutual TLS, both directions
talks() {
  issue_workload "$1" wl-a frontend
  issue_workload "$2" wl-b backend
  handshake "$1" wl-a "$2" wl-b || fail "mTLS $1 -> $2 failed"
  handshake "$2" wl-b "$1" wl-a || fail "mTLS $2 -> $1 failed"
  pass
}
# phase_handshake SERVER_DIR SERVER CLIENT_DIR CLIENT ok|refused WHAT: one
# mutual-TLS handshake whose outcome must be the one given; a refusal must
# be about trust, not anything else.
phase_handshake() {
  if handshake "$1" "$2" "$3" "$4"; then
    [ "$5" = ok ] || fail "$6: the server accepted the client"
  else
    [ "$5" = refused ] || { cat client.log server.log; fail "$6: mTLS failed"; }
    grep -qE "unable to get local issuer certificate|certificate verify failed|unknown ca" client.log server.log \
      || { cat client.log server.log; fail "$6: failed for another reason than trust"; }
  fi
  pass
}
# refuses A_BUNDLE B_BUNDLE: neither accepts the other's workload
refuses() {
  issue_workload "$1" wl-a frontend
  issue_workload "$2" wl-b backend
  if handshake "$1" wl-a "$2" wl-b 2>/dev/null; then fail "$2 was accepted by $1"; fi
  if handshake "$2" wl-b "$1" wl-a 2>/dev/null; then fail "$1 was accepted by $2"; fi
  pass
}
