#!/usr/bin/env bash
# Builds the Debian package (release preset + CPack), checks it with lintian
# (no errors allowed), installs it with apt and runs the installed meshca:
# --version, the manual page, and the example ceremony. Only what the package
# installs is built (build preset `package`: meshca, its manual page and
# completion); cpack itself builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset package -j "$(nproc)"
rm -f build/release/meshca_*.deb
(cd build/release && cpack -G DEB >/dev/null)
deb=$(ls build/release/meshca_*_amd64.deb)
echo "package: $deb ($(du -h "$deb" | cut -f1))"

lintian --fail-on error "$deb" | tee build/release/lintian.txt || {
  echo "lintian found errors" >&2
  exit 1
}
apt-get install -y -qq "./$deb" >/dev/null
command -v meshca
meshca --version
# The manual renders without a single groff/man warning.
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l /usr/share/man/man1/meshca.1.gz 2>&1 >/dev/null)
[ -z "$warnings" ] || { echo "man page warnings: $warnings" >&2; exit 1; }
man -l /usr/share/man/man1/meshca.1.gz | grep -q "meshca ceremony run" || { echo "man page lacks the subcommands" >&2; exit 1; }
[ -f /usr/share/bash-completion/completions/meshca ]

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
meshca plan init >plan.yaml
MESHCA_ROOT_PASS='package smoke test passphrase' meshca ceremony run plan.yaml --out out --yes --quiet | tail -3
openssl verify -x509_strict -CAfile out/root/root-cert.pem out/*/*/ca-cert.pem
echo "installed package runs the example ceremony"
