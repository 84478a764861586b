# An image whose mask is empty is copied byte for byte (PNG, JPEG, TIFF, a
# 16-bit PNG, a multi-page TIFF): the store records it done
# with the output's signature (the input's bytes, so the input's signature),
# a second run is a no-op, a changed output is redone; a corrupt input still
# fails (65, no output); an encoding asked for, or another output format,
# rewrites the pixels instead of copying.
. "$(dirname "$0")/common.sh"
"$TP_TOP/scripts/install-deps.sh" libtiff-tools
mkdir in
"$TOOL" gen in/a.png 640 480 3 8 1
"$TOOL" gen in/b.tif 500 300 3 8 2
"$TOOL" gen in/c16.png 300 200 4 16 3
cp "$TP_TOP/examples/ladybird.jpg" in/d.jpg
for f in a:640:480 b:500:300 c16:300:200 d:2560:1600; do
	IFS=: read -r n w h <<EOT
$f
EOT
	"$TOOL" mask "in/${n}_mask.png" "$w" "$h" rect:0,0,0,0
done
expect_exit 0 "$TP" run in -o out -q
for f in a.png b.tif c16.png d.jpg; do
	cmp "in/$f" "out/$f" || fail "$f with an empty mask was not copied byte for byte"
done
eq "$(sql out/.tilepaint.db "select count(*) from jobs where state = 2 and output_sig = input_sig and output_sig != ''")" 4 "copies recorded done, output signature = input's"
eq "$(sql out/.tilepaint.db "select count(*) from tiles where state != 2")" 0 "every tile of a copy is skipped"
no_temps out

note "a second run is a no-op; a changed output is redone (copied again)"
before=$(stat -c %Y.%i out/a.png)
expect_exit 0 "$TP" run in -o out
grep_err "0 done now, 4 already done"
eq "$(stat -c %Y.%i out/a.png)" "$before" "an up-to-date copy was rewritten"
printf 'x' | dd of=out/b.tif bs=1 seek=100 conv=notrunc 2>/dev/null
expect_exit 0 "$TP" run in -o out
grep_err "1 done now, 3 already done"
cmp in/b.tif out/b.tif || fail "the changed output was not copied again"

note "a single masked pixel is not an empty mask"
"$TOOL" mask in/a_mask.png 640 480 rect:10,10,1,1
expect_exit 0 "$TP" run in -o out -q
! cmp -s in/a.png out/a.png || fail "a masked pixel was not inpainted"
"$TOOL" unmasked in/a.png out/a.png in/a_mask.png || fail "unmasked pixels changed"

note "a multi-page TIFF: copied as it is (its pages kept, no warning)"
mkdir in2
"$TOOL" gen p1.tif 200 100 1 8 5
"$TOOL" gen p2.tif 100 50 1 8 6
tiffcp p1.tif p2.tif in2/pages.tif
"$TOOL" mask in2/pages_mask.png 200 100 rect:0,0,0,0
expect_exit 0 "$TP" run in2 -o out2
cmp in2/pages.tif out2/pages.tif || fail "the multi-page TIFF was not copied"
! grep -q "dropped" "$T/.stderr" || fail "a copy warned about dropped pages"

note "a corrupt input with an empty mask fails as before: 65, no output, no temporary"
mkdir in3
"$TOOL" corrupt in/a.png in3/t.png 200000
"$TOOL" mask in3/t_mask.png 640 480 rect:0,0,0,0
expect_exit 65 "$TP" run in3 -o out3
grep_err "in3/t.png"
[ ! -e out3/t.png ] || fail "a corrupt input was copied"
no_temps out3

note "an encoding asked for, or another format: the pixels are written anew"
"$TOOL" mask in/a_mask.png 640 480 rect:0,0,0,0
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png lvl.png --png-level 9
! cmp -s in/a.png lvl.png || fail "--png-level 9 copied the input"
"$TOOL" cmp in/a.png lvl.png || fail "--png-level 9 changed pixels"
expect_exit 0 "$TP" inpaint in/a.png in/a_mask.png other.tif
"$TOOL" cmp in/a.png other.tif || fail "PNG to TIFF changed pixels"
expect_exit 0 "$TP" inpaint in/d.jpg in/d_mask.png q.jpg --jpeg-quality 90
! cmp -s in/d.jpg q.jpg || fail "--jpeg-quality 90 copied the input"
expect_exit 0 "$TP" inpaint in/d.jpg in/d_mask.png same.jpg
cmp in/d.jpg same.jpg || fail "inpaint did not copy the JPEG with an empty mask"
