# A change anywhere in an input, mask or output is noticed, even with its
# size and mtime put back; a file that is only touched, or a tree copied
# elsewhere, is recognised by its content and not redone.
. "$(dirname "$0")/common.sh"
mkdir -p w/in
cd w
# an uncompressed gray TIFF, so a flipped byte is still a valid image
python3 - in/a.tif <<'PY'
import struct, sys
w, h = 300, 200
pix = bytes(((x * 7 + y * 13) ^ (x * y)) & 0xff for y in range(h) for x in range(w))
tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 8), (277, 3, 1, 1), (278, 3, 1, h), (279, 4, 1, len(pix))]
ifd = 8 + len(pix)
out = b"II*\0" + struct.pack("<I", ifd) + pix + struct.pack("<H", len(tags))
for t, ty, n, v in tags:
    out += struct.pack("<HHI", t, ty, n) + (struct.pack("<HH", v, 0) if ty == 3 else struct.pack("<I", v))
open(sys.argv[1], "wb").write(out + struct.pack("<I", 0))
PY
"$TOOL" mask in/a_mask.png 300 200 disk:150,100,30
OPTS="--engine telea --tile 96 --overlap 24 -j 1"
DB=out/.tilepaint.db
# flip FILE: change one byte in the middle, then put size and times back
flip() {
	python3 - "$1" <<'PY'
import os, sys
p = sys.argv[1]; st = os.stat(p)
with open(p, "r+b") as f:
    f.seek(st.st_size // 2); b = f.read(1); f.seek(st.st_size // 2)
    f.write(bytes([b[0] ^ 0x55]))
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
}
again() { expect_exit 0 "$TP" run in -o out $OPTS; grep_err "$1"; }

expect_exit 0 "$TP" run in -o out $OPTS
cp out/a.tif first.tif
sig=$(sql $DB "select input_sig from jobs")
case "$sig" in x3-*) ;; *) fail "input signature '$sig' is not a content hash" ;; esac
again "0 done now, 1 already done"

note "input changed in the middle, size and mtime put back"
flip in/a.tif
again "1 done now, 0 already done"
cmp -s out/a.tif first.tif && fail "the output was not redone from the changed input"
[ "$(sql $DB "select input_sig from jobs")" != "$sig" ] || fail "signature unchanged"
cp out/a.tif second.tif

note "input only touched: same content, not redone"
touch in/a.tif
again "0 done now, 1 already done"

note "mask changed in the middle, size and mtime put back"
flip in/a_mask.png
set +e; "$TP" run in -o out $OPTS 2>"$T/m.err"; rc=$?; set -e
# a flipped byte in a PNG is a bad CRC: refused (65), never taken as unchanged
[ "$rc" -eq 65 ] || { cat "$T/m.err"; fail "changed mask: exit $rc"; }
grep -q "in/a_mask.png" "$T/m.err" || fail "the error does not name the mask"
"$TOOL" mask in/a_mask.png 300 200 disk:150,100,30
again "1 done now"
cmp out/a.tif second.tif || fail "restored mask: output differs"

note "output changed, removed, touched"
flip out/a.tif
again "1 done now"
cmp out/a.tif second.tif || fail "redone output differs"
rm out/a.tif
again "1 done now"
cmp out/a.tif second.tif || fail "redone output differs"
touch out/a.tif
again "0 done now, 1 already done"

note "the tree copied elsewhere (new inodes and times) is not redone"
cd ..
cp -r w copy
cd copy
sleep 0.01
again "0 done now, 1 already done"
cmp out/a.tif ../w/second.tif || fail "copied output changed"
