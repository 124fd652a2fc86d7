# Istio's tools/certs recipe (Makefile.selfsigned.mk + common.mk), replayed
# with the same openssl commands, for tests and benchmarks that compare meshca
# with what Istio's docs tell users to run. Source it, then:
#   istio_recipe_root DIR [rsa-4096|ecdsa-p256|ecdsa-p384]  DIR/root-{key,cert}.pem
#   istio_recipe_cluster ROOT_DIR DIR [ALG]             DIR/{ca-cert,ca-key,cert-chain,root-cert}.pem
# The recipe's choices are kept as they are: keyUsage without cRLSign, a DNS
# SAN on the intermediate, pathlen:0, SHA-256.
# common.mk's variables are read from the environment with its defaults:
# ROOTCA_DAYS (3650), ROOTCA_ORG (Istio), ROOTCA_CN (Root CA),
# INTERMEDIATE_DAYS (730), INTERMEDIATE_ORG (Istio), INTERMEDIATE_CN
# (Intermediate CA), INTERMEDIATE_SAN_DNS (istiod.istio-system.svc). Users
# often raise INTERMEDIATE_DAYS to the root's: the intermediate then outlives
# the root by the seconds between the two openssl commands.

_istio_recipe_conf() {  # _istio_recipe_conf FILE ORG CN PATHLEN_SUFFIX LOCALITY
  cat >"$1" <<CONF
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
basicConstraints = critical, CA:true$4
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
${5:+subjectAltName=@san
[ san ]
DNS.1 = ${INTERMEDIATE_SAN_DNS:-istiod.istio-system.svc}}
[ req_dn ]
O = $2
CN = $3
${5:+L = $5}
CONF
}

_istio_recipe_key() {  # _istio_recipe_key FILE ALG
  case ${2:-rsa-4096} in
    rsa-*) openssl genrsa -out "$1" "${2#rsa-}" 2>/dev/null ;;
    ecdsa-p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    ecdsa-p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" 2>/dev/null ;;
    *) echo "istio recipe: unknown algorithm $2" >&2; return 1 ;;
  esac
}

istio_recipe_root() {
  local dir=$1
  mkdir -p "$dir"
  _istio_recipe_conf "$dir/root-ca.conf" "${ROOTCA_ORG:-Istio}" "${ROOTCA_CN:-Root CA}" "" ""
  _istio_recipe_key "$dir/root-key.pem" "${2:-rsa-4096}"
  openssl req -sha256 -new -key "$dir/root-key.pem" -config "$dir/root-ca.conf" -out "$dir/root-cert.csr"
  openssl x509 -req -sha256 -days "${ROOTCA_DAYS:-3650}" -signkey "$dir/root-key.pem" -extensions req_ext -extfile "$dir/root-ca.conf" \
    -in "$dir/root-cert.csr" -out "$dir/root-cert.pem" 2>/dev/null
  rm "$dir/root-ca.conf" "$dir/root-cert.csr"
}

istio_recipe_cluster() {
  local root=$1 dir=$2
  mkdir -p "$dir"
  _istio_recipe_conf "$dir/intermediate.conf" "${INTERMEDIATE_ORG:-Istio}" "${INTERMEDIATE_CN:-Intermediate CA}" ", pathlen:0" \
    "$(basename "$dir")"
  _istio_recipe_key "$dir/ca-key.pem" "${3:-rsa-4096}"
  openssl req -new -config "$dir/intermediate.conf" -key "$dir/ca-key.pem" -out "$dir/cluster-ca.csr"
  openssl x509 -req -sha256 -days "${INTERMEDIATE_DAYS:-730}" -CA "$root/root-cert.pem" -CAkey "$root/root-key.pem" -CAcreateserial \
    -CAserial "$dir/root-cert.srl" -extensions req_ext -extfile "$dir/intermediate.conf" -in "$dir/cluster-ca.csr" \
    -out "$dir/ca-cert.pem" 2>/dev/null
  cat "$dir/ca-cert.pem" "$root/root-cert.pem" >"$dir/cert-chain.pem"
  cp "$root/root-cert.pem" "$dir/root-cert.pem"
  rm "$dir/intermediate.conf" "$dir/cluster-ca.csr" "$dir/root-cert.srl"
}
