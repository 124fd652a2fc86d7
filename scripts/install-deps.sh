#!/usr/bin/env bash
# Installs every Debian 12 package meshca needs to build, test and run the demo.
# Idempotent: re-running only installs what is missing.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git ca-certificates
  libssl-dev openssl
  libp11-dev libp11-kit-dev
  libboost-program-options-dev libboost-filesystem-dev
  libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  softhsm2 opensc
  # M-of-N custody of the root's passphrase (core/secret_shares: libgfshare; the
  # runbook's recovery with gfcombine and xxd, tested by tests/e2e/test_secret_shares.sh).
  libgfshare-dev libgfshare-bin xxd
  # Real-token tests (tests/tokens/lib.sh): TPM 2.0 on swtpm, openCryptoki, NSS softokn, p11-kit-proxy.
  swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus libtpm2-pkcs11-1 libtpm2-pkcs11-tools
  opencryptoki libnss3 libnss3-tools p11-kit iproute2
  clang libclang-rt-14-dev
  # CI's style stage (.ci/style-check: git clang-format, clang-tidy).
  clang-format clang-tidy
  # Compiler cache for developers' repeated builds (-DCMAKE_CXX_COMPILER_LAUNCHER=ccache);
  # the presets do not use it: a fresh CI machine starts with an empty cache.
  ccache
  time libxml2-utils
  dpkg-dev lintian man-db
  python3 python3-yaml
  # check-expiry --format openmetrics is judged by promtool (in prometheus) and
  # prometheus_client's OpenMetrics parser (tests/e2e/test_expiry_metrics.sh).
  prometheus python3-prometheus-client
  # The trust configuration of federated meshes is validated offline against the upstream
  # schema excerpts in tests/data/schemas (tests/e2e/test_federation_trust.sh).
  python3-jsonschema
  # The printable ceremony script (meshca plan script): its e2e test renders the HTML to PDF in
  # headless Chromium and judges the PDF with pdfinfo/pdftotext; the docs' screenshots too.
  chromium fonts-dejavu-core poppler-utils
)
# The layout tests compare manifests with kubectl's offline rendering and
# validate cert-manager manifests with an npm package. Some machines already
# carry kubectl/node from elsewhere (a second kubectl package would collide).
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
