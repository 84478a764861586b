# Masks are thresholded: a pixel is a hole when its value is above
# --mask-threshold (default 127; 16-bit and alpha masks on the 8-bit scale),
# --mask-invert swaps. A mask saved as JPEG (cjpeg, and tilepaint's own
# writer) then changes exactly the pixels its PNG original does, where
# "nonzero is a hole" took the compression noise for holes. The threshold
# is part of the options hash (a changed one redoes the image); a fully
# masked image gets one warning, an empty mask one note.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" libjpeg-turbo-progs
W=320 H=240
"$TOOL" gen img.png $W $H 3 8 7
# the same shapes as an ASCII PGM (for cjpeg) and as a PNG (tptool); edges
# off the 8x8 grid so the JPEG rings
shapes='(x>=37&&x<101&&y>=21&&y<77)||(x>=150&&x<153&&y>=10&&y<230)||(x>=200&&x<290&&y>=131&&y<139)'
awk -v W=$W -v H=$H "BEGIN{print \"P2\"; print W, H; print 255;
	for(y=0;y<H;y++){l=\"\"; for(x=0;x<W;x++){v=0; if($shapes) v=255; l=l v \" \"} print l}}" >m.pgm
"$TOOL" mask m.png $W $H rect:37,21,64,56 rect:150,10,3,220 rect:200,131,90,8
cjpeg -quality 75 -grayscale m.pgm >m75.jpg
cjpeg -quality 50 -grayscale m.pgm >m50.jpg
cjpeg -quality 75 m.pgm >mcolor.jpg            # YCbCr, read back as RGB
"$TOOL" mask mown.jpg $W $H rect:37,21,64,56 rect:150,10,3,220 rect:200,131,90,8

note "the JPEG masks are noisy: many pixels neither 0 nor 255"
"$TOOL" threshold m75.jpg nz.png 0
"$TOOL" threshold m75.jpg hi.png 254
noisy=$("$TOOL" cmp nz.png hi.png | sed 's/ pixels differ//' || true)
[ "$noisy" -gt 1000 ] || fail "expected a noisy JPEG mask, $noisy pixels between 1 and 254"

note "default threshold: a JPEG mask changes exactly the pixels the PNG one does"
"$TP" inpaint -q --engine telea img.png m.png out_png.png
ref=$("$TOOL" cmp img.png out_png.png | sed 's/ pixels differ//' || true)
[ "$ref" -gt 4900 ] || fail "the PNG mask changed only $ref pixels"
for m in m75.jpg m50.jpg mcolor.jpg mown.jpg; do
	"$TP" inpaint -q --engine telea img.png $m out_$m.png
	"$TOOL" cmp out_png.png out_$m.png >/dev/null || fail "$m: output differs from the PNG mask's"
	eq "$("$TOOL" cmp img.png out_$m.png | sed 's/ pixels differ//' || true)" "$ref" "$m: changed pixels"
done
"$TP" run -q --engine telea img.png --mask m50.jpg -o runout
"$TOOL" cmp out_png.png runout/img.png >/dev/null || fail "run with a JPEG mask differs"

note "--mask-threshold 0 is the old rule: the noise counts as holes"
"$TP" inpaint -q --engine telea --mask-threshold 0 img.png m75.jpg out_t0.png
n0=$("$TOOL" cmp img.png out_t0.png | sed 's/ pixels differ//' || true)
[ "$n0" -gt "$ref" ] || fail "threshold 0 changed $n0 pixels, not more than $ref"
"$TOOL" unmasked img.png out_t0.png nz.png || fail "threshold 0 changed pixels outside the nonzero mask"

note "--mask-invert: holes at or below the threshold"
"$TP" inpaint -q --engine telea --mask-invert img.png m75.jpg out_inv.png
"$TOOL" threshold m.png inv.png 127 invert
"$TOOL" unmasked img.png out_inv.png inv.png || fail "--mask-invert changed pixels it should keep"
"$TP" inpaint -q --engine telea img.png inv.png out_inv2.png
"$TOOL" cmp out_inv.png out_inv2.png >/dev/null || fail "--mask-invert differs from the inverted mask"

note "bad thresholds are usage errors"
expect_exit 64 "$TP" inpaint --mask-threshold 255 img.png m.png x.png
grep_err "tilepaint: error: --mask-threshold must be a whole number from 0 to 254, not '255'"
expect_exit 64 "$TP" run --mask-threshold -1 img.png --mask m.png -o never
grep_err "not '-1'"
[ ! -e x.png ] && [ ! -e never ] || fail "a usage error wrote something"

note "the threshold is in the options hash: changed, the image is redone"
mkdir in
cp img.png in/a.png
cp m75.jpg in/a_mask.jpg
"$TP" run --engine telea in -o out 2>/dev/null
expect_exit 0 "$TP" run --engine telea --mask-threshold 127 in -o out
grep_err "1 images: 0 done now, 1 already done"
h1=$(sql out/.tilepaint.db "select options_hash from jobs")
expect_exit 0 "$TP" run --engine telea --mask-threshold 200 in -o out
grep_err "1 images: 1 done now, 0 already done"
h2=$(sql out/.tilepaint.db "select options_hash from jobs")
[ "$h1" != "$h2" ] || fail "options hash unchanged by --mask-threshold"
expect_exit 0 "$TP" run --engine telea --mask-threshold 200 --mask-invert in -o out
grep_err "1 images: 1 done now, 0 already done"
expect_exit 0 "$TP" run --engine telea --mask-threshold 200 --mask-invert in -o out
grep_err "1 images: 0 done now, 1 already done"
eq "$(sql out/.tilepaint.db "select count(*) from jobs")" 1 "jobs"

note "a fully masked image: one warning naming it; an empty mask: one note"
"$TOOL" mask full.png $W $H rect:0,0,$W,$H
"$TOOL" mask empty.png $W $H rect:0,0,0,0
expect_exit 0 "$TP" inpaint --engine telea img.png full.png o_full.png
eq "$(wc -l <"$T/.stderr")" 1 "lines for a full mask"
grep_err "tilepaint: warning: img.png: the mask full.png covers the whole image: nothing to fill from; telea fills it with flat mid grey"
expect_exit 0 "$TP" inpaint img.png empty.png o_empty.png
eq "$(wc -l <"$T/.stderr")" 1 "lines for an empty mask"
grep_err "tilepaint: img.png: the mask empty.png is empty: nothing to inpaint"
"$TOOL" cmp img.png o_empty.png >/dev/null || fail "empty mask: output differs from the input"
mkdir b
cp img.png b/f.png; cp full.png b/f_mask.png
cp img.png b/e.png; cp empty.png b/e_mask.png
expect_exit 0 "$TP" run --engine telea b -o bout
eq "$(grep -c 'covers the whole image' "$T/.stderr")" 1 "warnings in a run"
eq "$(grep -c 'is empty' "$T/.stderr")" 1 "notes in a run"
expect_exit 0 "$TP" run -q --engine telea b -o bout2
eq "$(cat "$T/.stderr")" "" "-q prints neither"

note "the examples' masks are 0/255: the threshold changes none of their pixels"
for m in "$TP_TOP"/examples/*_mask.png; do
	"$TOOL" threshold "$m" a.png 0
	"$TOOL" threshold "$m" b.png 254
	"$TOOL" cmp a.png b.png >/dev/null || fail "$m has values other than 0 and 255"
done
echo "31-mask-threshold: ok"
