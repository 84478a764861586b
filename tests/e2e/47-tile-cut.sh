# An engine that declares a reach (telea: radius + 2) gets each tile cut to
# its holes' box grown by that reach, and fills them to the same bits as on
# the whole tile: outputs byte-identical to whole tiles (TILEPAINT_TEST_NO_CUT)
# for holes inside tiles, across tile edges and corners, a hole filling a
# tile (the guide), a larger --radius, --dilate, gray, 16-bit and float
# samples, at -j 1 and -j 2; and tiles stored by a cut run, killed halfway,
# resume in a whole-tile run to the same bytes.
. "$(dirname "$0")/common.sh"
"$TOOL" gen rgb.png 700 520 3 8 3
"$TOOL" gen gray.png 700 520 1 8 4
"$TOOL" gen deep.png 700 520 3 16 5
# spots, a line through tile corners, a disk on a tile edge, a block bigger
# than a tile (a tile with no known pixel), single pixels at image corners
"$TOOL" mask m.png 700 520 spots:0.4,7 line:0,0,699,519,3 disk:128,300,20 rect:330,150,170,170 \
	rect:0,0,1,1 rect:699,519,1,1
same() {   # NAME IMAGE ARGS...: cut and whole tiles give the same bytes
	n=$1 img=$2; shift 2
	expect_exit 0 "$TP" inpaint "$img" m.png "cut-$n.png" --tile 128 --overlap 24 "$@"
	TILEPAINT_TEST_NO_CUT=1 expect_exit 0 "$TP" inpaint "$img" m.png "whole-$n.png" --tile 128 \
		--overlap 24 "$@"
	cmp "cut-$n.png" "whole-$n.png" || fail "$n: cut tiles fill differently from whole tiles"
}
same rgb rgb.png --engine telea
same rgb-j1 rgb.png --engine telea -j 1
same radius rgb.png --engine telea --radius 12
same dilate rgb.png --engine telea --dilate 3
same gray gray.png --engine telea
same deep deep.png --engine telea
cmp cut-rgb.png cut-rgb-j1.png || fail "-j 1 and -j 2 differ"
"$TOOL" unmasked rgb.png cut-rgb.png m.png || fail "unmasked pixels changed"

note "float samples"
"$TOOL" gen f.tif 700 520 1 8 6
if command -v gdal_translate >/dev/null 2>&1; then
	gdal_translate -q -ot Float32 -scale 0 255 -100.5 2900.25 f.tif f32.tif
	expect_exit 0 "$TP" inpaint f32.tif m.png cut-f.tif --engine telea --tile 128
	TILEPAINT_TEST_NO_CUT=1 expect_exit 0 "$TP" inpaint f32.tif m.png whole-f.tif --engine telea --tile 128
	cmp cut-f.tif whole-f.tif || fail "float: cut tiles fill differently"
fi

note "tiles stored by a cut run resume in a whole-tile run"
mkdir in
cp rgb.png in/a.png
cp m.png in/a_mask.png
OPTS="--engine telea --tile 128 --overlap 24 -j 2"
TILEPAINT_TEST_NO_CUT=1 expect_exit 0 "$TP" run in -o ref $OPTS -q
total=$(sql ref/.tilepaint.db "select count(*) from tiles where state = 1")
kill_at_tile $((total / 2)) "$TP" run in -o out $OPTS -q
TILEPAINT_TEST_NO_CUT=1 expect_exit 0 "$TP" run in -o out $OPTS
grep_err "reused"
cmp out/a.png ref/a.png || fail "resumed whole-tile run over cut tiles differs"
cmp out/a.png cut-rgb.png || fail "batch and inpaint outputs differ"
