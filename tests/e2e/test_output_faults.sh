# Resource faults while a ceremony writes its output: read-only output
# directory, file size limit, missing or unwritable parent, an output path
# that is a file, symlinks planted in the output, too few file descriptors,
# a full disk. Each must end with exit 5 naming the path and the reason, no
# partial bundle directory visible, no key file outside the private staging
# area, the root key untouched, and a re-run after the cause is fixed must
# complete with every bundle valid (openssl verify -x509_strict).
# Read-only and full-disk cases need mount(2) (tests run as root); they are
# skipped with the reason when mounting is not permitted.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='output faults root passphrase'
TIMEOUT=${MESHCA_FAULT_TIMEOUT:-300}

MOUNTS=()
cleanup() {
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT


MESHES="  - name: prod
    trust_domain: prod.example
    clusters: [{name: c1}, {name: c2}, {name: c3}]"
write_file_plan plan.yaml keys/root-key.pem "Faults Root" "$MESHES"
CLUSTERS=(c1 c2 c3)

# The first ceremony creates the root key; every later run must only read it.
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out first --yes
KEY_SHA=$(sha256sum <keys/root-key.pem)
key_untouched() { [ "$(sha256sum <keys/root-key.pem)" = "$KEY_SHA" ] || fail "the root key file changed"; pass; }

# starved_vptr_report ERR: every sanitizer report in ERR is the runtime's own
# false vptr report. Out of file descriptors, UBSan's vptr check cannot probe
# the vtable (the probe needs a pipe) and reports a mismatch; it then either
# cannot print the memory either, or (another thread has freed a descriptor
# meanwhile) prints as the object's dynamic type the very class it checked
# for. Any other report, or a vptr report naming two different classes, is real.
starved_vptr_report() {
  local err=$1 reports vptr line static dynamic
  grep -qaE "AddressSanitizer|LeakSanitizer" "$err" && return 1
  reports=$(grep -caF "runtime error:" "$err")
  vptr=$(grep -caE "runtime error: .* which does not point to an object of type" "$err")
  [ "$reports" -ge 1 ] && [ "$reports" = "$vptr" ] || return 1
  grep -qF "<memory cannot be printed>" "$err" && return 0
  # The class template each side names (template arguments differ only in how
  # the compiler spells a lambda), paired report by report.
  while IFS= read -r line; do
    case "$line" in
      *"runtime error: "*"object of type '"*) static=${line#*object of type \'}; static=${static%%[<\']*} ;;
      *"note: object is of type '"*)
        dynamic=${line#*object is of type \'}; dynamic=${dynamic%%[<\']*}
        [ -n "${static:-}" ] && [ "$static" = "$dynamic" ] || return 1
        static= ;;
    esac
  done <"$err"
  [ -z "${static:-}" ]
}

# run_meshca OUT [PREFIX...]: a ceremony into OUT, stdout/stderr in last.*; sets RC.
run_meshca() {
  local out=$1; shift
  RC=0
  timeout "$TIMEOUT" "$@" "$MESHCA" ceremony run plan.yaml --out "$out" --yes >"$WORK/last.out" 2>"$WORK/last.err" </dev/null || RC=$?
  [ "$RC" -ne 124 ] || fail "ceremony into $out hung"
  if grep -qaE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/last.err"; then
    if [ -n "${FD_STARVED:-}" ] && starved_vptr_report "$WORK/last.err"; then
      echo "NOTE: $out: the sanitizer runtime ran out of file descriptors (its own false report); run inconclusive"
      RC=sanitizer-starved
      return
    fi
    cat "$WORK/last.err" >&2; fail "sanitizer report for $out"
  fi
}

# no_partial OUT: every cluster directory present is a complete, valid
# bundle; no staged files remain; no key file outside complete bundles.
no_partial() {
  local out=$1 d
  [ -d "$out" ] || { pass; return; }
  for d in "$out"/*/*/; do
    [ -d "$d" ] || continue
    d=${d%/}
    [ ! -L "$d" ] || continue  # a planted symlink, checked by its own case
    case "$d" in "$out/root/"* | "$out/$STAGING/"*) continue ;; esac
    check_bundle "$d" prod.example
  done
  if [ -d "$out/.meshca-tmp" ] && [ -n "$(ls -A "$out/.meshca-tmp")" ]; then
    # Out of file descriptors even the cleanup (remove_all) can fail: what
    # is left must stay in the private area, and the next run removes it.
    [ -n "${FD_STARVED:-}" ] || fail "$out/.meshca-tmp still holds $(ls -A "$out/.meshca-tmp" | head -3 | tr '\n' ' ')after a refused run"
    [ "$(stat -c %a "$out/.meshca-tmp")" = 700 ] || fail "$out/.meshca-tmp is not private (0700)"
    echo "NOTE: $out: staged files left in $out/.meshca-tmp (0700) after running out of descriptors; the re-run must clean them"
  fi
  local stray
  stray=$(find "$out" -name 'ca-key.pem' -not -path "$out/.meshca-tmp/*" | while read -r k; do
    [ -f "$(dirname "$k")/cacerts.yaml" ] || echo "$k"; done)
  [ -z "$stray" ] || fail "stray key files in $out: $stray"
  pass
}
STAGING=.meshca-tmp

# expect_fault OUT PATH REASON: the last run ended with exit 5 and
# a message naming PATH and REASON, and left nothing partial behind.
expect_fault() {
  local out=$1 path=$2 reason=$3
  local why=""
  [ "$RC" -lt 128 ] || why="died by signal $((RC - 128))"
  [ -n "$why" ] || [ "$RC" -eq 5 ] || why="exit $RC, expected 5"
  [ -n "$why" ] || grep -qF -- "$path" "$WORK/last.err" || why="message does not name $path"
  [ -n "$why" ] || grep -qF -- "$reason" "$WORK/last.err" || why="message does not give the reason '$reason'"
  if [ -n "$why" ]; then
    cat "$WORK/last.err" >&2
    fail "$out: $why"
  else
    pass
  fi
  no_partial "$out"
  key_untouched
}

# rerun_ok OUT: after the cause is fixed the ceremony completes and every
# bundle is valid.
rerun_ok() {
  local out=$1 c
  run_meshca "$out"
  [ "$RC" -eq 0 ] || { cat "$WORK/last.err" >&2; fail "re-run into $out: exit $RC"; }
  for c in "${CLUSTERS[@]}"; do check_bundle "$out/prod/$c" prod.example; done
  [ ! -d "$out/.meshca-tmp" ] || [ -z "$(ls -A "$out/.meshca-tmp")" ] || fail "$out/.meshca-tmp not cleaned by the re-run"
  (cd "$out" && sha256sum -c --quiet SHA256SUMS) || fail "$out/SHA256SUMS does not match"
  expect_exit 0 "$MESHCA" transcript verify "$out/transcript.jsonl"
  key_untouched
}

CAN_MOUNT=""
mkdir -p "$WORK/mount-probe"
if mount -t tmpfs -o size=64k tmpfs "$WORK/mount-probe" 2>"$WORK/mount.err"; then
  umount "$WORK/mount-probe"
  CAN_MOUNT=1
else
  echo "SKIP read-only and full-disk cases: mount is not permitted here ($(head -1 "$WORK/mount.err"))"
fi

# ---- 1. A read-only output directory, and a read-only parent of a missing one.
if [ -n "$CAN_MOUNT" ]; then
  mkdir -p ro-src ro
  mount --bind ro-src ro && MOUNTS+=("$WORK/ro") && mount -o remount,bind,ro ro
  touch ro/probe 2>/dev/null && fail "the read-only bind mount is writable"
  run_meshca ro
  expect_fault ro "ro/.meshca-lock" "Read-only file system"
  [ -z "$(ls -A ro-src)" ] || fail "a read-only output directory got files: $(ls -A ro-src)"
  run_meshca ro/sub/out
  expect_fault ro/sub/out "ro/sub" "Read-only file system"
  mount -o remount,bind,rw ro
  rerun_ok ro
  rerun_ok ro/sub/out
fi

# ---- 2. A file size limit (RLIMIT_FSIZE): the ceremony must end with exit 5,
# not die by SIGXFSZ.
for limit in 3000 1500; do
  out=fsize-$limit
  run_meshca "$out" prlimit --fsize="$limit"
  [ "$RC" -ne $((128 + 25)) ] || fail "$out: meshca died by SIGXFSZ under RLIMIT_FSIZE=$limit instead of exiting 5"
  expect_fault "$out" "$out/" "File too large"
  if ! (cd "$WORK" && run_meshca "$out" && [ "$RC" -eq 0 ]); then
    cat "$WORK/last.err" >&2; fail "re-run into $out after lifting the size limit: exit $RC"
  fi
  rerun_ok "$out"
done

# ---- 3. A missing parent directory is created (0700); an output path that is a file is refused.
run_meshca missing/parent/out
[ "$RC" -eq 0 ] || { cat "$WORK/last.err" >&2; fail "missing parents: exit $RC"; }
[ "$(stat -c %a missing/parent)" = 700 ] || fail "a created parent directory is not 0700"
for c in "${CLUSTERS[@]}"; do check_bundle "missing/parent/out/prod/$c" prod.example; done
echo "not a directory" >is-a-file
run_meshca is-a-file
expect_fault is-a-file "is-a-file" "not a directory"
[ "$(cat is-a-file)" = "not a directory" ] || fail "the file given as --out was changed"
rm is-a-file
rerun_ok is-a-file

# ---- 4. Symlinks planted in the output are refused before anything is read,
# cleaned or written (and before the key store is opened).
mkdir -p attacker
attacker_empty() { [ -z "$(ls -A attacker)" ] || fail "$1: meshca wrote through a symlink: $(ls -A attacker)"; pass; }
# at a cluster's bundle directory
mkdir -p sl-cluster/prod && ln -s ../../attacker sl-cluster/prod/c1
run_meshca sl-cluster
expect_fault sl-cluster "sl-cluster/prod/c1" "is a symbolic link"
attacker_empty "bundle directory symlink"
rm sl-cluster/prod/c1 && rerun_ok sl-cluster
[ ! -L sl-cluster/prod/c1 ] || fail "sl-cluster/prod/c1 is still a symlink"
# at a mesh directory
mkdir -p sl-mesh && ln -s ../attacker sl-mesh/prod
run_meshca sl-mesh
expect_fault sl-mesh "sl-mesh/prod" "is a symbolic link"
attacker_empty "mesh directory symlink"
rm sl-mesh/prod && rerun_ok sl-mesh
# at root/root-cert.pem (dangling, pointing outside)
mkdir -p sl-root/root && ln -s ../../attacker/evil.pem sl-root/root/root-cert.pem
run_meshca sl-root
expect_fault sl-root "sl-root/root/root-cert.pem" "is a symbolic link"
attacker_empty "root-cert.pem symlink"
rm sl-root/root/root-cert.pem && rerun_ok sl-root
# at the private staging area
mkdir -p sl-staging && ln -s ../attacker sl-staging/.meshca-tmp
run_meshca sl-staging
expect_fault sl-staging "sl-staging/.meshca-tmp" "is a symbolic link"
attacker_empty "staging area symlink"
rm sl-staging/.meshca-tmp && rerun_ok sl-staging
# at the transcript
mkdir -p sl-transcript && ln -s ../attacker/transcript.jsonl sl-transcript/transcript.jsonl
run_meshca sl-transcript
expect_fault sl-transcript "sl-transcript/transcript.jsonl" "is a symbolic link"
attacker_empty "transcript symlink"
rm sl-transcript/transcript.jsonl && rerun_ok sl-transcript
# the output directory itself
ln -s attacker sl-out
run_meshca sl-out
expect_fault sl-out "sl-out" "is a symbolic link"
attacker_empty "output directory symlink"

# ---- 5. Too few file descriptors: whichever open fails, a clean exit naming it.
for n in 5 6 7 8 10 12; do
  out=nofile-$n
  FD_STARVED=1 run_meshca "$out" bash -c 'ulimit -n "$1"; shift; exec "$@"' nofile "$n"
  export FD_STARVED=1
  case $RC in
    0 | sanitizer-starved) no_partial "$out" ;;
    4) expect_in "$WORK/last.err" "keys/root-key.pem"; expect_in "$WORK/last.err" "Too many open files"; key_untouched ;;
    *) expect_fault "$out" "$out" "Too many open files" ;;
  esac
  unset FD_STARVED
  rerun_ok "$out"
done

# ---- 6. A full disk: a 64 KiB tmpfs for the output of a 40-cluster plan.
if [ -n "$CAN_MOUNT" ]; then
  MANY=$(for i in $(seq 1 40); do printf '{name: c%d}, ' "$i"; done)
  write_file_plan plan.yaml keys/root-key.pem "Faults Root" "  - name: prod
    trust_domain: prod.example
    clusters: [${MANY%, }]"
  mapfile -t CLUSTERS < <(seq -f 'c%g' 1 40)
  mkdir -p full
  mount -t tmpfs -o size=64k,mode=0700 tmpfs full && MOUNTS+=("$WORK/full")
  run_meshca full/out
  expect_fault full/out "full/out/" "No space left on device"
  mount -o remount,size=32m full
  rerun_ok full/out
fi

finish
