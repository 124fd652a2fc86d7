# Real PKCS#11 tokens for the token tests (tests/e2e/test_tokens_*.sh):
# each start_* function starts one implementation in $WORK/<name>, records
# every daemon's PID and stops exactly those PIDs on exit. No mocks: the
# tokens are the Debian 12 packages a security team would use, and
# pkcs11-tool is the independent judge of what meshca generated.
#
# After start_<token>, these are set for exercise_token:
#   TOKEN_NAME     row name in the compatibility table ("TPM 2.0 (tpm2-pkcs11 on swtpm)")
#   TOKEN_VERSION  the Debian package version tested
#   MODULE         absolute module path;  INIT_ARGS  C_Initialize arguments ("" for none)
#   TOKEN          token label;            MESHCA_PIN the user PIN (env, never argv of meshca)
#   WRONG_PIN      a PIN of valid length that is not the user PIN
# Results go to $MESHCA_TOKEN_RESULTS/<id>.tsv (token, version, algorithm,
# operation, result, caveat), which tests/tokens/render-table.sh turns into
# the table in docs/tokens.md.
# Sourced after tests/e2e/lib.sh (WORK, MESHCA, fail, pass, expect_*).

# Under the asan preset: leaks inside third-party modules are suppressed
# (tests/tokens/lsan-modules.supp).
module_leaks_suppressed() {
  export LSAN_OPTIONS="suppressions=$MESHCA_SOURCE_DIR/tests/tokens/lsan-modules.supp:print_suppressions=0"
}

TOKEN_PIDS=()
TOKEN_RESTORE=()
token_cleanup() {
  local pid
  for pid in "${TOKEN_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${TOKEN_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  local cmd
  for cmd in "${TOKEN_RESTORE[@]}"; do eval "$cmd" || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap token_cleanup EXIT

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# A free TCP port pair (port, port+1) for swtpm.
free_port_pair() {
  local p
  for _ in $(seq 50); do
    p=$(( (RANDOM % 20000) + 20000 ))
    if ! ss -ltnH "( sport = :$p or sport = :$((p + 1)) )" | grep -q .; then echo "$p"; return; fi
  done
  fail "no free TCP port for swtpm"
}

start_softhsm() {
  TOKEN_ID=softhsm2 TOKEN_NAME="SoftHSM2" TOKEN_VERSION=$(pkg_version softhsm2)
  INIT_ARGS="" TOKEN=acme-root
  export WRONG_PIN=user-pin-0000
  softhsm_token "$TOKEN" user-pin-4821
}

# swtpm (TCP, random ports) + a private session D-Bus + tpm2-abrmd, then a
# tpm2_ptool store with one token.
start_tpm() {
  TOKEN_ID=tpm2 TOKEN_NAME="TPM 2.0 (tpm2-pkcs11 on swtpm)" TOKEN_VERSION="tpm2-pkcs11 $(pkg_version libtpm2-pkcs11-1), swtpm $(pkg_version swtpm)"
  MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so INIT_ARGS="" TOKEN=acme-root
  export MESHCA_PIN=userpin1234 WRONG_PIN=userpin0000
  module_leaks_suppressed
  local r=$WORK/tpm port
  mkdir -p "$r/state" "$r/store"
  swtpm_setup --tpm2 --tpmstate "$r/state" --createek --overwrite >"$r/setup.log" 2>&1 || { cat "$r/setup.log"; fail "swtpm_setup"; }
  for _ in 1 2 3; do
    port=$(free_port_pair)
    if swtpm socket --tpm2 --tpmstate dir="$r/state" --server type=tcp,port="$port",bindaddr=127.0.0.1 \
      --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
      --daemon --pid file="$r/swtpm.pid" 2>"$r/swtpm.log"; then break; fi
    port=""
  done
  [ -n "$port" ] || { cat "$r/swtpm.log"; fail "swtpm did not start"; }
  TOKEN_PIDS+=("$(cat "$r/swtpm.pid")")
  dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$r/dbus.info"
  TOKEN_PIDS+=("$(sed -n 2p "$r/dbus.info")")
  export DBUS_SESSION_BUS_ADDRESS
  DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p "$r/dbus.info")
  tpm2-abrmd --session --allow-root --tcti=swtpm:host=127.0.0.1,port="$port" >"$r/abrmd.log" 2>&1 &
  TOKEN_PIDS+=("$!")
  export TPM2TOOLS_TCTI=tabrmd:bus_type=session TPM2_PKCS11_TCTI=tabrmd:bus_type=session TPM2_PKCS11_STORE=$r/store
  export TSS2_LOG=all+NONE
  for _ in $(seq 100); do tpm2_getcap properties-fixed >/dev/null 2>&1 && break; sleep 0.1; done
  tpm2_dictionarylockout --setup-parameters --max-tries=32 --recovery-time=10 --lockout-recovery-time=10 >/dev/null
  tpm2_ptool init --path="$r/store" >/dev/null
  tpm2_ptool addtoken --pid=1 --label="$TOKEN" --sopin=sopin1234 --userpin="$MESHCA_PIN" --path="$r/store" >/dev/null
}

# openCryptoki's soft token (slot 3) under a private pkcsslotd. Its state
# lives in /var/lib/opencryptoki: saved here and put back on exit (the
# CTest RESOURCE_LOCK opencryptoki_state keeps two such tests apart).
start_opencryptoki() {
  TOKEN_ID=opencryptoki TOKEN_NAME="openCryptoki soft token" TOKEN_VERSION=$(pkg_version opencryptoki)
  MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so INIT_ARGS="" TOKEN=acme-root
  export MESHCA_PIN=user1234 WRONG_PIN=user0000
  # openCryptoki 3.8.1 leaks in its soft-token library (libpkcs11_sw.so), which
  # it dlcloses in C_Finalize: LeakSanitizer then cannot attribute the leak to
  # any module, so leak detection is off for this token only (ASan's other
  # checks stay on).
  export LSAN_OPTIONS=detect_leaks=0
  local r=$WORK/ock
  mkdir -p "$r"
  ! pgrep -x pkcsslotd >/dev/null || fail "a pkcsslotd is already running; the openCryptoki test needs its own"
  tar -C /var/lib -cpf "$r/state.tar" opencryptoki
  TOKEN_RESTORE+=("rm -rf /var/lib/opencryptoki && tar -C /var/lib -xpf '$r/state.tar'")
  rm -rf /var/lib/opencryptoki/swtok/TOK_OBJ/* /var/lib/opencryptoki/swtok/NVTOK.DAT /var/lib/opencryptoki/swtok/MK_*
  pkcsslotd -f >"$r/slotd.log" 2>&1 &
  TOKEN_PIDS+=("$!")
  for _ in $(seq 100); do [ -S /run/opencryptoki/pkcsslotd.socket ] && break; sleep 0.1; done
  echo "$TOKEN" | pkcsconf -I -c 3 -S 87654321 >"$r/conf.log" 2>&1 || { cat "$r/conf.log"; fail "pkcsconf -I"; }
  pkcsconf -P -c 3 -S 87654321 -n so123456 >>"$r/conf.log" 2>&1 || { cat "$r/conf.log"; fail "pkcsconf -P"; }
  pkcsconf -u -c 3 -S so123456 -n "$MESHCA_PIN" >>"$r/conf.log" 2>&1 || { cat "$r/conf.log"; fail "pkcsconf -u"; }
}

# NSS softokn with a fresh sql: database, loaded directly with init args.
# pkcs11-tool cannot pass init args, so the judge reaches the same database
# through p11-kit-proxy: a module file in /etc/pkcs11/modules (p11-kit ignores
# per-user configuration for root) carrying the same string, removed on exit.
start_nss() {
  TOKEN_ID=nss TOKEN_NAME="NSS softokn (direct, init_args)" TOKEN_VERSION=$(pkg_version libnss3)
  MODULE=/usr/lib/x86_64-linux-gnu/libsoftokn3.so TOKEN=nss-root
  export MESHCA_PIN=nss-user-4821 WRONG_PIN=nss-user-0000
  module_leaks_suppressed
  local db=$WORK/nssdb
  mkdir -p "$db"
  printf '%s\n' "$MESHCA_PIN" >"$WORK/nss.pw"
  certutil -N -d "sql:$db" -f "$WORK/nss.pw" >/dev/null
  rm -f "$WORK/nss.pw"
  INIT_ARGS="configdir='sql:$db' certPrefix='' keyPrefix='' secmod='secmod.db' flags=optimizeSpace dbTokenDescription='$TOKEN'"
  [ -d /etc/pkcs11/modules ] || { mkdir -p /etc/pkcs11/modules; TOKEN_RESTORE+=("rmdir /etc/pkcs11/modules /etc/pkcs11 2>/dev/null"); }
  # The other modules p11-kit registers (the TPM's among them) load through the proxy too; keep them quiet.
  export TSS2_LOG=all+NONE TPM2_PKCS11_LOG_LEVEL=0 TPM2_PKCS11_STORE=$WORK/tpm2-store-unused
  PROXY_CONF=/etc/pkcs11/modules/meshca-test-nss-$$.module
  TOKEN_RESTORE=("rm -f '$PROXY_CONF'" "${TOKEN_RESTORE[@]}")
  printf 'module: %s\nx-init-reserved: %s\ncritical: yes\n' "$MODULE" "$INIT_ARGS" >"$PROXY_CONF"
  JUDGE_MODULE=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
}

# The same NSS database, reached by meshca through p11-kit-proxy (no init args).
use_nss_proxy() {
  TOKEN_ID=nss-proxy TOKEN_NAME="NSS softokn (through p11-kit-proxy)"
  MODULE=$JUDGE_MODULE INIT_ARGS=""
}

# The lines of the pkcs11-tool object block of KIND ("Private Key Object")
# whose ID is ID_HEX, from pkcs11-tool --list-objects on stdin.
object_block() {  # object_block KIND ID_HEX
  awk -v kind="$1" -v id="$2" '
    /^[A-Z][a-z]+ (Key )?Object/ { if (match_ && block != "") printf "%s", block; block = ""; match_ = 0; in_kind = index($0, kind) == 1 }
    { if (in_kind) block = block $0 "\n" }
    in_kind && $1 == "ID:" && $2 == id { match_ = 1 }
    END { if (match_) printf "%s", block }'
}

# The module pkcs11-tool loads to judge the token (p11-kit-proxy for NSS).
tool_args() { echo --module "${JUDGE_MODULE:-$MODULE}" --token-label "$TOKEN"; }

record() {  # record ALGORITHM OPERATION RESULT [CAVEAT]
  mkdir -p "$MESHCA_TOKEN_RESULTS"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$TOKEN_NAME" "$TOKEN_VERSION" "$1" "$2" "$3" "${4:-}" >>"$RESULTS_FILE"
}

write_token_plan() {  # write_token_plan PATH ALGORITHM KEYREF_YAML [EXTRA_PKCS11_YAML]
  local init=""
  [ -z "$INIT_ARGS" ] || init=", init_args: \"$INIT_ARGS\""
  cat >"$1" <<PLAN
apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: tokens}
root:
  subject: {CN: Token Root $2, O: Token Corp}
  key:
    algorithm: $2
    store: pkcs11
    pkcs11: {module: $MODULE, token: $TOKEN, $3, pin: env:MESHCA_PIN$init${4:-}}
  validity: 10y
defaults:
  intermediate: {validity: 1y, name_constraints: trust_domain}
meshes:
  - name: prod
    trust_domain: prod.tokens.internal
    clusters: [{name: east}]
PLAN
}

# The private key signs and does nothing else (the public key may say more).
signing_only() { [[ $1 == sign || $1 == "sign (public key:"* ]]; }

init_flag() { [ -z "$INIT_ARGS" ] || printf '%s\n' --init-args "$INIT_ARGS"; }

# The usage of the private key with CKA_ID ID_HEX as pkcs11-tool reads it
# ("sign", or "decrypt, sign (public key: encrypt, verify)"), after checking
# that it is sensitive and never extractable.
key_usage_from_tool() {  # key_usage_from_tool ID_HEX
  local id=$1 usage
  # shellcheck disable=SC2046
  pkcs11-tool $(tool_args) --login --pin "$MESHCA_PIN" --list-objects >"$WORK/tool-all.txt" 2>&1 \
    || { cat "$WORK/tool-all.txt"; fail "pkcs11-tool could not list the objects"; }
  object_block "Private Key Object" "$id" <"$WORK/tool-all.txt" >"$WORK/tool.txt"
  grep -q "never extractable" "$WORK/tool.txt" || { cat "$WORK/tool-all.txt"; fail "$TOKEN_NAME: key $id is extractable or not listed"; }
  grep -q "Access:.*sensitive" "$WORK/tool.txt" || { cat "$WORK/tool.txt"; fail "$TOKEN_NAME: key $id is not sensitive"; }
  pass
  usage=$(sed -n 's/^ *Usage: *//p' "$WORK/tool.txt")
  object_block "Public Key Object" "$id" <"$WORK/tool-all.txt" | sed -n 's/^ *Usage: *//p' >"$WORK/pub.txt"
  if grep -Eq "encrypt|wrap" "$WORK/pub.txt"; then usage="$usage (public key: $(cat "$WORK/pub.txt"))"; fi
  echo "$usage"
}

# For each algorithm: the full cycle; for each unsupported one: the capability refusal.
#   exercise_token "SUPPORTED ALGS" "UNSUPPORTED ALGS"
exercise_token() {
  local supported=$1 unsupported=$2 alg usage caveat id flags
  RESULTS_FILE=$MESHCA_TOKEN_RESULTS/$TOKEN_ID.tsv
  mkdir -p "$MESHCA_TOKEN_RESULTS"
  : >"$RESULTS_FILE"
  mapfile -t flags < <(init_flag)

  expect_exit 0 "$MESHCA" hsm list --module "$MODULE" "${flags[@]}"
  expect_in last.out "sha256: "
  expect_in last.out "token '$TOKEN'"
  record "-" "hsm list" ok

  for alg in $supported; do
    # hsm keygen, then the key's attributes judged independently.
    expect_exit 0 "$MESHCA" hsm keygen --module "$MODULE" "${flags[@]}" --token "$TOKEN" --label "kg-$TOKEN_ID-$alg" \
      --algorithm "$alg" --pin-source env:MESHCA_PIN --json
    id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"]["id"])' last.out)
    usage=$(key_usage_from_tool "$id")
    caveat=""
    [ "$usage" = "sign" ] || caveat="usage: $usage"
    record "$alg" "hsm keygen" ok "$caveat"

    # A ceremony generating the key in the token (id-only reference), then a second run reusing it.
    id=c0$(printf '%s' "$TOKEN_ID-$alg" | sha256sum | cut -c1-8)
    write_token_plan "plan-$alg.yaml" "$alg" "id: \"$id\""
    expect_exit 0 "$MESHCA" plan validate "plan-$alg.yaml"
    expect_exit 0 "$MESHCA" ceremony run "plan-$alg.yaml" --out "out-$alg" --yes
    expect_in last.out "[generated in this run]"
    expect_in last.out "module sha256 "
    check_bundle "out-$alg/prod/east" prod.tokens.internal
    grep -q "module sha256 $(sha256sum "$(readlink -f "$MODULE")" | cut -d' ' -f1)" "out-$alg/transcript.jsonl" \
      || fail "$TOKEN_NAME: the transcript does not record the module's SHA-256"
    pass
    usage=$(key_usage_from_tool "$id")
    caveat=""
    [ "$usage" = "sign" ] || caveat="usage: $usage"
    record "$alg" "ceremony (key generated, id-only reference)" ok "$caveat"
    expect_exit 0 "$MESHCA" ceremony run "plan-$alg.yaml" --out "out-$alg" --yes
    expect_in last.out "1 kept"
    expect_not_in last.out "[generated in this run]"
    record "$alg" "ceremony (key reused)" ok

    # require: signing-only holds where the key is signing-only, and stops the ceremony where not.
    write_token_plan "strict-$alg.yaml" "$alg" "id: \"$id\"" ", require: signing-only"
    if signing_only "$usage"; then
      expect_exit 0 "$MESHCA" ceremony run "strict-$alg.yaml" --out "strict-$alg" --yes
      record "$alg" "require: signing-only" ok
    else
      expect_exit 4 "$MESHCA" ceremony run "strict-$alg.yaml" --out "strict-$alg" --yes
      expect_in last.err "not signing-only"
      [ ! -e "strict-$alg/root" ] || fail "$TOKEN_NAME: a certificate was written although the key is not signing-only"
      pass
      record "$alg" "require: signing-only" "refused (exit 4)" "usage: $usage"
    fi

    # A wrong PIN: exit 4, one attempt, no output.
    MESHCA_PIN=$WRONG_PIN expect_exit 4 "$MESHCA" ceremony run "plan-$alg.yaml" --out "wrong-$alg" --yes
    expect_in last.err "wrong user PIN"
    expect_not_in last.err "$WRONG_PIN"
    record "$alg" "wrong PIN" "refused (exit 4)"
  done

  for alg in $unsupported; do
    write_token_plan "plan-$alg.yaml" "$alg" "label: \"root-$alg\""
    expect_exit 4 "$MESHCA" ceremony run "plan-$alg.yaml" --out "out-$alg" --yes
    expect_in last.err "cannot"
    expect_in last.err "It supports:"
    expect_exit 4 "$MESHCA" hsm keygen --module "$MODULE" "${flags[@]}" --token "$TOKEN" --label "kg-$alg" \
      --algorithm "$alg" --pin-source env:MESHCA_PIN
    expect_in last.err "It supports:"
    record "$alg" "hsm keygen, ceremony" "refused (exit 4)" "$(grep -o 'its mechanism list has [^.]*' last.err | head -1)"
  done
}
