#!/usr/bin/env bash
# Regenerates the documentation's screenshots of the two-meshes example plan:
# its HTML plan report (docs/images/plan-show-html.png), rendered by Debian's
# headless Chromium exactly as an auditor's browser shows it, and the first
# page of its ceremony script as Chromium prints it to PDF
# (docs/images/ceremony-script-page1.png, by poppler's pdftoppm).
#
#   bash scripts/docs-screenshots.sh
#
# Installs Chromium and poppler (scripts/install-deps.sh) and builds meshca when
# needed. The report is resolved at a fixed time so the image only changes
# when the report's content or layout does.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/install-deps.sh
[ -x build/dev/cli/meshca ] || { cmake --preset dev >/dev/null && cmake --build build/dev -j"$(nproc)" --target meshca; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/dev/cli/meshca plan init --template two-meshes >"$work/plan.yaml"
build/dev/cli/meshca plan show "$work/plan.yaml" --format html --at 2026-11-25T09:00:00Z >"$work/plan.html"
# Chromium wants a writable home and no sandbox when run as root in a container.
HOME=$work chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1300 \
  --screenshot="$work/plan-show-html.png" "file://$work/plan.html" 2>"$work/chromium.log" ||
  { cat "$work/chromium.log" >&2; exit 1; }
install -m 0644 "$work/plan-show-html.png" docs/images/plan-show-html.png
echo "wrote docs/images/plan-show-html.png"

build/dev/cli/meshca plan script "$work/plan.yaml" --format html >"$work/script.html"
HOME=$work chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer --print-to-pdf="$work/script.pdf" \
  "file://$work/script.html" 2>"$work/chromium.log" || { cat "$work/chromium.log" >&2; exit 1; }
pdftoppm -png -r 60 -f 1 -l 1 -singlefile "$work/script.pdf" "$work/ceremony-script-page1"
install -m 0644 "$work/ceremony-script-page1.png" docs/images/ceremony-script-page1.png
echo "wrote docs/images/ceremony-script-page1.png"
