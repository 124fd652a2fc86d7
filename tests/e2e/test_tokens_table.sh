# docs/tokens.md's compatibility table is exactly what the token tests
# (test_tokens_*.sh, a CTest fixture of this test) produced in this build, so
# the table cannot go stale.
source "$(dirname "$0")/lib.sh"
: "${MESHCA_TOKEN_RESULTS:?set MESHCA_TOKEN_RESULTS (where the token tests write their rows)}"
bash "$MESHCA_SOURCE_DIR/tests/tokens/render-table.sh" "$MESHCA_TOKEN_RESULTS" --check "$MESHCA_SOURCE_DIR/docs/tokens.md"
pass
finish
