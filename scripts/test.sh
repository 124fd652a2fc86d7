#!/usr/bin/env bash
# Builds meshca and runs every test (unit, SoftHSM2 integration, end to end).
#   bash scripts/test.sh          the dev preset
#   bash scripts/test.sh asan     AddressSanitizer + UndefinedBehaviorSanitizer
# Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}

bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)"
