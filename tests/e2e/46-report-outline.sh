# The report's tile map draws the mask's outline where the run saw holes:
# with the run's --mask-threshold (and --mask-invert), not "any nonzero
# pixel". A mask with a grey (100) square and a white disk: at the default
# threshold (127) only the disk is outlined; after a run at 50, both are.
. "$(dirname "$0")/common.sh"
mkdir in
"$TOOL" gen in/a.png 400 300 3 8 1
python3 - in/a_mask.png <<'PY'
import struct, sys, zlib
w, h = 400, 300
rows = b""
for y in range(h):
    r = bytearray(w)
    for x in range(w):
        if 40 <= x < 160 and 40 <= y < 160: r[x] = 100
        if (x - 300) ** 2 + (y - 150) ** 2 <= 40 ** 2: r[x] = 255
    rows += b"\0" + bytes(r)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
outline() {   # REPORT.html: "SQUARE DISK" outline pixels inside each shape's box
	python3 - "$1" "$TP_TOP/tests/tools" <<'PY'
import base64, re, sys
sys.path.insert(0, sys.argv[2])
from pngrows import decode
page = open(sys.argv[1]).read()
d = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', page).group(1))
w, h, bpp, img = decode(d)
assert bpp == 3, bpp
def count(x0, y0, x1, y1):   # image coordinates, scaled to the thumbnail
    n = 0
    for y in range(int(y0 * h / 300), int(y1 * h / 300)):
        for x in range(int(x0 * w / 400), int(x1 * w / 400)):
            n += tuple(img[y][3 * x:3 * x + 3]) == (255, 0, 255)
    return n
print(count(30, 30, 170, 170), count(255, 105, 345, 195))
PY
}
# run_outline NAME RUN-OPTIONS...: run the batch again with those options, the
# report as NAME.html; sets sq and disk (outline pixels around each shape)
run_outline() {
	n=$1; shift
	expect_exit 0 "$TP" run in -o out --engine telea -q "$@"
	expect_exit 0 "$TP" report -o out --format html --out "$n.html"
	read -r sq disk <<EOT
$(outline "$n.html")
EOT
}
run_outline r1
[ "$sq" -eq 0 ] || fail "the grey square (below the threshold) is outlined: $sq pixels"
[ "$disk" -gt 20 ] || fail "the disk is not outlined: $disk pixels"
run_outline r2 --mask-threshold 50
[ "$sq" -gt 20 ] || fail "the grey square (a hole at threshold 50) is not outlined: $sq pixels"
[ "$disk" -gt 20 ] || fail "the disk lost its outline: $disk pixels"
note "--mask-invert: the holes are the dark part, outlined along the same borders"
run_outline r3 --mask-threshold 50 --mask-invert
[ "$sq" -gt 20 ] && [ "$disk" -gt 20 ] || fail "inverted mask outline: square $sq, disk $disk"
