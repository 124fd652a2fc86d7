# Root rotations with CRLs when either root is under the corporate CA
# (issue 20: "Root rotation, renewal, CRLs and audit work for an externally
# issued root too"). Istio with CRLs refuses a chain unless ca-crl.pem holds
# a CRL from each CA of it, so every phase's bundles carry the CRLs of the
# CAs their chain runs through (PhaseMaterial::crl_issuers):
#   A. a root under the corporate CA renewed under the same anchor: phases 2
#      and 3 carry the new root's corporate CRLs, imported into the new
#      root's directory (root import --new-root --crl; refreshed there with
#      crl import --new-root; stale ones stop the rotation, naming that fix);
#      the successor plan adopts phase 3 with its CRLs;
#   B. a root under the corporate CA cross-signing a self-signed new root:
#      phase 2's chain runs through the cross-signed root, the current root
#      and its corporate CAs, so it carries the current root's CRL (which
#      would revoke the cross certificate) and the corporate CRLs; phase 3
#      none of them; phases 0-2, 1-2 and 2-3 complete mutual TLS. A new
#      root under the corporate CA cannot be cross-signed (refused);
#   C. a root under the corporate CA replaced by a self-signed one: phase 1
#      keeps the corporate CRLs, phases 2 and 3 need none.
# Every phase bundle is judged by openssl verify -crl_check_all (a workload
# under each intermediate, with the bundle's own ca-crl.pem only), by
# meshca verify and by meshca audit.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e corporate rotation crl current' MESHCA_NEW_ROOT_PASS='e2e corporate rotation crl new'

corp_pki corp "Corp Root CA"
cat corp-int.pem corp-root.pem >corp-chain.pem
ANCHOR=$(openssl x509 -in corp-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
corp_crls crls.pem -crldays 7
MESH='  - name: prod
    trust_domain: prod.e2e.internal
    clusters: [{name: east}, {name: west}]'

external() {  # external PLAN [ANCHOR]: the plan's root under the corporate CA
  sed -i "0,/^  validity: 10y\$/s//  validity: 10y\n  issuer: external\n  external: {anchor_sha256: \"${2:-$ANCHOR}\"}/" "$1"
}
# rotation PLAN OUT_PLAN CURRENT_OUT NEW_KEY CROSS_SIGN [NEW_ROOT_ANCHOR]: with
# NEW_ROOT_ANCHOR, the new root is under the corporate CA of that anchor.
rotation() {
  cp "$1" "$2"
  python3 - "$2" "$3" "$4" "$5" "${6:-}" <<'PY'
import sys, yaml
path, current, key, cross, anchor = sys.argv[1:]
plan = yaml.safe_load(open(path))
new_root = {"subject": {"CN": "Mesh Root 2031", "O": "E2E Corp", "C": "US"},
            "key": {"algorithm": "ecdsa-p384", "store": "file",
                    "file": {"path": key, "passphrase": "env:MESHCA_NEW_ROOT_PASS"}},
            "validity": "10y"}
if anchor:
    new_root.update({"issuer": "external", "external": {"anchor_sha256": anchor}})
plan["rotation"] = {"current_output": current, "new_root": new_root, "cross_sign": cross == "true"}
yaml.safe_dump(plan, open(path, "w"), sort_keys=False)
PY
}
# check_phase_crls ROT: a workload under every phase bundle verifies with
# -crl_check_all against that bundle's ca-crl.pem alone; meshca verify passes.
check_phase_crls() {
  local rot=$1 p c d
  for p in 1 2 3; do
    for c in east west; do
      d=$rot/phase-$p/prod/$c
      issue_workload "$d" wl-$p-$c frontend
      openssl verify -x509_strict -crl_check_all -CRLfile "$d/ca-crl.pem" -CAfile "$d/root-cert.pem" \
        -untrusted "$d/cert-chain.pem" wl-$p-$c.crt >verify.log 2>&1 || {
        cat verify.log
        fail "openssl verify -crl_check_all failed for a workload of $d"
      }
    done
    expect_exit 0 "$MESHCA" verify "$rot/phase-$p/prod/east" "$rot/phase-$p/prod/west"
  done
  pass
}
# crl_signers FILE: the subjects of the CRL issuers in FILE, one per line
crl_signers() {
  local tmp=crl-split
  rm -rf $tmp && mkdir $tmp
  awk -v d=$tmp '/BEGIN X509 CRL/{n++} {print > (d "/" n ".pem")}' "$1"
  for f in $tmp/*.pem; do openssl crl -in "$f" -noout -issuer; done
}

# ---- the current output: a mesh root under the corporate CA, with CRLs -------------
write_crl_plan cur.yaml keys/root.pem "Mesh Root CA" "$MESH"
external cur.yaml
expect_exit 0 "$MESHCA" root csr cur.yaml --out out --yes
corp_sign out/root/root.csr.pem mesh-root.pem 3650 1
expect_exit 0 "$MESHCA" root import cur.yaml --out out --yes --cert mesh-root.pem --chain corp-chain.pem --crl crls.pem
expect_exit 0 "$MESHCA" ceremony run cur.yaml --out out --yes

# ---- A. renewed under the same anchor ------------------------------------------
rotation cur.yaml rot.yaml out keys/new-root.pem false "$ANCHOR"
expect_exit 0 "$MESHCA" plan validate rot.yaml
expect_exit 0 "$MESHCA" root csr rot.yaml --new-root --out next-root --yes
corp_sign next-root/root/root.csr.pem new-mesh-root.pem 3650 1
# Corporate CRLs that expire before the rotation runs.
corp_crls short.pem -crlsec 3
expect_exit 0 "$MESHCA" root import rot.yaml --new-root --out next-root --yes --cert new-mesh-root.pem --chain corp-chain.pem \
  --crl short.pem
sleep 4
expect_exit 3 "$MESHCA" rotate phases rot.yaml --out rot --new-root-dir next-root --yes
expect_in last.err "meshca crl import PLAN --new-root --out next-root --crl FILE"
[ ! -e rot ] || fail "a refused rotation wrote rot/"
# crl import --new-root: a bad set is refused (nothing written), a fresh one replaces them.
cp next-root/root/issuer-crls.pem stale-copy.pem
expect_exit 3 "$MESHCA" crl import rot.yaml --new-root --out next-root --yes --crl int.crl
expect_in last.err "no CRL signed by O=Corp, CN=Corp Root CA"
cmp -s next-root/root/issuer-crls.pem stale-copy.pem || fail "a refused crl import --new-root changed the CRLs"
expect_exit 3 "$MESHCA" crl import cur.yaml --new-root --out next-root --yes --crl crls.pem
expect_in last.err "rotation section"
expect_exit 0 "$MESHCA" crl import rot.yaml --new-root --out next-root --yes --crl crls.pem
expect_in last.out "corporate CRLs of the new root: next-root/root/issuer-crls.pem"
cmp -s next-root/root/issuer-crls.pem crls.pem || fail "crl import --new-root did not write the CRLs"
expect_exit 0 "$MESHCA" transcript verify next-root/transcript.jsonl --out next-root
expect_exit 0 "$MESHCA" rotate phases rot.yaml --out rot --new-root-dir next-root --yes
check_phase_crls rot
crl_signers rot/phase-3/prod/east/ca-crl.pem >signers.txt
for who in "CN *= *east Intermediate CA\|CN *= *east" "CN *= *Mesh Root 2031" "CN *= *Corp Root CA Issuing CA" "CN *= *Corp Root CA$"; do
  grep -q "$who" signers.txt || fail "phase 3 ca-crl.pem lacks a CRL from $who: $(cat signers.txt)"
done
cmp -s rot/root/issuer-crls.pem crls.pem && cmp -s rot/phase-3/root/issuer-crls.pem crls.pem \
  && cmp -s rot/root/previous-issuer-crls.pem out/root/issuer-crls.pem || fail "the corporate CRLs under rot/root and phase-3/root"
pass
expect_exit 0 "$MESHCA" audit rot rot.yaml
expect_in last.out "PASS crl phase-2/prod/east"
expect_in last.out "root/previous-issuer-crls.pem"
expect_not_in last.out "FAIL"
# The successor plan adopts phase 3, its CRLs with it.
successor_plan rot.yaml next.yaml
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" ceremony run next.yaml --out rot/phase-3 --yes
expect_in last.out "0 bundles issued, 0 renewed, 2 kept"
MESHCA_ROOT_PASS=$MESHCA_NEW_ROOT_PASS expect_exit 0 "$MESHCA" audit rot/phase-3 next.yaml
expect_not_in last.out "FAIL"

# ---- B. a root under the corporate CA, cross-signing a self-signed new root ------
# The cross-signed root puts two CAs below the current root (path_len 2) and
# the current root one more below the corporate issuing CA: one without a
# pathLen limit certifies it.
corp_pki wide "Wide Root CA" none
cat wide-int.pem wide-root.pem >wide-chain.pem
PKI=wide corp_crls wide-crls.pem -crldays 7
WIDE_ANCHOR=$(openssl x509 -in wide-root.pem -noout -fingerprint -sha256 | cut -d= -f2)
write_crl_plan wcur.yaml keys/wide-root.pem "Wide Mesh Root" "$MESH"
external wcur.yaml "$WIDE_ANCHOR"
sed -i '0,/^  validity: 10y$/s//  validity: 10y\n  path_len: 2/' wcur.yaml
expect_exit 0 "$MESHCA" root csr wcur.yaml --out wout --yes
corp_sign wout/root/root.csr.pem wide-mesh-root.pem 3650 2 wide
expect_exit 0 "$MESHCA" root import wcur.yaml --out wout --yes --cert wide-mesh-root.pem --chain wide-chain.pem --crl wide-crls.pem
expect_exit 0 "$MESHCA" ceremony run wcur.yaml --out wout --yes
rotation wcur.yaml wjoin.yaml wout keys/wjoin-root.pem true
expect_exit 0 "$MESHCA" rotate phases wjoin.yaml --out wjoin --yes
check_phase_crls wjoin
crl_signers wjoin/phase-2/prod/east/ca-crl.pem >signers.txt
for who in "CN *= *Mesh Root 2031" "CN *= *Wide Mesh Root" "CN *= *Wide Root CA Issuing CA" "CN *= *Wide Root CA$"; do
  grep -q "$who" signers.txt || fail "phase 2 (through the cross-signed root) lacks a CRL from $who: $(cat signers.txt)"
done
crl_signers wjoin/phase-3/prod/east/ca-crl.pem >signers.txt
if grep -q "Wide" signers.txt; then fail "phase 3 under the self-signed new root carries the old chain's CRLs: $(cat signers.txt)"; fi
[ "$(openssl x509 -in wjoin/root/cross-signed-root-cert.pem -noout -ext subjectKeyIdentifier | tail -1)" = \
  "$(openssl x509 -in wjoin/root/root-cert.pem -noout -ext subjectKeyIdentifier | tail -1)" ] \
  || fail "the cross-signed root does not repeat the new root's subjectKeyIdentifier"
pass
expect_exit 0 "$MESHCA" audit wjoin wjoin.yaml
expect_in last.out "PASS cross-sign"
expect_not_in last.out "FAIL"
export HANDSHAKE_VERIFY_DEPTH=5
talks wout/prod/east wjoin/phase-2/prod/west
talks wjoin/phase-1/prod/east wjoin/phase-2/prod/west
talks wjoin/phase-2/prod/east wjoin/phase-3/prod/west
# A new root under the corporate CA cannot be cross-signed: phase 2 would
# need two chains in one ordered cert-chain.pem. Refused at validation.
rotation wcur.yaml wcross.yaml wout keys/wcross-root.pem true "$WIDE_ANCHOR"
expect_exit 3 "$MESHCA" plan validate wcross.yaml
expect_in last.err "rotation.cross_sign"
expect_in last.err "cannot cross-sign a new root under the corporate CA"

# ---- C. leaving the corporate CA for a self-signed root ----------------------------
rotation cur.yaml leave.yaml out keys/leave-root.pem false
expect_exit 0 "$MESHCA" rotate phases leave.yaml --out leave --yes
check_phase_crls leave
cmp -s leave/phase-1/prod/east/ca-crl.pem out/prod/east/ca-crl.pem || fail "phase 1 must keep the current bundle's CRLs"
crl_signers leave/phase-3/prod/east/ca-crl.pem >signers.txt
if grep -q "Corp Root CA" signers.txt; then fail "phase 3 under a self-signed root carries corporate CRLs"; fi
[ ! -e leave/root/issuer-crls.pem ] && cmp -s leave/root/previous-issuer-crls.pem out/root/issuer-crls.pem \
  || fail "leave/root: previous-issuer-crls.pem only"
pass
expect_exit 0 "$MESHCA" audit leave leave.yaml
expect_not_in last.out "FAIL"
finish
