# Encoding off the critical path: a PNG deflated on threads is the same bytes
# whatever -j, valid for pngcheck and libpng, and a run killed mid-image then
# resumed writes the same bytes; a tiled TIFF keeps the input's compressed
# bytes (TIFFReadRawTile equal) in every tile the mask does not touch, when
# the output mirrors the input's tiles and codec, and nowhere else; compressed
# strips, encoded on the threads, are the same bytes whatever -j, and libtiff
# reads them back without a word.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" pngcheck libtiff-tools
"$TOOL" gen img.png 3000 2000 3 8 31
"$TOOL" mask m.png 3000 2000 spots:3,7 line:0,0,2999,1999,9
"$TOOL" gen img16.png 700 900 4 16 32
"$TOOL" mask m16.png 700 900 spots:4,8
for j in 1 2 4; do
	expect_exit 0 "$TP" inpaint img.png m.png out$j.png --engine telea -j $j
	expect_exit 0 "$TP" inpaint img16.png m16.png o16_$j.png --engine telea -j $j
done
for j in 2 4; do
	cmp out1.png out$j.png || fail "PNG: -j 1 and -j $j differ"
	cmp o16_1.png o16_$j.png || fail "16-bit PNG: -j 1 and -j $j differ"
done
pngcheck -q out1.png || fail "pngcheck refuses the PNG"
pngcheck -q o16_1.png || fail "pngcheck refuses the 16-bit PNG"
"$TOOL" unmasked img.png out1.png m.png || fail "unmasked pixels changed"
"$TOOL" unmasked img16.png o16_1.png m16.png || fail "16-bit unmasked pixels changed"
expect_exit 0 "$TP" inpaint img.png m.png lvl.png --engine telea --png-level 9 -j 2
pngcheck -q lvl.png || fail "pngcheck refuses the level-9 PNG"
"$TOOL" cmp out1.png lvl.png || fail "--png-level 9 gave other pixels"

note "kill -9 while rows are being deflated, resume: the same bytes"
mkdir in
cp img.png in/a.png
cp m.png in/a_mask.png
OPTS="--engine telea --tile 128 --overlap 32 -j 2"
expect_exit 0 "$TP" run in -o ref $OPTS -q
total=$(sql ref/.tilepaint.db "select count(*) from tiles where state = 1")
kill_at_tile $((total / 2)) "$TP" run in -o out $OPTS -q
[ ! -e out/a.png ] || fail "a partial output is at the output path"
expect_exit 0 "$TP" run in -o out $OPTS
cmp out/a.png ref/a.png || fail "resumed PNG differs from the uninterrupted run"
no_temps out

note "tiled TIFF: untouched tiles keep their compressed bytes"
"$TOOL" gen s.tif 1000 700 3 8 33
"$TOOL" mask tm.png 1000 700 rect:10,10,20,20 rect:700,400,10,10
tiffcp -t -w 128 -l 128 -c zip:p2 s.tif tz.tif
tiffcp -t -w 128 -l 128 -c zip:p2 -p separate s.tif tzs.tif
tiffcp -8 -t -w 256 -l 128 -c none s.tif tn.tif
for f in tz tzs tn; do
	for j in 1 2; do
		expect_exit 0 "$TP" inpaint $f.tif tm.png o${j}_$f.tif --engine telea -j $j
	done
	cmp o1_$f.tif o2_$f.tif || fail "$f: -j 1 and -j 2 differ"
	"$TOOL" unmasked $f.tif o1_$f.tif tm.png || fail "$f: unmasked pixels changed"
	"$TOOL" rawtiles $f.tif o1_$f.tif > raw.txt
	n=$(sed -n 's/^\([0-9]*\) tiles.*/\1/p' raw.txt)
	same=$(sed -n 's/.*tiles, \([0-9]*\) same raw/\1/p' raw.txt)
	case $f in
	tz) touched="0 29" ;;            # 8 x 6 tiles of 128: (0,0) and (5,3)
	tzs) touched="0 29 48 77 96 125" ;;   # the same in each of 3 planes
	tn) touched="0 14" ;;            # 4 x 6 tiles of 256 x 128: (0,0) and (2,3)
	esac
	eq "$same" "$((n - $(echo $touched | wc -w)))" "$f: tiles kept raw"
	for t in $touched; do
		! grep -q "^same:.* $t\( \|$\)" raw.txt || fail "$f: touched tile $t kept raw"
	done
	tiffinfo o1_$f.tif 2>/dev/null | grep -q "Tile Width: $(tiffinfo $f.tif 2>/dev/null | sed -n 's/.*Tile Width: \([0-9]*\).*/\1/p' | head -1)" ||
		fail "$f: tile size not kept"
done

note "strips, or another codec asked for: every block encoded, pixels kept"
tiffcp -c zip:p2 -r 64 s.tif st.tif
expect_exit 0 "$TP" inpaint st.tif tm.png ost.tif --engine telea
"$TOOL" unmasked st.tif ost.tif tm.png || fail "strips: unmasked pixels changed"

note "compressed strips are encoded on the threads: the same bytes whatever -j, in order"
tiffcp -c lzw:2 -r 7 s.tif sl.tif        # the last strip short (700 = 100 x 7)
tiffcp -c zip -r 9 s.tif sz.tif          # 700 = 77 x 9 + 7
tiffcp -c packbits -r 16 s.tif sp.tif
for f in sl sz sp; do
	for j in 1 2 4; do
		expect_exit 0 "$TP" inpaint $f.tif tm.png o${j}_$f.tif --engine telea -j $j
	done
	cmp o1_$f.tif o2_$f.tif && cmp o1_$f.tif o4_$f.tif || fail "$f strips: -j 1, 2 and 4 differ"
	"$TOOL" unmasked $f.tif o1_$f.tif tm.png || fail "$f strips: unmasked pixels changed"
	rps() { tiffinfo "$1" 2>/dev/null | sed -n 's/.*Rows\/Strip: \([0-9]*\).*/\1/p'; }
	comp() { tiffinfo "$1" 2>/dev/null | grep -m1 "Compression Scheme"; }
	eq "$(rps o1_$f.tif)" "$(rps $f.tif)" "$f: rows per strip"
	eq "$(comp o1_$f.tif)" "$(comp $f.tif)" "$f: compression"
	tiffinfo -D o1_$f.tif >/dev/null 2>tiffinfo.err || { cat tiffinfo.err; fail "$f: libtiff cannot read it back"; }
	! grep -q . tiffinfo.err || { cat tiffinfo.err; fail "$f: libtiff complains"; }
done
