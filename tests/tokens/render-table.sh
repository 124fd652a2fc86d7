#!/usr/bin/env bash
# Renders the compatibility table of docs/tokens.md from the rows the token
# tests wrote (RESULTS_DIR/<token>.tsv: token, version, algorithm, operation,
# result, caveat), between the BEGIN/END GENERATED TABLE markers.
#
#   tests/tokens/render-table.sh RESULTS_DIR --check docs/tokens.md   exit 1 and a diff when stale
#   tests/tokens/render-table.sh RESULTS_DIR --write docs/tokens.md   rewrite the table in place
#
# RESULTS_DIR is build/dev/token-results after `ctest --preset dev -R tokens`.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 RESULTS_DIR --check|--write DOC" >&2; exit 2; }
results=$1 mode=$2 doc=$3
order=(softhsm2 tpm2 opencryptoki nss nss-proxy)
begin='<!-- BEGIN GENERATED TABLE: tests/tokens/render-table.sh; do not edit by hand -->'
end='<!-- END GENERATED TABLE -->'

table() {
  echo "| Token | Version tested | Algorithm | Operation | Result | Caveat |"
  echo "|---|---|---|---|---|---|"
  local t
  for t in "${order[@]}"; do
    [ -s "$results/$t.tsv" ] || { echo "render-table: no results for $t in $results (run ctest --preset dev -R tokens)" >&2; exit 1; }
    awk -F'\t' '{ gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$results/$t.tsv"
  done
}

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc" || { echo "render-table: $doc lacks the table markers" >&2; exit 1; }
{
  sed "/^$(printf '%s' "$begin" | sed 's/[][\/.*^$]/\\&/g')\$/q" "$doc"
  table
  sed -n "/^$(printf '%s' "$end" | sed 's/[][\/.*^$]/\\&/g')\$/,\$p" "$doc"
} >"$rendered"

case $mode in
  --write) cat "$rendered" >"$doc" ;;
  --check)
    if ! diff -u "$doc" "$rendered"; then
      echo "render-table: the table in $doc differs from what the token tests produced; regenerate it with" >&2
      echo "  bash tests/tokens/render-table.sh $results --write $doc" >&2
      exit 1
    fi ;;
  *) echo "usage: $0 RESULTS_DIR --check|--write DOC" >&2; exit 2 ;;
esac
