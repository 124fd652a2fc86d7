# Root rotations with a root under the corporate CA (issue 20, "Root
# rotation ... work for an externally issued root too"), each judged by
# openssl verify -x509_strict, meshca audit and mutual-TLS handshakes
# between workloads of different phases:
#   A. the mesh root under the corporate CA renewed under the same anchor
#      (the new root's key and CSR made by meshca root csr --new-root, signed
#      by the corporate CA, imported with --new-root): every phase trusts the
#      one anchor, so phase 0 and phase 3 keep talking; the successor plan
#      adopts phase 3;
#   B. a self-signed root joining the corporate PKI: phase 0 and 3 refuse;
#   C. a root under the corporate CA replaced by a self-signed one; with
#      cross_sign refused, naming the corporate CA whose pathLen leaves no
#      room for the cross-signed root.
# Refused: a rotation without --new-root-dir, a new root under another
# anchor, --new-root on a plan whose new root is self-signed.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e corporate rotation current' MESHCA_NEW_ROOT_PASS='e2e corporate rotation new'
export HANDSHAKE_VERIFY_DEPTH=4

corp_pki corp "Corp Root CA"
corp_pki other "Other Root CA"
cat corp-int.pem corp-root.pem >corp-chain.pem
cat other-int.pem other-root.pem >other-chain.pem
ANCHOR=$(openssl x509 -in corp-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
OTHER_ANCHOR=$(openssl x509 -in other-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
MESH='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'

external() {  # external PLAN ANCHOR: the plan's root under the corporate CA
  sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"$2\"}/" "$1"
}
# rotation PLAN OUT_PLAN CURRENT_OUT NEW_KEY CROSS_SIGN [NEW_ANCHOR]: the rotation
# section; with NEW_ANCHOR the new root is under the corporate CA.
rotation() {
  cp "$1" "$2"
  append_rotation "$2" "$3" "$4" "Mesh Root 2031" "$5"
  if [ -n "${6:-}" ]; then
    sed -i "/^rotation:/,\$s/^    validity: 10y\$/    validity: 10y\n    issuer: external\n    external: {anchor_sha256: \"$6\"}/" "$2"
  fi
}
# check_phases ROT MESH_ROOT_CN...: every bundle of every phase verifies strictly and is audited.
check_phases() {
  local rot=$1 p c d
  for p in 1 2 3; do
    for c in east west; do
      d=$rot/phase-$p/prod/$c
      openssl verify -x509_strict -CAfile $d/root-cert.pem -untrusted $d/cert-chain.pem $d/ca-cert.pem >/dev/null \
        || fail "openssl verify -x509_strict failed for $d"
    done
  done
  pass
}

# ---- the current output: a mesh root under the corporate CA ----------------------
write_file_plan cur.yaml keys/root.pem "Mesh Root CA" "$MESH"
external cur.yaml "$ANCHOR"
expect_exit 0 "$MESHCA" root csr cur.yaml --out out --yes
corp_sign out/root/root.csr.pem mesh-root.pem 3650 1
expect_exit 0 "$MESHCA" root import cur.yaml --out out --yes --cert mesh-root.pem --chain corp-chain.pem
expect_exit 0 "$MESHCA" ceremony run cur.yaml --out out --yes

# ---- A. renewed under the same corporate anchor -----------------------------------
rotation cur.yaml rot.yaml out keys/new-root.pem false "$ANCHOR"
expect_exit 0 "$MESHCA" plan validate rot.yaml
expect_exit 0 "$MESHCA" plan show rot.yaml
expect_in last.out "unchanged: both roots chain to it"
# The new root comes from the corporate CA: without it, the rotation is refused.
expect_exit 3 "$MESHCA" rotate phases rot.yaml --out rot --yes
expect_in last.err "--new-root-dir"
[ ! -e rot ] || fail "a refused rotation wrote rot/"
expect_exit 0 "$MESHCA" root csr rot.yaml --new-root --out next-root --yes
expect_in last.out "new root key: "
expect_in last.out "--new-root --out next-root"
openssl req -in next-root/root/root.csr.pem -noout -subject | grep -q "CN *= *Mesh Root 2031" || fail "the new root's CSR subject"
cmp -s <(openssl req -in next-root/root/root.csr.pem -noout -pubkey) \
  <(openssl pkey -in keys/new-root.pem -passin env:MESHCA_NEW_ROOT_PASS -pubout) || fail "the new root's CSR does not carry its key"
pass
# Under another anchor: refused at import, nothing written.
corp_sign next-root/root/root.csr.pem wrong-anchor.pem 3650 1 other
expect_exit 3 "$MESHCA" root import rot.yaml --new-root --out next-root --yes --cert wrong-anchor.pem --chain other-chain.pem
expect_in last.err "rotation.new_root.external.anchor_sha256"
[ ! -e next-root/root/root-cert.pem ] || fail "a refused import wrote the new root"
corp_sign next-root/root/root.csr.pem new-mesh-root.pem 3650 1
expect_exit 0 "$MESHCA" root import rot.yaml --new-root --out next-root --yes --cert new-mesh-root.pem --chain corp-chain.pem
expect_in last.out "next: meshca rotate phases"
cp -a out out.before
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --new-root-dir next-root --yes
expect_in last.out "phase 0 <-> phase 3: accept each other's workloads (both roots chain to one corporate anchor)"
diff -r out out.before >/dev/null || fail "the rotation changed the current output"
check_phases rot
for p in 1 2 3; do
  cmp -s rot/phase-$p/prod/east/root-cert.pem corp-root.pem || fail "phase $p root-cert.pem is not the one corporate anchor"
done
cmp -s rot/phase-2/prod/east/cert-chain.pem <(cat rot/phase-2/prod/east/ca-cert.pem new-mesh-root.pem corp-int.pem corp-root.pem) \
  || fail "phase 2 cert-chain.pem is not intermediate, new mesh root, corporate CA, anchor"
openssl x509 -in rot/phase-2/prod/east/ca-cert.pem -noout -issuer | grep -q "CN *= *Mesh Root 2031" || fail "phase 2 is not issued by the new root"
cmp -s rot/root/issuer-chain.pem corp-chain.pem && cmp -s rot/root/previous-issuer-chain.pem corp-chain.pem \
  && cmp -s rot/phase-3/root/issuer-chain.pem corp-chain.pem || fail "the corporate chains under rot/root"
pass
expect_exit 0 "$MESHCA" audit rot rot.yaml
expect_in last.out "PASS conformance new root"
expect_in last.out "PASS conformance previous root"
expect_not_in last.out "FAIL"
expect_exit 0 "$MESHCA" transcript verify rot/transcript.jsonl --out rot
talks out/prod/east rot/phase-3/prod/west
talks rot/phase-1/prod/east rot/phase-2/prod/west
# The successor plan (root = the new root, under the corporate CA) adopts phase 3.
successor_plan rot.yaml next.yaml
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" ceremony run next.yaml --out rot/phase-3 --yes
expect_in last.out "0 bundles issued, 0 renewed, 2 kept"
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" audit rot/phase-3 next.yaml

# ---- B. a self-signed root joins the corporate PKI --------------------------------
write_file_plan self.yaml keys/self-root.pem "Self Root CA" "$MESH"
expect_exit 0 "$MESHCA" ceremony run self.yaml --out self-out --yes
rotation self.yaml join.yaml self-out keys/join-root.pem false "$ANCHOR"
expect_exit 3 "$MESHCA" root csr self.yaml --new-root --out join-root --yes
expect_in last.err "rotation section"
expect_exit 0 "$MESHCA" root csr join.yaml --new-root --out join-root --yes
corp_sign join-root/root/root.csr.pem join-root.pem 3650 1
expect_exit 0 "$MESHCA" root import join.yaml --new-root --out join-root --yes --cert join-root.pem --chain corp-chain.pem
expect_exit 0 "$MESHCA" rotate phases join.yaml --out join --new-root-dir join-root --yes
expect_in last.out "phase 0  x  phase 3: refuse each other"
check_phases join
[ "$(grep -c 'BEGIN CERTIFICATE' join/phase-1/prod/east/root-cert.pem)" -eq 2 ] || fail "phase 1 must trust the self-signed root and the anchor"
cmp -s join/phase-3/prod/east/root-cert.pem corp-root.pem || fail "phase 3 must trust the corporate anchor only"
expect_exit 0 "$MESHCA" audit join join.yaml
expect_not_in last.out "FAIL"
talks self-out/prod/east join/phase-1/prod/west
talks join/phase-2/prod/east join/phase-3/prod/west
refuses self-out/prod/east join/phase-3/prod/west

# ---- C. leaving the corporate CA for a self-signed root ---------------------------
rotation cur.yaml leave.yaml out keys/leave-root.pem false
expect_exit 3 "$MESHCA" rotate phases leave.yaml --out leave --new-root-dir next-root --yes
expect_in last.err "--new-root-dir is only for"
expect_exit 3 "$MESHCA" root csr leave.yaml --new-root --out leave-root --yes
expect_in last.err "rotation.new_root.issuer: self"
expect_exit 0 "$MESHCA" rotate phases leave.yaml --out leave --yes
expect_in last.out "phase 0  x  phase 3: refuse each other"
check_phases leave
cmp -s leave/phase-1/prod/east/root-cert.pem <(cat corp-root.pem leave/root/root-cert.pem) || fail "phase 1 trusts the anchor, then the new root"
expect_exit 0 "$MESHCA" audit leave leave.yaml
expect_not_in last.out "FAIL"
talks out/prod/east leave/phase-1/prod/west
refuses out/prod/west leave/phase-3/prod/east
# A cross-signed new root would sit below the corporate issuing CA (pathLen
# 2) as a third CA: refused before any key is opened.
rotation cur.yaml cross.yaml out keys/cross-root.pem true
expect_exit 3 "$MESHCA" plan validate cross.yaml
expect_in last.err "needs the current root's pathLen to be 2 or more"
sed -i '0,/^  validity: 10y$/s//  validity: 10y\n  path_len: 2/' cross.yaml
expect_exit 3 "$MESHCA" rotate phases cross.yaml --out cross --yes
expect_in last.err "root.path_len: found critical CA:TRUE, pathLen 1"
expect_in last.err "Corp Root CA Issuing CA has pathLen 2"
expect_in last.err "pathLen 3 or more"
[ ! -e keys/cross-root.pem ] && [ ! -e cross ] || fail "a refused rotation created a key or an output"
pass
finish
