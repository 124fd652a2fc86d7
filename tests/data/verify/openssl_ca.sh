# Helpers for the verify/inspect/check-expiry e2e tests: CA hierarchies
# built with the openssl CLI alone, so the bundles under test come from an
# independent implementation and no private key is checked in.
# Sourced after tests/e2e/lib.sh (uses $WORK, fail, pass, expect_*).

# newkey FILE [ec|rsa2048|rsa4096]: an unencrypted PKCS#8 key.
newkey() {
  case "${2:-ec}" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    rsa4096) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1" 2>/dev/null ;;
  esac
}

# ca_ext FILE [PATHLEN] [KEYUSAGE] [CA]: an extension section "ext" for a CA.
ca_ext() {
  local bc="critical, CA:${4:-TRUE}"
  [ -n "${2:-}" ] && bc="$bc, pathlen:$2"
  cat >"$1" <<EXT
[ext]
basicConstraints = $bc
keyUsage = critical, ${3:-keyCertSign, cRLSign}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
}

rand_serial() { echo "0x1$(openssl rand -hex 15)"; }

# mkroot NAME [DAYS] [KEYTYPE]: NAME.key, NAME.pem (self-signed CA).
mkroot() {
  newkey "$1.key" "${3:-ec}"
  ca_ext "$1.ext" "" "keyCertSign, cRLSign"
  openssl req -new -key "$1.key" -subj "/O=Corpus/CN=$1" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -signkey "$1.key" -days "${2:-3650}" -sha256 -set_serial "$(rand_serial)" \
    -extfile "$1.ext" -extensions ext -out "$1.pem" 2>/dev/null
}

# mkinter NAME ISSUER [openssl x509 options...]: NAME.key, NAME.pem signed by ISSUER.
# EXT (the extension file) defaults to a pathlen:0 CA with keyCertSign+cRLSign.
mkinter() {
  local name=$1 issuer=$2; shift 2
  newkey "$name.key"
  [ -f "$name.ext" ] || ca_ext "$name.ext" 0 "keyCertSign, cRLSign, digitalSignature"
  openssl req -new -key "$name.key" -subj "/O=Corpus/CN=$name" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -days 365 -sha256 \
    -set_serial "${SERIAL:-$(rand_serial)}" -extfile "$name.ext" -extensions ext -out "$name.pem" "$@" 2>/dev/null \
    || fail "openssl could not issue $name"
}

# bundle DIR INTER ROOT: an Istio cacerts directory.
bundle() {
  mkdir -p "$1"
  cp "$2.pem" "$1/ca-cert.pem"
  cp "$2.key" "$1/ca-key.pem"
  cat "$2.pem" "$3.pem" >"$1/cert-chain.pem"
  cp "$3.pem" "$1/root-cert.pem"
}

# ca_db NAME: an `openssl ca` database for certificate NAME (NAME.pem/NAME.key),
# used for fixed dates, revocations and CRLs. Prints the config path.
ca_db() {
  local d="$WORK/db-$1"
  mkdir -p "$d/newcerts"
  : >"$d/index.txt"
  echo 1000 >"$d/serial"
  echo 1000 >"$d/crlnumber"
  cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $d
database = $d/index.txt
new_certs_dir = $d/newcerts
serial = $d/serial
crlnumber = $d/crlnumber
certificate = $WORK/$1.pem
private_key = $WORK/$1.key
default_md = sha256
default_crl_days = 30
policy = p
unique_subject = no
email_in_dn = no
[p]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
CNF
  echo "$d/ca.cnf"
}

# expect_finding OUT SEVERITY CHECK TEXT: a line of `meshca verify` output
# with that severity and check name contains TEXT.
expect_finding() {
  local out=$1 sev=$2 check=$3 text=$4
  if ! grep -E "^$sev +$check " "$out" | grep -qF -- "$text"; then
    cat "$out" >&2
    fail "no '$sev $check' finding containing '$text' in $out"
  fi
  pass
}
