# meshca export: a deterministic ustar archive of one cluster's bundle. Two
# exports of the same output are byte-identical; every entry is a regular
# file with mode 0600, owner 0/0 without names and mtime 0; the archive
# unpacks to exactly the bundle; the printed SHA-256 is the archive's; an
# existing file is never overwritten.
source "$(dirname "$0")/lib.sh"
export MESHCA_ROOT_PASS='e2e export passphrase'

write_file_plan plan.yaml keys/root.pem "Export Root CA" '  - name: prod
    trust_domain: prod.e2e.internal
    outputs: {layouts: [istio-cacerts, k8s-secret, istio-tls]}
    clusters: [{name: us-east-1}, {name: eu-west-1}]'
expect_exit 0 "$MESHCA" ceremony run plan.yaml --out out --yes

expect_exit 0 "$MESHCA" export out --cluster prod/us-east-1 --tar a.tar
printed=$(cat last.out)
expect_in last.err "9 files of prod/us-east-1"
[ "$printed" = "$(sha256sum a.tar)" ] || fail "printed '$printed', sha256sum says '$(sha256sum a.tar)'"
pass
[ "$(stat -c %a a.tar)" = 600 ] || fail "a.tar is not 0600"
pass
sleep 1  # a later export must not pick up the time
expect_exit 0 "$MESHCA" export out --cluster prod/us-east-1 --tar b.tar
cmp -s a.tar b.tar || fail "two exports of the same bundle differ"
pass

# Listing: 0600 regular files, numeric owner 0/0 with no names, mtime 0, sorted.
tar -tvf a.tar >listing.txt
[ "$(wc -l <listing.txt)" -eq 9 ] || fail "expected 9 entries"
if grep -v '^-rw------- 0/0 ' listing.txt; then fail "an entry is not a 0600 file owned by 0/0"; fi
grep -q "1970-01-01 00:00" listing.txt || fail "mtime is not 0"
tar -tf a.tar >names.txt
LC_ALL=C sort -c names.txt || fail "entries are not sorted"
[ "$(head -1 names.txt)" = "prod/us-east-1/ca-cert.pem" ] || fail "entries are not named MESH/CLUSTER/FILE"
python3 - a.tar <<'PY' || fail "ustar header fields"
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        assert m.isfile() and m.mode == 0o600 and m.uid == 0 and m.gid == 0, m.name
        assert m.uname == "" and m.gname == "" and m.mtime == 0, m.name
data = open(sys.argv[1], "rb").read()
assert data[257:263] == b"ustar\0" and data[263:265] == b"00", data[257:265]
assert len(data) % 512 == 0 and data[-1024:] == b"\0" * 1024
PY
pass

# It unpacks to exactly the bundle, and the bundle still verifies.
mkdir unpacked && tar -xf a.tar -C unpacked
diff -r unpacked/prod/us-east-1 out/prod/us-east-1 || fail "the archive differs from the bundle"
openssl verify -x509_strict -CAfile unpacked/prod/us-east-1/root-cert.pem -untrusted unpacked/prod/us-east-1/cert-chain.pem \
  unpacked/prod/us-east-1/ca-cert.pem >/dev/null || fail "unpacked bundle does not verify"
pass

# Never overwrites; refuses bad or unknown clusters.
before=$(sha256sum a.tar)
expect_exit 5 "$MESHCA" export out --cluster prod/eu-west-1 --tar a.tar
expect_in last.err "refusing to overwrite"
[ "$(sha256sum a.tar)" = "$before" ] || fail "an existing archive was overwritten"
pass
expect_exit 2 "$MESHCA" export out --cluster ../etc --tar c.tar
expect_exit 2 "$MESHCA" export out --cluster prod --tar c.tar
expect_exit 3 "$MESHCA" export out --cluster prod/nowhere --tar c.tar
[ ! -e c.tar ] || fail "a refused export left a file"
pass
# Another cluster gives another archive.
expect_exit 0 "$MESHCA" export out --cluster prod/eu-west-1 --tar d.tar
cmp -s a.tar d.tar && fail "two clusters gave the same archive"
pass
finish
