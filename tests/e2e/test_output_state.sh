# The output directory's state can be trusted: one writer at a time, OUT
# checked before the key store is touched (as root and as an unprivileged
# user), renewals that never overwrite an archive, and tampering that the
# transcript and the audit find (a manifest swapped after a killed session, a
# stray file, an edited SHA256SUMS, a forged record appended to a valid
# chain). The crash-point binary holds a writer still in the middle of its
# run (MESHCA_PAUSE_AT) so that every pairing of writers is tested
# deterministically.
source "$(dirname "$0")/lib.sh"
use_crashpoint
export MESHCA_ROOT_PASS='e2e output state root' MESHCA_NEW_ROOT_PASS='e2e output state new root'

write_crl_and_rotation_plans "State Root" '  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes

# ---- 1. one writer per OUT: every pairing of the writing commands ------------
random_serial() { openssl rand -hex 8 | tr a-f A-F; }
writer_args() {  # writer_args NAME: the command line of one writer on out/
  case $1 in
    ceremony) echo "ceremony run plan.yaml --out out --yes --quiet" ;;
    renewal) echo "ceremony run plan.yaml --out out --yes --quiet --renew prod/west" ;;
    revoke) echo "revoke plan.yaml --out out --serial $(random_serial) --issuer prod/east --reason keyCompromise --yes" ;;
    refresh) echo "crl refresh plan.yaml --out out --yes" ;;
  esac
}
expected_command() {
  case $1 in ceremony | renewal) echo "meshca ceremony run" ;; revoke) echo "meshca revoke" ;; refresh) echo "meshca crl refresh" ;; esac
}
# hold NAME ARGS...: starts the crash-point binary paused before its first
# durable step (it holds the lock by then); sets HELD_PID.
hold() {
  local name=$1
  shift
  rm -f "$WORK/pause"
  MESHCA_PAUSE_AT=1 MESHCA_PAUSE_FILE="$WORK/pause" "$CP" "$@" >"held-$name.out" 2>&1 &
  HELD_PID=$!
  for _ in $(seq 1 600); do [ -e "$WORK/pause" ] && return 0; sleep 0.05; done
  cat "held-$name.out"
  fail "$name never reached its first durable step"
}
release() {  # release NAME: lets the held writer finish; it must succeed
  rm -f "$WORK/pause"
  wait "$HELD_PID" || { cat "held-$1.out"; fail "the held $1 did not finish"; }
  pass
}
writers=(ceremony renewal revoke refresh)
for a in "${writers[@]}"; do
  for b in "${writers[@]}"; do
    # shellcheck disable=SC2046
    hold "$a" $(writer_args "$a")
    # shellcheck disable=SC2046
    expect_exit 5 "$MESHCA" $(writer_args "$b")
    expect_in last.err "in use by pid $HELD_PID"
    expect_in last.err "$(expected_command "$a")"
    expect_in last.err "--wait"
    release "$a"
    expect_exit 0 "$MESHCA" audit out plan.yaml --quiet
  done
done
# A rotation reads out/ under a shared lock: no writer while it reads, and
# it waits for none; two rotations into one directory exclude each other.
hold ceremony ceremony run plan.yaml --out out --yes --quiet
expect_exit 5 "$MESHCA" rotate phases rot.yaml --out rot --yes --quiet
expect_in last.err "is being written by pid $HELD_PID"
release ceremony
hold rotation rotate phases rot.yaml --out rot --yes --quiet
expect_exit 5 "$MESHCA" crl refresh plan.yaml --out out --yes
expect_exit 5 "$MESHCA" rotate phases rot.yaml --out rot2 --yes --quiet
release rotation
expect_exit 0 "$MESHCA" audit rot rot.yaml --quiet
rm -rf rot keys/new.pem
# --wait: the second writer waits for the first, then both succeed.
hold ceremony ceremony run plan.yaml --out out --yes --quiet
"$MESHCA" crl refresh plan.yaml --out out --yes --wait >waited.out 2>&1 &
waiter=$!
for _ in $(seq 1 200); do grep -q "waiting for it to finish" waited.out && break; sleep 0.05; done
expect_in waited.out "in use by pid $HELD_PID"
kill -0 $waiter 2>/dev/null || fail "--wait did not wait"
release ceremony
wait $waiter || { cat waited.out; fail "the waiting writer failed"; }
expect_exit 0 "$MESHCA" audit out plan.yaml --quiet
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out

# ---- 2. OUT is checked before the key store is touched ----------------------
# refused DIR REASON [RUNNER...]: a first ceremony into DIR is refused with
# exit 5 and REASON, and no root key was generated.
refused() {
  local dir=$1 reason=$2
  shift 2
  rm -rf fresh-keys
  sed 's|keys/root.pem|fresh-keys/root.pem|' plan.yaml >fresh.yaml
  expect_exit 5 "$@" "$MESHCA" ceremony run fresh.yaml --out "$dir" --yes
  expect_in last.err "$reason"
  [ ! -e fresh-keys/root.pem ] || fail "$dir: a root key was generated before OUT was refused"
  pass
}
mkdir -m 0777 open && chmod 0777 open
refused open "chmod 700"
mkdir -m 0700 theirs && chown nobody theirs
refused theirs "is owned by nobody"
mkdir -p -m 0700 linked && ln -s "$WORK/out/root" linked/root
refused linked "linked/root: is a symbolic link"
mkdir -p -m 0700 filed && echo x >filed/prod
refused filed "filed/prod: must be a directory"
mkdir -p -m 0700 stray && echo x >stray/notes.txt
refused stray "stray/notes.txt: is not part of this plan's output"
ln -s out linked-out
refused linked-out "is a symbolic link"
# The same as an unprivileged user.
mkdir -m 0711 user && chown nobody user && chmod 0711 "$WORK"
cp plan.yaml user/plan.yaml && sed -i 's|keys/root.pem|keys/root.pem|' user/plan.yaml && chown nobody user/plan.yaml
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all env -C "$WORK/user" "$@"; }
mkdir -m 0777 user/open && chown nobody user/open && chmod 0777 user/open
mkdir -m 0700 user/roots
expect_exit 5 as_nobody "$MESHCA" ceremony run plan.yaml --out open --yes
expect_in last.err "chmod 700"
expect_exit 5 as_nobody "$MESHCA" ceremony run plan.yaml --out roots --yes
expect_in last.err "is owned by root"
[ ! -e user/keys ] || fail "an unprivileged run generated a root key for a refused OUT"
pass
expect_exit 0 as_nobody "$MESHCA" ceremony run plan.yaml --out mine --yes --quiet
[ "$(stat -c %U:%a user/mine)" = "nobody:700" ] || fail "an unprivileged OUT is not nobody's and 0700"
pass

# ---- 3. a renewal never overwrites an archive -------------------------------
east_serial=$(openssl x509 -in out/prod/east/ca-cert.pem -noout -serial | cut -d= -f2)
cp -a out out.before
mkdir -p -m 0700 "out/retired/prod/east/$east_serial"
echo "an earlier archive" >"out/retired/prod/east/$east_serial/note.txt"
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out --yes --renew prod/east
expect_in last.err "retired/prod/east/$east_serial: already exists"
cmp -s out/prod/east/ca-key.pem out.before/prod/east/ca-key.pem || fail "a refused renewal changed the bundle"
[ "$(cat "out/retired/prod/east/$east_serial/note.txt")" = "an earlier archive" ] || fail "the archive was changed"
pass
rm -rf out && mv out.before out

# ---- 4. tampering that the transcript and the audit find ---------------------
# A session killed after it published a new bundle but before it closed: the
# bundle is in no closing record. A manifest swapped into it is found by
# transcript verify, audit, and the next run (which never adopts it).
sed 's|clusters: \[{name: east}, {name: west}\]|clusters: [{name: east}, {name: west}, {name: north}]|' plan.yaml >grown.yaml
rm -f steps.log
cp -a out out.grow
MESHCA_STEP_LOG="$WORK/steps.log" "$CP" ceremony run grown.yaml --out out.grow --yes --quiet --jobs 1 >/dev/null
last_step=$(wc -l <steps.log)
rm -rf out.grow && cp -a out out.killed
rc=0
MESHCA_CRASH_AT=$last_step "$CP" ceremony run grown.yaml --out out.killed --yes --quiet --jobs 1 >/dev/null 2>&1 || rc=$?
[ $rc -eq 86 ] || fail "the grown ceremony was not stopped at its last step (exit $rc)"
[ -f out.killed/prod/north/cacerts.yaml ] || fail "the killed session had not published prod/north"
cp out.killed/prod/east/cacerts.yaml out.killed/prod/north/cacerts.yaml
expect_exit 1 "$MESHCA" transcript verify out.killed/transcript.jsonl --out out.killed
expect_in last.out "prod/north/ca-cert.pem: no closed session recorded this file"
expect_exit 1 "$MESHCA" audit out.killed grown.yaml
expect_in last.out "FAIL manifest prod/north: cacerts.yaml: does not hold this bundle's files"
expect_exit 5 "$MESHCA" ceremony run grown.yaml --out out.killed --yes
expect_in last.err "cacerts.yaml: does not hold this bundle's files"
# Untampered, the re-run adopts the killed session's bundle and records it.
rm -rf out.killed && cp -a out out.killed
MESHCA_CRASH_AT=$last_step "$CP" ceremony run grown.yaml --out out.killed --yes --quiet --jobs 1 >/dev/null 2>&1 || true
expect_exit 0 "$MESHCA" ceremony run grown.yaml --out out.killed --yes
expect_in last.out "kept    prod/north"
expect_exit 0 "$MESHCA" transcript verify out.killed/transcript.jsonl --out out.killed
expect_exit 0 "$MESHCA" audit out.killed grown.yaml
# A stray file: listed nowhere, found by all three.
cp -a out out.stray
echo "left behind" >out.stray/prod/east/notes.txt
expect_exit 1 "$MESHCA" transcript verify out.stray/transcript.jsonl --out out.stray
expect_in last.out "prod/east/notes.txt: no closed session recorded this file"
expect_exit 1 "$MESHCA" audit out.stray plan.yaml
expect_in last.out "FAIL stray prod/east/notes.txt"
expect_in last.out "FAIL checksums prod/east/notes.txt: is not listed in SHA256SUMS"
expect_exit 5 "$MESHCA" ceremony run plan.yaml --out out.stray --yes
expect_in last.err "notes.txt: is not a file of this cluster's layouts"
# SHA256SUMS that no longer matches the files.
cp -a out out.sums
sed -i '1s/^./0/' out.sums/SHA256SUMS
sed -i '1s/^0/1/' out.sums/SHA256SUMS
expect_exit 1 "$MESHCA" audit out.sums plan.yaml
expect_in last.out "differs from its SHA256SUMS entry"
# A forged record appended to a valid chain: only the head the witnesses
# wrote down exposes it.
head=$(tail -1 out/transcript.jsonl | tr -d '\n' | sha256sum | cut -c1-64)
expect_exit 0 "$MESHCA" transcript verify out/transcript.jsonl --out out --expect-head "$head"
expect_exit 0 "$MESHCA" audit out plan.yaml --expect-head "$head" --quiet
cp -a out out.forged
seq=$(($(wc -l <out.forged/transcript.jsonl) + 1))
printf '{"seq":%d,"time":"2026-12-03T00:00:00Z","step":"note","details":{"text":"forged"},"prev":"%s"}\n' "$seq" "$head" \
  >>out.forged/transcript.jsonl
expect_exit 0 "$MESHCA" transcript verify out.forged/transcript.jsonl --out out.forged
expect_exit 1 "$MESHCA" transcript verify out.forged/transcript.jsonl --out out.forged --expect-head "$head"
expect_in last.out "not at the expected head $head"
expect_exit 1 "$MESHCA" audit out.forged plan.yaml --expect-head "$head"
expect_in last.out "FAIL transcript-head"
finish
