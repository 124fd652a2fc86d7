# Root rotation (meshca rotate phases): Istio's three-phase multi-root
# procedure. For every phase each bundle passes `openssl verify -x509_strict`;
# workloads of clusters in adjacent phases complete mutual TLS with the
# openssl CLI in both directions; phase 3 and phase 0 (the current output)
# refuse each other. With cross_sign, a phase-0 peer also accepts phase 2.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e rotation current root' MESHCA_NEW_ROOT_PASS='e2e rotation new root'

MESH='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'

# rotation_plan CURRENT_PLAN OUT_PLAN CURRENT_OUT NEW_KEY CROSS_SIGN
rotation_plan() {
  cp "$1" "$2"
  append_rotation "$2" "$3" "$4" "Fleet Root 2031" "$5"
}

subjects() { openssl crl2pkcs7 -nocrl -certfile "$1" | openssl pkcs7 -print_certs -noout | sed -n 's/^subject=.*CN = //p' | paste -sd, -; }

# ---- with cross-signing: the current root has pathLen 2 -------------------
write_file_plan cur.yaml keys/root.pem "Fleet Root 2026" "$MESH"
sed -i '0,/  validity: 10y/s//  validity: 10y\n  path_len: 2/' cur.yaml
expect_exit 0 "$MESHCA" ceremony run cur.yaml --out out --yes
rotation_plan cur.yaml rot.yaml out keys/new.pem true
expect_exit 0 "$MESHCA" plan validate rot.yaml
expect_exit 0 "$MESHCA" plan show rot.yaml
expect_in "$WORK/last.out" "ISTIO_MULTIROOT_MESH=true"
expect_in "$WORK/last.out" "Phase 3: retire the old root"
cp -a out out.before
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --yes
expect_in "$WORK/last.out" "phase 0  x  phase 3: refuse each other"
diff -r out out.before >/dev/null || fail "the rotation changed the current output"
pass
[ ! -e .meshca-tmp ] || fail "the staging area was left behind"
[ -f rot/PHASES.md ] && [ -f rot/root/cross-signed-root-cert.pem ] || fail "PHASES.md or the cross-signed root is missing"
(cd rot && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match"
expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
expect_exit 0 "$MESHCA" audit rot rot.yaml
expect_in "$WORK/last.out" "PASS cross-sign cross-signed root"
expect_in "$WORK/last.out" "PASS trusted-roots phase-3/prod/west"
pass

# The cross-signed certificate: the new root's name and key, issued by the old root.
openssl verify -x509_strict -CAfile out/root/root-cert.pem rot/root/cross-signed-root-cert.pem >/dev/null \
  || fail "the cross-signed root does not verify under the current root"
cmp -s <(openssl x509 -in rot/root/cross-signed-root-cert.pem -noout -pubkey) <(openssl x509 -in rot/root/root-cert.pem -noout -pubkey) \
  || fail "the cross-signed certificate does not carry the new root's key"
pass

for c in east west; do
  # Phase 1: the current intermediate, both roots (current first).
  check_bundle rot/phase-1/prod/$c prod.e2e.internal
  cmp -s rot/phase-1/prod/$c/ca-cert.pem out/prod/$c/ca-cert.pem || fail "phase 1 changed the intermediate of $c"
  cmp -s rot/phase-1/prod/$c/ca-key.pem out/prod/$c/ca-key.pem || fail "phase 1 changed the key of $c"
  [ "$(subjects rot/phase-1/prod/$c/root-cert.pem)" = "Fleet Root 2026,Fleet Root 2031" ] || fail "phase 1 roots of $c"
  # Phase 2: a new intermediate under the new root, chain through the cross-signed root.
  d=rot/phase-2/prod/$c
  openssl verify -x509_strict -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem $d/ca-cert.pem >/dev/null || fail "phase 2 $c"
  openssl verify -x509_strict -CAfile rot/root/root-cert.pem $d/ca-cert.pem >/dev/null || fail "phase 2 $c is not issued by the new root"
  [ "$(subjects $d/cert-chain.pem)" = "$c Intermediate CA,Fleet Root 2031,Fleet Root 2026" ] || fail "phase 2 chain of $c: $(subjects $d/cert-chain.pem)"
  [ "$(subjects $d/root-cert.pem)" = "Fleet Root 2031,Fleet Root 2026" ] || fail "phase 2 roots of $c"
  [ "$(stat -c %a $d/ca-key.pem)" = 600 ] || fail "$d/ca-key.pem is not 0600"
  cmp -s $d/ca-key.pem out/prod/$c/ca-key.pem && fail "phase 2 reused the old key of $c"
  # Phase 3: the phase-2 intermediate and key, the new root only.
  check_bundle rot/phase-3/prod/$c prod.e2e.internal
  cmp -s rot/phase-3/prod/$c/ca-cert.pem $d/ca-cert.pem || fail "phase 3 changed the intermediate of $c"
  cmp -s rot/phase-3/prod/$c/ca-key.pem $d/ca-key.pem || fail "phase 3 changed the key of $c"
  [ "$(subjects rot/phase-3/prod/$c/root-cert.pem)" = "Fleet Root 2031" ] || fail "phase 3 roots of $c"
  pass
done

# meshca verify on adjacent phases reports mutual trust.
expect_exit 0 "$MESHCA" verify rot/phase-1/prod/east rot/phase-2/prod/west
expect_in "$WORK/last.out" "rot/phase-1/prod/east <-> rot/phase-2/prod/west: mutual trust"
# Phases 0 and 3 claim one trust domain and share no root: a failure, which
# is why a rotation never runs them side by side.
expect_exit 1 "$MESHCA" verify out/prod/east rot/phase-3/prod/west
expect_in "$WORK/last.out" "out/prod/east  x  rot/phase-3/prod/west: FAIL cannot talk"

# Mutual TLS between workloads of clusters in phases A and B, both directions.
dir_of() { [ "$1" = 0 ] && echo out || echo "rot/phase-$1"; }
for p in 0 1 2 3; do
  issue_workload "$(dir_of $p)/prod/east" "server$p" server
  issue_workload "$(dir_of $p)/prod/west" "client$p" client
done
expect_mtls() {  # expect_mtls PHASE_A PHASE_B ok|refused
  local a b
  for pair in "$1 $2" "$2 $1"; do
    read -r a b <<<"$pair"
    phase_handshake "$(dir_of $a)/prod/east" "server$a" "$(dir_of $b)/prod/west" "client$b" "$3" "phase $a server, phase $b client"
  done
}
expect_mtls 0 1 ok
expect_mtls 1 2 ok
expect_mtls 2 3 ok
expect_mtls 0 2 ok        # the cross-signed root at work
expect_mtls 0 3 refused

# The auditor notices a phase that trusts the wrong roots.
cp -a rot tampered
cp tampered/phase-2/prod/east/root-cert.pem tampered/phase-3/prod/east/root-cert.pem
expect_exit 1 "$MESHCA" audit tampered rot.yaml
expect_in "$WORK/last.out" "FAIL trusted-roots phase-3/prod/east: root-cert.pem does not hold the roots this phase must trust"

# ---- refusals: nothing written, distinct exit codes -----------------------
expect_exit 5 "$MESHCA" rotate phases rot.yaml --out rot --yes
expect_in "$WORK/last.err" "is not an empty directory"
expect_exit 3 "$MESHCA" rotate phases cur.yaml --out rot2 --yes
expect_in "$WORK/last.err" "the plan has no rotation section"
sed 's|^  current_output: out$|  current_output: out\n  current_root_sha256: "'"$(printf '%064d' 0)"'"|' rot.yaml >pinned.yaml
expect_exit 3 "$MESHCA" rotate phases pinned.yaml --out rot2 --yes
expect_in "$WORK/last.err" "not the root the plan pins"
mv out/prod/west out-west
expect_exit 3 "$MESHCA" rotate phases rot.yaml --out rot2 --yes
expect_in "$WORK/last.err" "missing from the current output"
mv out-west out/prod/west
[ ! -e rot2 ] && [ ! -e .meshca-tmp ] || fail "a refused rotation left files behind"
pass

# ---- without cross-signing: any root; phase 0 and phase 2 cannot talk -----
write_file_plan cur1.yaml keys/root1.pem "Fleet Root 2026" "$MESH"
expect_exit 0 "$MESHCA" ceremony run cur1.yaml --out out1 --yes
rotation_plan cur1.yaml bad.yaml out1 keys/new1.pem true
expect_exit 3 "$MESHCA" plan validate bad.yaml
expect_in "$WORK/last.err" "rotation.cross_sign: needs the current root's pathLen to be 2 or more"
rotation_plan cur1.yaml rot1.yaml out1 keys/new1.pem false
expect_exit 0 "$MESHCA" rotate phases rot1.yaml --out r1 --yes --jobs 2
for p in 1 2 3; do for c in east west; do check_bundle r1/phase-$p/prod/$c prod.e2e.internal; done; done
[ ! -e r1/root/cross-signed-root-cert.pem ] || fail "cross-signed root written without cross_sign"
issue_workload out1/prod/east s0 server
issue_workload r1/phase-2/prod/west c2 client
if handshake out1/prod/east s0 r1/phase-2/prod/west c2; then fail "phase 0 accepted phase 2 without a cross-signed root"; fi
pass

# ---- with CRLs: every phase carries a complete CRL set; phase 3 is adoptable
write_file_plan curc.yaml keys/rootc.pem "Fleet Root 2026" "$MESH"
sed -i '0,/  validity: 10y/s//  validity: 10y\n  path_len: 2/' curc.yaml
printf 'revocation: {crl: true, next_update: 7d}\n' >>curc.yaml
expect_exit 0 "$MESHCA" ceremony run curc.yaml --out outc --yes
rotation_plan curc.yaml rotc.yaml outc keys/newc.pem true
expect_exit 0 "$MESHCA" rotate phases rotc.yaml --out rc --yes
for p in 1 2 3; do
  d=rc/phase-$p/prod/east
  want=2; [ $p = 2 ] && want=3  # phase 2's chain also runs through the current root
  [ "$(grep -c 'BEGIN X509 CRL' $d/ca-crl.pem)" -eq $want ] || fail "phase $p ca-crl.pem holds the wrong number of CRLs"
  openssl verify -x509_strict -crl_check_all -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem -CRLfile $d/ca-crl.pem \
    $d/ca-cert.pem >/dev/null || fail "phase $p fails crl_check_all"
  pass
done
expect_exit 0 "$MESHCA" audit rc rotc.yaml
# The successor plan (root = the new root) adopts phase 3 as its output.
python3 - <<'PY'
import yaml
plan = yaml.safe_load(open("rotc.yaml"))
rotation = plan.pop("rotation")
plan["root"] = rotation["new_root"]
plan["root"]["path_len"] = 2
plan["metadata"]["name"] = "e2e-next"
yaml.safe_dump(plan, open("next.yaml", "w"), sort_keys=False)
PY
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" ceremony run next.yaml --out rc/phase-3 --yes
expect_in "$WORK/last.out" "0 bundles issued, 0 renewed, 2 kept"
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" revoke next.yaml --out rc/phase-3 --cert rc/phase-3/prod/west/ca-cert.pem --reason superseded --yes
expect_in "$WORK/last.out" "2 bundles rewritten"
finish
