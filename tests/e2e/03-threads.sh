# Output bytes do not depend on the worker count.
. "$(dirname "$0")/common.sh"
"$TOOL" gen img.png 900 700 3 8 7
"$TOOL" gen img16.tif 500 400 1 16 8
"$TOOL" mask m.png 900 700 spots:6,11 line:0,0,899,699,5
"$TOOL" mask m16.png 500 400 spots:8,12
for j in 1 2 3; do
	expect_exit 0 "$TP" inpaint img.png m.png out$j.png --engine telea --tile 128 --overlap 40 -j $j
	expect_exit 0 "$TP" inpaint img16.tif m16.png out$j.tif --engine telea --tile 96 --overlap 24 -j $j
done
cmp out1.png out2.png || fail "-j 1 and -j 2 differ (png)"
cmp out1.png out3.png || fail "-j 1 and -j 3 differ (png)"
cmp out1.tif out2.tif || fail "-j 1 and -j 2 differ (tif)"
cmp out1.tif out3.tif || fail "-j 1 and -j 3 differ (tif)"
"$TOOL" unmasked img16.tif out1.tif m16.png || fail "16-bit unmasked pixels changed"
