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
	python3 - "$1" <<'PY'
import base64, re, struct, sys, zlib
page = open(sys.argv[1]).read()
d = base64.b64decode(re.search(r'href="data:image/png;base64,([^"]+)"', page).group(1))
i, idat = 8, b""
while i < len(d):
    n, t = struct.unpack(">I4s", d[i:i + 8]); body = d[i + 8:i + 8 + n]; i += 12 + n
    if t == b"IHDR": w, h, bits, ctype = struct.unpack(">IIBB", body[:10])
    if t == b"IDAT": idat += body
assert bits == 8 and ctype == 2, (bits, ctype)
raw = zlib.decompress(idat); stride = w * 3; prev = bytearray(stride); img = []
for y in range(h):
    f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - 3] if x >= 3 else 0; b = prev[x]; c = prev[x - 3] if x >= 3 else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    img.append(line); prev = line
def count(x0, y0, x1, y1):   # image coordinates, scaled to the thumbnail
    n = 0
    for y in range(int(y0 * h / 300), int(y1 * h / 300)):
        for x in range(int(x0 * w / 400), int(x1 * w / 400)):
            n += tuple(img[y][3 * x:3 * x + 3]) == (255, 0, 255)
    return n
print(count(30, 30, 170, 170), count(255, 105, 345, 195))
PY
}
expect_exit 0 "$TP" run in -o out --engine telea -q
expect_exit 0 "$TP" report -o out --format html --out r1.html
read -r sq disk <<EOT
$(outline r1.html)
EOT
[ "$sq" -eq 0 ] || fail "the grey square (below the threshold) is outlined: $sq pixels"
[ "$disk" -gt 20 ] || fail "the disk is not outlined: $disk pixels"
expect_exit 0 "$TP" run in -o out --engine telea -q --mask-threshold 50
expect_exit 0 "$TP" report -o out --format html --out r2.html
read -r sq disk <<EOT
$(outline r2.html)
EOT
[ "$sq" -gt 20 ] || fail "the grey square (a hole at threshold 50) is not outlined: $sq pixels"
[ "$disk" -gt 20 ] || fail "the disk lost its outline: $disk pixels"
note "--mask-invert: the holes are the dark part, outlined along the same borders"
expect_exit 0 "$TP" run in -o out --engine telea -q --mask-threshold 50 --mask-invert
expect_exit 0 "$TP" report -o out --format html --out r3.html
read -r sq disk <<EOT
$(outline r3.html)
EOT
[ "$sq" -gt 20 ] && [ "$disk" -gt 20 ] || fail "inverted mask outline: square $sq, disk $disk"
