#!/usr/bin/env bash
# Creates an isolated SoftHSM2 token for tests and the demo.
#
#   SO_PIN=... USER_PIN=... scripts/softhsm-token.sh DIR LABEL
#
# Writes DIR/softhsm2.conf (tokens under DIR/tokens, file object store,
# log level ERROR), initializes a token labelled LABEL in the first free slot
# and prints `export SOFTHSM2_CONF=DIR/softhsm2.conf` for eval:
#
#   eval "$(SO_PIN=so-secret USER_PIN=1234 scripts/softhsm-token.sh /tmp/hsm acme-root)"
#
# The PINs come from the environment (SO_PIN, USER_PIN), never from this
# script's arguments. softhsm2-util itself only takes PINs as --so-pin/--pin
# arguments, so they are briefly visible in the process list while it runs:
# acceptable here, and only here, because this helper makes a throwaway token
# for tests and demos. A production token is initialized by its vendor tools
# with the PIN typed at a PIN pad or prompt.
set -euo pipefail

usage() {
  echo "usage: SO_PIN=... USER_PIN=... $0 DIR LABEL" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
dir=$1
label=$2
[[ -n "$label" ]] || usage
: "${SO_PIN:?set SO_PIN (security officer PIN of the new token)}"
: "${USER_PIN:?set USER_PIN (user PIN of the new token)}"

command -v softhsm2-util >/dev/null || { echo "softhsm2-util not found (apt-get install softhsm2)" >&2; exit 1; }

umask 077
mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
conf="$dir/softhsm2.conf"
cat >"$conf" <<CONF
# SoftHSM2 configuration for an isolated test/demo token (written by softhsm-token.sh)
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

SOFTHSM2_CONF="$conf" softhsm2-util --init-token --free --label "$label" \
  --so-pin "$SO_PIN" --pin "$USER_PIN" >/dev/null

printf 'export SOFTHSM2_CONF=%q\n' "$conf"
