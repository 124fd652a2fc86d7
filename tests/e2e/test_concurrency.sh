# Every concurrent path of a session driven by several threads at once
# (label concurrency; CI also runs it under ThreadSanitizer, the tsan preset,
# where any data race makes meshca exit non-zero and this test fail):
#   - a first ceremony of 15 clusters with --jobs 4: the worker pool issues
#     with per-worker copies of a file root key, the ledger is shared for the
#     CRLs, and the background publisher renames batches into place;
#   - a re-run with --jobs 4: the existing bundles are checked on the workers;
#   - a grown plan with --jobs 4 and three renewals: kept, renewed and new
#     bundles in one session;
#   - a root rotation with --jobs 4 (its own worker pool);
#   - a ceremony with the root inside a SoftHSM2 token and --jobs 4: one
#     token session, so signing is serialised between the workers.
# Every bundle is judged by the openssl CLI; the transcript and the audit by
# meshca itself.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e concurrency root' MESHCA_NEW_ROOT_PASS='e2e concurrency new root'

meshes() {  # meshes CLUSTERS_PER_MESH
  local names=(east west north south central edge1 edge2)
  for m in prod stage dev; do
    printf '  - name: %s\n    trust_domain: %s.e2e.internal\n    clusters: [' "$m" "$m"
    local sep=""
    for c in "${names[@]:0:$1}"; do printf '%s{name: %s}' "$sep" "$c"; sep=", "; done
    printf ']\n'
  done
}

check_all() {  # check_all OUT CLUSTERS_PER_MESH
  local names=(east west north south central edge1 edge2)
  for m in prod stage dev; do
    for c in "${names[@]:0:$2}"; do check_bundle "$1/$m/$c" "$m.e2e.internal"; done
  done
  (cd "$1" && sha256sum -c --quiet SHA256SUMS) || fail "$1/SHA256SUMS does not match"
  [ ! -e "$1/.meshca-tmp" ] || fail "the staging area of $1 was left behind"
  expect_exit 0 "$MESHCA" transcript verify "$1/transcript.jsonl" --out "$1"
}

serials() { for f in "$1"/*/*/ca-cert.pem; do openssl x509 -in "$f" -noout -serial; done | sort; }

# ---- a file root, 3 meshes x 5 clusters, CRLs -----------------------------
write_crl_plan plan.yaml keys/root.pem "Concurrency Root" "$(meshes 5)"
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --jobs 4
expect_in "$WORK/last.out" "15 bundles issued, 0 renewed, 0 kept"
check_all out 5
expect_exit 0 "$MESHCA" audit out plan.yaml
# Every bundle carries its own CRL and the root's, each under its issuer.
for d in out/*/*/; do
  d=${d%/}
  [ "$d" = out/root ] && continue
  openssl verify -crl_check_all -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" -CRLfile "$d/ca-crl.pem" \
    "$d/ca-cert.pem" >/dev/null || fail "the CRLs of $d do not verify"
done
pass
# 15 distinct serials: no two workers issued the same certificate.
[ "$(serials out | uniq | wc -l)" -eq 15 ] || fail "serials are not distinct"
pass

# ---- a re-run keeps everything byte for byte ------------------------------
cp -a out out.first
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes --jobs 4
expect_in "$WORK/last.out" "0 bundles issued, 0 renewed, 15 kept"
for d in out.first/*/*/; do
  d=${d%/}
  [ "$d" = out.first/root ] && continue
  cmp -s "$d/ca-cert.pem" "out/${d#out.first/}/ca-cert.pem" || fail "the re-run changed ${d#out.first/}"
done
pass

# ---- grown plan: kept, renewed and new in one session ---------------------
write_crl_plan grown.yaml keys/root.pem "Concurrency Root" "$(meshes 7)"
expect_exit 0 "$MESHCA" ceremony run grown.yaml --out out --yes --jobs 4 --renew prod/east --renew stage/west --renew dev/north
expect_in "$WORK/last.out" "6 bundles issued, 3 renewed, 12 kept"
check_all out 7
expect_exit 0 "$MESHCA" audit out grown.yaml
for r in prod/east stage/west dev/north; do
  cmp -s "out/$r/ca-cert.pem" "out.first/$r/ca-cert.pem" && fail "$r was not renewed"
done
cmp -s out/prod/west/ca-cert.pem out.first/prod/west/ca-cert.pem || fail "prod/west was not kept"
pass

# ---- root rotation on 4 workers -------------------------------------------
cp grown.yaml rot.yaml
append_rotation rot.yaml out keys/new.pem "Concurrency Root 2" false
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes --jobs 4
(cd rot && sha256sum -c --quiet SHA256SUMS) || fail "rot/SHA256SUMS does not match"
expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
for m in prod stage dev; do
  for c in east west north south central edge1 edge2; do
    d=rot/phase-2/$m/$c
    openssl verify -x509_strict -CAfile rot/root/root-cert.pem "$d/ca-cert.pem" >/dev/null || fail "$d is not issued by the new root"
    openssl verify -x509_strict -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$d/ca-cert.pem" >/dev/null || fail "$d"
  done
done
pass

# ---- a token root: one session, signing serialised between the workers ----
softhsm_token e2e-conc
write_token_plan hsm.yaml "HSM Concurrency Root" ecdsa-p256 root "$(meshes 3)"
expect_exit 0 "$MESHCA" ceremony run hsm.yaml --out hsm-out --yes --jobs 4
expect_in "$WORK/last.out" "9 bundles issued, 0 renewed, 0 kept"
check_all hsm-out 3
[ "$(serials hsm-out | uniq | wc -l)" -eq 9 ] || fail "serials of the token ceremony are not distinct"
pass
finish
