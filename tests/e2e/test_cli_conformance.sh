# CLI conformance: walks every command and subcommand the way the man page
# generator does (scripts/make-manpage.sh: `meshca --help`, then each group's
# --help) and checks, for each one:
#   - --help exits 0 and shows a usage line, and an example;
#   - a missing argument exits 2 and repeats the usage line, naming the
#     argument the way the usage line does (PLAN, not --plan);
#   - no message names an option the command does not accept (its --help
#     table), whatever the mistake: missing arguments, unknown options,
#     secrets on the command line.
source "$(dirname "$0")/lib.sh"

groups=$("$MESHCA" --help | awk '/^commands:/ {on=1; next} /^$/ {on=0} on && /^  [a-z]/ {print $1}' | sort -u)
[ -n "$groups" ] || fail "meshca --help lists no commands"
subcommands() { "$MESHCA" "$1" --help 2>/dev/null | awk '/^(sub)?commands:/ {on=1; next} /^$/ {on=0} on && /^  [a-z]/ && $1 ~ /^[a-z-]+$/ {print $1}' | sort -u; }

# violation LEAF CHECK MESSAGE: a conformance failure.
violation() { fail "$3 ($1/$2)"; }

# Every --option a message names must be in the command's option table, or
# be one the user typed (the message is refusing it).
check_named_options() {  # check_named_options ACCEPTED_FILE MESSAGE_FILE TYPED...
  local accepted=$1 messages=$2; shift 2
  local opt
  for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$messages" | sort -u); do
    case " $* " in *" $opt "* | *" $opt="*) continue ;; esac
    grep -qxF -- "$opt" "$accepted" || { cat "$messages" >&2; fail "message names $opt, which '$CMD' does not accept"; }
  done
  pass
}

expect_exit 2 "$MESHCA"
expect_in last.err "usage: meshca"
leaves=()
for g in $groups; do
  subs=$(subcommands "$g")
  if [ -n "$subs" ]; then
    expect_exit 0 "$MESHCA" "$g" --help
    expect_exit 2 "$MESHCA" "$g"
    grep -q "usage: meshca" last.out last.err || fail "'meshca $g' without a subcommand does not show the usage"
    pass
    for s in $subs; do leaves+=("$g:$s"); done
  else
    leaves+=("$g")
  fi
done
[ "${#leaves[@]}" -ge 15 ] || fail "only ${#leaves[@]} commands found: ${leaves[*]}"

for leaf in "${leaves[@]}"; do
  read -r -a cmd <<<"${leaf/:/ }"
  CMD="meshca ${cmd[*]}"
  # --help: exit 0, usage line, example.
  expect_exit 0 "$MESHCA" "${cmd[@]}" --help
  cp last.out help.txt
  expect_in help.txt "usage: $CMD"
  if grep -qi "^example" help.txt; then pass; else violation "$leaf" example "$CMD --help has no example"; fi
  { grep -oE -- '--[a-z][a-z0-9-]*' help.txt; echo --help; echo --version; } | sort -u >accepted.txt

  # A missing argument: exit 2, the usage line, no internal option name.
  got=0
  "$MESHCA" "${cmd[@]}" >last.out 2>last.err </dev/null || got=$?
  if [ "$leaf" = plan:init ]; then
    [ "$got" -eq 0 ] || fail "$CMD takes no argument yet failed ($got)"
  else
    [ "$got" -eq 2 ] || { cat last.err >&2; fail "$CMD without arguments: expected exit 2, got $got"; }
    usage=$(grep -m1 '^usage: ' help.txt)
    if grep -qF -- "$usage" last.err && grep -q "missing " last.err; then
      pass
    else
      violation "$leaf" usage "$CMD without arguments does not say 'missing ...' and repeat '$usage': $(head -1 last.err)"
    fi
    check_named_options accepted.txt last.err
  fi

  # Other mistakes: the hints must still fit this command.
  for mistake in "--bogus-option" "--passphrase hunter2" "--pin=1234" "pkcs11:token=t;pin-value=1234"; do
    read -r -a extra <<<"$mistake"
    got=0
    "$MESHCA" "${cmd[@]}" "${extra[@]}" >last.out 2>last.err </dev/null || got=$?
    [ "$got" -eq 2 ] || { cat last.err >&2; fail "$CMD $mistake: expected exit 2, got $got"; }
    expect_not_in last.err "hunter2"
    expect_not_in last.err "1234"
    check_named_options accepted.txt last.err "${extra[@]}"
  done
done
# Messages from the libraries reach the user through a command too: a plan
# whose PKCS#11 URI carries a PIN (the hint must name the plan's pin field,
# not the hsm commands' --pin-source).
cat >uri-pin.yaml <<'PLAN'
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: conformance}
root:
  subject: {CN: Conformance Root, C: US}
  key:
    algorithm: ecdsa-p384
    store: pkcs11
    pkcs11: {uri: "pkcs11:token=acme-root;object=root-key?pin-value=123456&module-path=/usr/lib/softhsm/libsofthsm2.so"}
  validity: 10y
meshes:
  - {name: prod, trust_domain: prod.example, clusters: [{name: east}]}
PLAN
for leaf in plan:validate ceremony:run; do
  read -r -a cmd <<<"${leaf/:/ }"
  CMD="meshca ${cmd[*]}"
  "$MESHCA" "${cmd[@]}" --help >help.txt
  { grep -oE -- '--[a-z][a-z0-9-]*' help.txt; echo --help; echo --version; } | sort -u >accepted.txt
  args=(uri-pin.yaml)
  [ "$leaf" = ceremony:run ] && args+=(--out out --yes)
  expect_exit 3 "$MESHCA" "${cmd[@]}" "${args[@]}"
  expect_not_in last.err "123456"
  bad=$(grep -oE -- '--[a-z][a-z0-9-]*' last.err | sort -u | grep -vxF -f accepted.txt || true)
  if [ -z "$bad" ]; then pass; else violation "$leaf" uri-pin-hint "$CMD on a URI with pin-value names $bad, which it does not accept"; fi
done

echo "walked ${#leaves[@]} commands: ${leaves[*]}"
finish
